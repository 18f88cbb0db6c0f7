"""What lesson 04 (latent grids, temperature and traversals) says about its own outputs.

Each pair is (a short quote of the sentence, an expression over the lesson's variables that
must be true after its last cell, at both data sizes). Numbers the prose reports are rendered
from the run; these are the qualitative statements around them.
"""

CLAIMS = [
    ("both models train: the test loss falls",
     "history2.test_loss[-1] < history2.test_loss[0] and history20.test_loss[-1] < history20.test_loss[0]"),
    # section 2: the two grids
    ("both grids cover the same square and differ only in how they space their tiles",
     "torch.allclose(quantile_grid.coords[[0, -1]], linear_grid.coords[[0, -1]]) "
     "and q_gaps.min() < l_gaps.min() and q_gaps.max() > l_gaps.max()"),
    ("The two grids share their four corner codes, so the corner tiles of the two panels are the same image",
     "torch.allclose(quantile_grid.z[corners], linear_grid.z[corners]) "
     "and torch.allclose(quantile_images[corners], linear_images[corners])"),
    ("The quantile grid magnifies the middle of the square: neighbouring tiles there change less ... "
     "at the edges neighbouring tiles differ more",
     "middle['quantile'] < middle['linear'] and outer['quantile'] > outer['linear']"),
    ("Inside the square, the quantile grid shares the codes out more evenly than the linear grid "
     "(fewer tiles without a code)",
     "empty['quantile'] < empty['linear']"),
    ("N% of the test codes fall outside the square, where the prior puts 19% of its codes ... "
     "standard deviations against 1 for the prior",
     "share_outside > prior_outside + 0.05 and bool((code_sd > 1).any())"),
    ("a linear grid wide enough for *every* test code",
     "bool((mu2.abs() <= wide_span).all())"),
    # section 3: temperature
    ("training codes around sqrt(20), and so do prior samples at tau = 1; at tau = 0.5 the codes are "
     "shorter than nearly every training code",
     "stats[0.5]['norm'] < train_norm[0] < stats[1.0]['norm'] < train_norm[1] "
     "and train_norm[0] < 20 ** 0.5 < train_norm[1]"),
    ("At tau = 0.5 the samples come out greyer and more alike",
     "stats[0.5]['grey'] > stats[1.0]['grey'] and stats[0.5]['spread'] < stats[1.0]['spread']"),
    ("the amount of ink stays about the same, it is smeared over more pixels",
     "abs(stats[0.5]['ink'] / stats[1.0]['ink'] - 1) < 0.1"),
    ("At tau = 1.5 the samples are bolder (grey share) and the most varied (spread)",
     "stats[1.5]['grey'] < stats[1.0]['grey'] and stats[1.5]['spread'] > stats[1.0]['spread'] "
     "and stats[1.5]['norm'] > 0.9 * train_norm[1]"),
    # section 4: traversals
    ("The quietest dimension changes it least of the four",
     "sweep_change[order[-1]] < sweep_change[order[:3]].min()"),
    ("Over all 20 dimensions the pixel change grows with the KL",
     "rho > 0.5"),
]
