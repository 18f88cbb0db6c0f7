"""vae_utils: the one tested source of truth of the VAE course.

Data flows one way: :func:`load_mnist` gives tensors, ``model(x)`` gives
``(logits, mu, logvar)``, :func:`elbo_loss` turns that into nats, :func:`fit` repeats
it and returns a :class:`History`, and the plotting helpers turn models and histories
into figures.
"""

from .anomaly import anomaly_scores, auroc
from .conditional_vae import ConditionalVAE
from .conv_vae import ConvVAE
from .data import MNISTData, MNISTFallbackWarning, MNISTFileError, binarize, default_data_dir, load_mnist
from .evaluation import iwae_bound, log_importance_weights
from .gif import add_caption, bounce, hstack_frames, images_to_frame, save_gif, to_uint8
from .latent import (
    LatentGrid,
    decode_grid,
    interpolate,
    kl_per_dimension,
    latent_grid,
    lerp,
    plot_latent_grid,
    slerp,
)
from .losses import ELBOLoss, bernoulli_nll, check_targets, elbo_loss, gaussian_nll, kl_to_standard_normal
from .models import VAE, Autoencoder, reparameterize
from .ood_data import OODSets, load_fashion_mnist, load_ood_sets
from .plots import (
    figures_dir,
    plot_image_grid,
    plot_latent_scatter,
    plot_loss_curves,
    plot_reconstructions,
    plot_samples,
    save_figure,
)
from .train import History, evaluate, fit, get_device, load_checkpoint, save_checkpoint, seed_everything
from .widgets import LatentExplorer, plot_traversal, traversal_codes

__version__ = "0.1.0"


def __getattr__(name: str):
    # Imported on first use, so that `python -m vae_utils.full_size DIR` does not find its
    # own module already imported (runpy warns about that).
    if name == "make_full_size_mnist":
        from .full_size import make_full_size_mnist

        return make_full_size_mnist
    raise AttributeError(f"module 'vae_utils' has no attribute {name!r}")
