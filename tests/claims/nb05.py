"""What lesson 05 (interpolation and GIFs) says about its own outputs.

Each pair is (a short quote of the sentence, an expression over the lesson's variables that
must be true after its last cell, at both data sizes). Numbers the prose reports are rendered
from the run; these are the qualitative statements around them.
"""

CLAIMS = [
    # section 1: the two models
    ("Both test losses fall",
     "history_vae.test_loss[-1] < history_vae.test_loss[0] and history_ae.test_loss[-1] < history_ae.test_loss[0]"),
    ("with nothing else to spend on, the autoencoder reconstructs better",
     "history_ae.test_recon[-1] < history_vae.test_recon[-1]"),
    # section 2: lerp and slerp
    ("the straight line between two draws passes where the prior rarely puts a code",
     "shorter_than_mid < 0.05"),
    ("The autoencoder's row is sharper than the VAE's lerp row (a lower grey share)",
     "greys['autoencoder, lerp'] < greys['VAE, lerp']"),
    ("Lerp's norm sags below slerp's at every step inside the path",
     "bool((lerp_norm[1:-1] < slerp_norm[1:-1]).all())"),
    ("The encoded means are about as long as prior draws",
     "test_norm[0] < LATENT_DIM ** 0.5 < test_norm[2]"),
    ("the lerp midpoint is shorter than the slerp midpoint in every pair",
     "bool((shorter < 1).all())"),
    ("it decodes to the greyer image in N of the 50 pairs: the sag has the effect notebook 04 found",
     "int(greyer.sum()) > 35"),
    # the classifier as judge
    ("The judge recognises N% of the test digits",
     "judge_accuracy > 0.85"),
    ("At the ends of the paths it is about as sure of the two models' reconstructions",
     "abs(at_ends['VAE, lerp'] - at_ends['autoencoder, lerp']) < 0.05"),
    ("Both models' images lose confidence between the digits",
     "all(drop[name] > 0.05 for name in drop)"),
    ("by about the same amount, and the difference between the two models is small next to that loss",
     "abs(diff_mean) < 0.5 * drop['autoencoder, lerp'] "
     "and abs(drop['VAE, lerp'] - drop['autoencoder, lerp']) < 0.5 * drop['autoencoder, lerp']"),
    # section 3: the GIF
    ("The VAE's side is the greyer one in most steps (the count above)",
     "greyer_vae > STEPS_GIF // 2"),
    # section 4: the 2-D latent space during training
    ("one frame every 75 optimiser steps; the test loss falls",
     "len(training_frames) == STEPS // EVAL_EVERY_2D + 1 and history2.test_loss[-1] < history2.test_loss[0]"),
    ("Before training ... none of them near 0 or 1 ... The last frame draws its digits on a clean background",
     "0.05 < first.min() and first.max() < 0.95 and last.min() < 0.01"),
    ("The grid changes fastest at the start",
     "change[:5].mean() > 2 * change[-5:].mean()"),
    ("neighbouring tiles are far more alike than tiles paired at random",
     "neighbours < random_pairs / 2"),
]
