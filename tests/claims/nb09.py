"""What lesson 09 (the VAE as a probabilistic program) says about its own outputs.

Each pair is (a short quote of the sentence, an expression over the lesson's variables that
must be true after its last cell, at both data sizes). Numbers the prose reports are rendered
from the run; these are the qualitative statements around them.
"""

CLAIMS = [
    # section 1
    ("`z` has batch shape 8 and event shape 20; `x` has batch shape 8 and event shape 784",
     "tuple(trace.nodes['z']['fn'].batch_shape) == (8,) and tuple(trace.nodes['z']['fn'].event_shape)"
     " == (20,) and tuple(trace.nodes['x']['fn'].event_shape) == (784,)"),
    # section 2
    ("Both runs fall from N to about M nats per image",
     "-elbo_fit.mean() < -elbo_start.mean() - 200 and -elbo_svi.mean() < -elbo_start.mean() - 200"),
    ("the ELBOs of the two trained networks differ by d ± se nats ..., X% of the nats both gained",
     "abs(diff) < 0.02 * fall"),
    ("`TraceMeanField_ELBO` and `vu.elbo_loss` differ by ... float32 rounding: the same number",
     "abs(mean_field - course) < 1e-3"),
    ("`Trace_ELBO` equals minus the log-weight",
     "abs(monte_carlo - minus_log_w) < 1e-3"),
    # section 3
    ("With validation on, Pyro ... refuses grey levels",
     "'support' in next((l for l in lines if 'support' in l), '')"),
    ("even a decoder that reproduced every grey pixel exactly would score F nats per image",
     "floor > 20 and grey_loss > floor"),
    # section 4
    ("The per-image Gaussian beats the encoder's on N of the 200 images",
     "improved >= 0.9 * N_GAP"),
    ("a proposal closer to the posterior gives a tighter bound with the same k",
     "bool(use_best)"),
    ("the measured gaps are non-negative within their standard errors",
     "amort + 2 * amort_se >= 0 and approx + 2 * approx_se >= 0"),
    ("on average both gaps are positive, as they must be",
     "amort > 3 * amort_se and approx > 3 * approx_se"),
    ("ELBO[q] <= ELBO[q*] <= log p(x), on average",
     "amortised.elbo.mean() < best.elbo.mean() < log_px.mean()"),
    ("the per-image Gaussians start at the encoder's ELBO (step 1)",
     "abs(local.losses[0] + amortised.elbo.mean().item()) < 1.5"),
    ("gain most of what they will gain in the first 50 steps",
     "local.losses[0] - sum(local.losses[45:55]) / 10 > "
     "0.8 * (local.losses[0] - sum(local.losses[-50:]) / 50)"),
    ("Our run agrees with their finding: the amortisation gap is the larger part",
     "amort - approx > 2 * (amort_se**2 + approx_se**2) ** 0.5"),
    ("The gaps vary from image to image far more than their means are uncertain",
     "gaps['amortisation  ELBO[q*] - ELBO[q]'].std() > 5 * amort_se"),
]
