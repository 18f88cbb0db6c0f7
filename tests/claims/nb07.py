"""What lesson 07 (t-SNE and anomalies) says about its own outputs.

Each pair is (a short quote of the sentence, an expression over the lesson's variables that
must be true after its last cell, at both data sizes). The numbers the prose reports are
rendered from the run; these are the qualitative statements around them.
"""

CLAIMS = [
    # section 1: two VAEs with the same budget
    ("both VAEs learn: the test loss fell",
     "h2.test_loss[-1] < h2.test_loss[0] and h20.test_loss[-1] < h20.test_loss[0]"),
    ("one with 20 dimensions reconstructs much better",
     "h20.test_loss[-1] < h2.test_loss[-1] - 20 and h20.test_recon[-1] < h2.test_recon[-1] - 20"),
    # section 2: what a t-SNE map keeps
    ("Neighbours are kept ... (10-NN accuracy close to the 20-D value, trustworthiness)",
     "all(trust[p] > 0.9 and acc[p] > 0.9 * acc['20-D means'] for p in PERPLEXITIES)"),
    ("The 2-D VAE mixes the classes much more",
     "all(acc[p] > acc['2-D VAE codes'] + 0.1 for p in PERPLEXITIES)"),
    ("Sizes are not kept: in 20-D the classes are about equally spread; on the maps the ratio "
     "is larger, and the order of the spreads is kept only loosely",
     "ratio20 < 1.6 and all(ratio[p] > ratio20 and rho_spread[p] < 0.7 for p in PERPLEXITIES)"),
    ("Gaps are not kept either: the order of the 45 distances is kept only in part",
     "all(rho_gaps[p] < 0.9 for p in PERPLEXITIES)"),
    # section 3: the KL of every training image
    ("The uniform-noise image costs ... far out in the tail",
     "kl_noise['uniform noise'] > np.percentile(kl_train, 99.9)"),
    ("The Bernoulli-noise image ... costs less than the median training digit",
     "kl_noise['Bernoulli noise'] < np.median(kl_train)"),
    # section 4: the table
    ("The KL alone is the weakest score",
     "all(mean_auroc[s] > mean_auroc['kl'] + 0.2 for s in pixel_scores)"),
    ("It flags the inputs the encoder sends far from the prior (uniform noise, inverted digits)",
     "table['uniform_noise']['kl'] > 0.99 and table['inverted']['kl'] > 0.99"),
    ("but ranks [sklearn's digits and the Bernoulli noise] as more typical ... (AUROC below 0.5)",
     "{'sklearn_digits', 'bernoulli_noise'} <= set(kl_fails)"),
    ("recon, neg_elbo and neg_iwae ... tie: on no set do they differ by more than [0.03]",
     "gap < 0.03 and max(mean_auroc[s] for s in pixel_scores) - "
     "min(mean_auroc[s] for s in pixel_scores) < 0.01"),
    ("two of the six sets (uniform noise, inverted digits) give 1.000 to every one of them",
     "all(table[n][s] > 0.9995 for n in ('uniform_noise', 'inverted') for s in pixel_scores)"),
    ("recon ... thousands for uniform noise and inverted digits",
     "medians['uniform_noise']['recon'] > 1000 and medians['inverted']['recon'] > 1000"),
    ("The differences between sets dwarf the KL and the bound's gap",
     "0 < iwae_gap < 10 and medians['test digits']['kl'] < 50 and "
     "medians['bernoulli_noise']['recon'] - medians['test digits']['recon'] > 100"),
    ("Rotated digits are the hardest set they still catch",
     "hardest == 'rotated'"),
    ("Small digits fool every score",
     "table['small_digits']['kl'] < 0.5 and all(table['small_digits'][s] < 0.1 for s in pixel_scores)"),
    # section 5: simple inputs look typical
    ("[nearly all] of the small digits score below the median test digit",
     "frac_small > 0.9"),
    ("The empty page ... scores lower than [nearly all] of the test digits",
     "frac_blank > 0.99"),
    ("Even among the test digits, more ink means a higher score",
     "rho_ink > 0.3"),
    ("the Bernoulli noise has about as much ink as the digits ... and scores [several] times as high",
     "abs(ink_noise.median() / ink_in.median() - 1) < 0.25 and "
     "noise_nelbo.median() > 2 * test_nelbo.median()"),
]
