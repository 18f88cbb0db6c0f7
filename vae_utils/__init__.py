"""vae_utils: the one tested source of truth of the VAE course.

Data flows one way: :func:`load_mnist` gives tensors, ``model(x)`` gives
``(logits, mu, logvar)``, the model's own ``loss_terms`` (:func:`elbo_loss`) turns that
into nats, :func:`fit` repeats it and returns a :class:`History`, :func:`iwae_bound` and
:func:`anomaly_scores` measure a trained model through its ``log_weights``, and the
plotting helpers turn models and histories into figures.

The modules form layers, each importing only from the ones below it (``tests/test_layers.py``
checks this): ``_env`` and ``_checks`` (settings, input checks); ``data``, ``ood_data``,
``losses``, ``models``, ``conv_vae``, ``conditional_vae``; ``train``, ``evaluation``,
``anomaly``, ``latent``; ``plots``, ``gif``, ``widgets``; and the tools ``course`` and
``exercises``.
"""

from .anomaly import anomaly_scores, auroc
from .conditional_vae import ConditionalVAE
from .conv_vae import ConvVAE
from .data import MNISTData, MNISTFallbackWarning, MNISTFileError, binarize, default_data_dir, load_mnist
from .evaluation import ActiveUnits, active_units, iwae_bound, kl_per_dimension, log_importance_weights
from .gif import add_caption, bounce, hstack_frames, images_to_frame, save_gif, to_uint8
from .latent import LatentGrid, decode_grid, interpolate, latent_grid, lerp, slerp
from .losses import (ELBOLoss, bernoulli_nll, check_targets, elbo_loss, gaussian_nll, kl_to_standard_normal,
                     reconstruction_nll)
from .models import VAE, Autoencoder, GaussianVAE, LogWeights, reparameterize
from .ood_data import OODSets, load_fashion_mnist, load_ood_sets
from .plots import (
    figures_dir,
    plot_image_grid,
    plot_latent_grid,
    plot_latent_scatter,
    plot_loss_curves,
    plot_reconstructions,
    plot_samples,
    save_figure,
)
from .train import History, evaluate, fit, get_device, load_checkpoint, save_checkpoint, seed_everything
from .widgets import LatentExplorer, plot_traversal, traversal_codes

__version__ = "0.1.0"

