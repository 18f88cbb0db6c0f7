"""What lesson 06 (evaluating a VAE) says about its own outputs.

Each pair is (a short quote of the sentence, an expression over the lesson's variables that
must be true after its last cell, at both data sizes). Numbers the prose reports are rendered
from the run; these are the qualitative statements around them.
"""

CLAIMS = [
    # section 1: L_k
    ("the test loss falls during training",
     "history.test_loss[-1] < history.test_loss[0]"),
    ("L_k rises with k, and each tenfold step of k adds less than the one before",
     "means[0] < means[1] < means[2] < means[3] "
     "and means[1] - means[0] > means[2] - means[1] > means[3] - means[2] > last_step"),
    ("L_1 and minus the test loss of vu.evaluate on the same images are two one-sample estimates of "
     "the same ELBO",
     "abs(l1_mean - elbo_same) < 4 * math.sqrt(2) * l1_se"),
    ("From the ELBO to L_5000 the bound gains N nats per image, M standard errors",
     "gain > 5 * gain_se"),
    ("The standard errors on the left are wide (the images differ from each other by tens of nats), "
     "those on the right narrow",
     "bounds[5000].std() > 10 and mean_se(bounds[5000] - bounds[1])[1] < mean_se(bounds[5000])[1] / 2"),
    # next to the published numbers
    ("Our -L_5000 is N nats per image above Burda et al.'s VAE",
     "nll > published[0][2] + 2 * nll_se"),
    # section 2: rate and distortion
    ("as beta grows, the rate falls and the distortion rises at every step",
     "all(a > b for a, b in zip(rates, rates[1:])) and all(a < b for a, b in zip(distortions, distortions[1:]))"),
    ("The best point sits at beta = 1 or next to it",
     "min(BETAS, key=lambda b: sum(rd[b])) in (0.5, 1.0, 2.0)"),
    ("At beta = 0.1 ... its codes no longer look like draws from the prior (their second moment is "
     "further from 1 than at beta = 1)",
     "abs(second_moment[0.1] - 1) > abs(second_moment[1.0] - 1)"),
    # section 3: posterior collapse
    ("Every unit is active up to beta = N; at beta = 8, M of the 20 are",
     "all(units[b].count == 20 for b in BETAS if b <= max(all_active)) and 1.0 in all_active "
     "and units[8.0].count < 20"),
    ("a group of dimensions drops to the bottom of the plot, each carrying a small fraction of a nat",
     "len(inactive_kl) > 0 and float(inactive_kl.max()) < 0.1"),
    ("annealing ends at the constant beta's value or a little below it, never noticeably above it, a "
     "difference of at most a nat or two out of more than 180",
     "all(d < max(3 * se, 0.5) and abs(d) < 2.5 for d, se in paired.values()) "
     "and annealing['constant', 0]['objective'].mean() > 150"),
    ("how many of the 20 stay active at beta = 8 changes by several units from one run to the next",
     "max(a['units'] for a in annealing.values()) - min(a['units'] for a in annealing.values()) >= 3"),
    ("section 2's beta = 1 model has a far better ELBO",
     "all(sum(rd[1.0]) < (a['D'] + a['R']).mean() - 10 for a in annealing.values())"),
]
