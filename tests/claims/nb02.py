"""Claims of notebook 02 · From the autoencoder to the VAE (see ``tests/claims/__init__.py``)."""

CLAIMS = [
    ("both estimators are unbiased: each mean lies within ... standard errors of the exact "
     "gradient",
     "max(abs(m - exact) / se for m, _, se in stats.values()) < 4"),
    ("one score-function estimate varies ... times as much as a reparameterised one",
     "ratio > 5"),
    ("before training, the reconstruction term is huge, ..., close to 784 ln 2, and the KL is "
     "tiny",
     "abs(recon_untrained - 784 * math.log(2)) < 20 and kl_untrained < 1"),
    ("the reconstruction term falls ... while the KL grows",
     "recon_test[-1] < recon_test[0] and kl_test[-1] > kl_test[0] > kl_untrained"),
    ("ours ... is ... nats above the first published number",
     "neg_elbo > max(nats for nats, _, _ in published)"),
    ("Our loss was still falling when training stopped",
     "history.test_loss[-1] < history.test_loss[-4]"),
    ("Twenty dimensions keep far more of each digit than two (... nats less to reconstruct)",
     "history.test_recon[-1] < history_2d.test_recon[-1] - 20"),
    ("The autoencoder's codes reach ... units from the origin ...; the VAE's means stay within "
     "... units",
     "reach['VAE'] < reach['autoencoder'] / 2"),
    ("... of the autoencoder's cells hold no test code, against ... of the VAE's ... it shrinks "
     "the gaps without removing them",
     "0 < empty['VAE'] < empty['autoencoder']"),
    ("... of the drawn codes lie inside the dashed circle, against ... for the prior ... The "
     "codes spread wider than the prior, and each q(z|x) is narrow",
     "inside_z < prior_inside and second_moment.max() > 1.1 and logvar_vae.exp().mean() < 0.2"),
]
