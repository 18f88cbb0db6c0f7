"""Exercise checkers: the learner writes a function, one call says whether it is right.

Every coding exercise of the course ends with one call such as ``check_kl(my_kl)``. The
checker runs the learner's function on several cases (edge cases, and fresh random cases
for most checkers), compares each answer with an independent reference
(``torch.distributions``, a float64 formula, a property; ``torch.testing.assert_close``),
and prints a verdict:

* ``passed``: every case matched;
* ``failed``: the first case that did not match, with the expected and received values
  and a hint. The hint is chosen by *recognising* the mistake: the checker computes the
  usual wrong answers (a missing 1/2, the wrong sign, a mean where a sum belongs, sigma
  where the log-variance belongs, ...) and says which one the learner's output equals;
* ``not attempted``: the function returns ``None`` (its body is still the stub
  ``# YOUR CODE HERE``) or raises ``NotImplementedError``, so a notebook with untouched
  stubs runs top to bottom.

An exception raised by the learner's code is reported (``failed``, with the exception)
and never propagates, so one broken exercise does not stop the notebook.

Every checker returns a :class:`CheckResult` (truthy exactly when it passed). While
nbgrader grades a notebook (``NBGRADER_EXECUTION`` is set, see :func:`vae_utils._env.grading`)
a checker whose answer did not pass raises
:class:`~vae_utils.exercises.checking.CheckFailed` instead, so the autograder's test cell
fails; the course runs its solved notebooks the same way.

The exercises themselves are written once, solved, in ``notebooks/solutions/``; the
lessons' exercise sections are generated from them (:mod:`vae_utils.exercises.generate`).

Checkers, by the notebook that uses them:

* 01: :func:`check_bce_recon`: the Bernoulli reconstruction term from logits, per image.
* 02: :func:`check_reparameterize`: ``z = mu + exp(logvar / 2) * eps``;
  :func:`check_encoder_heads`: the encoder's linear ``mu`` and ``logvar`` heads;
  :func:`check_beta_experiment`: it measures the trained models itself: the KL falls and
  reconstruction rises as ``beta`` grows.
* 03: :func:`check_kl_gaussians`: the KL between two diagonal Gaussians, against
  ``torch.distributions``; :func:`check_kl`: the closed-form KL to ``N(0, I)``;
  :func:`check_elbo_loss`: the negative ELBO with the right reductions.
* 04: :func:`check_latent_grid`: inverse-CDF coordinates of a latent grid.
* 05: :func:`check_slerp`: spherical interpolation between two codes.
* 06: :func:`check_iwae_bound`: the importance-weighted bound ``L_k`` from ``k``
  log-weights, in log space; :func:`check_best_elbo`: which point of a rate-distortion
  curve has the best ELBO.
* 07: :func:`check_auroc`: the AUROC of an anomaly score, by ranks, against scikit-learn.
* 08: :func:`check_conv_output_size`: the output size of a ``Conv2d``, against a real one;
  :func:`check_decoder_input`: the conditional decoder's input ``[z, one_hot(y)]``.
* 09: :func:`check_guide`: the amortised guide as a Pyro program, by the ELBO it gives;
  :func:`check_gaps`: the amortisation and approximation gaps with paired standard errors.
* 10 (the capstone): :func:`check_vae`: the learner's whole VAE module (shapes, a random
  sample that follows ``N(mu, sigma^2)``, gradients through it); :func:`check_neg_elbo`: the
  negative ELBO, against ``torch.distributions``; :func:`check_lk`: ``L_k`` from a table of
  log-weights, stable in log space; and
  :func:`~vae_utils.exercises.nb10_vae_from_scratch.check_trained` (imported from its
  module: it needs a trained model), the trained model scored by the course's
  ``vu.evaluate`` against the stated target of the data size.
* all: :func:`check_answer`: the multiple-choice questions of :data:`QUESTIONS`.

The modules:

* ``nb01_autoencoder`` ... ``nb10_vae_from_scratch``: each notebook's
  checkers and questions, in the module named after it;
* :mod:`~vae_utils.exercises.checking`: the engine, :func:`run_check` (cases, comparison,
  recognition of the mistake, verdict), and the helpers for writing a checker (verdicts,
  comparison, fresh random cases that leave the global random state alone);
* :mod:`~vae_utils.exercises.questions`: the multiple-choice questions, with sealed answer
  keys;
* :mod:`~vae_utils.exercises.guards`: the time limit on the learner's code and the refusal
  of the library's own function (passed, called or copied);
* :mod:`~vae_utils.exercises.generate`: the lessons' exercise sections, from the solved
  notebooks.

References: :mod:`vae_utils.losses`, :func:`vae_utils.models.reparameterize`,
:mod:`vae_utils.latent`, :mod:`vae_utils.evaluation`; the maths is that of Kingma and
Welling 2014, "Auto-Encoding Variational Bayes" (Eq. 10, Appendix B), White 2016, "Sampling
Generative Networks", Burda, Grosse and Salakhutdinov 2016, "Importance Weighted
Autoencoders" (Eq. 8), and Hanley and McNeil 1982 (the AUROC as a Mann-Whitney statistic).
"""


from .checking import AnswerError, Case, CheckResult, Mistake, run_check
from .nb01_autoencoder import check_bce_recon
from .nb02_variational_autoencoder import (check_beta_experiment, check_encoder_heads,
                                           check_reparameterize)
from .nb03_kl_divergence_and_elbo import check_elbo_loss, check_kl, check_kl_gaussians
from .nb04_latent_grid_sampling import check_latent_grid
from .nb05_interpolation_gif import check_slerp
from .nb06_evaluating_a_vae import check_best_elbo, check_iwae_bound
from .nb07_latent_space_and_anomalies import check_auroc
from .nb08_convolutional_and_conditional_vaes import check_conv_output_size, check_decoder_input
from .nb09_vae_as_a_probabilistic_program import check_gaps, check_guide
from .nb10_vae_from_scratch import check_lk, check_neg_elbo, check_vae
from .questions import QUESTIONS, Question, check_answer, question_markdown, register_questions

__all__ = [
    "QUESTIONS",
    "AnswerError",
    "Case",
    "CheckResult",
    "Mistake",
    "Question",
    "check_answer",
    "check_auroc",
    "check_bce_recon",
    "check_beta_experiment",
    "check_best_elbo",
    "check_conv_output_size",
    "check_decoder_input",
    "check_elbo_loss",
    "check_encoder_heads",
    "check_gaps",
    "check_guide",
    "check_iwae_bound",
    "check_kl",
    "check_kl_gaussians",
    "check_latent_grid",
    "check_lk",
    "check_neg_elbo",
    "check_reparameterize",
    "check_slerp",
    "check_vae",
    "question_markdown",
    "register_questions",
    "run_check",
]
