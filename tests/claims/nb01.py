"""Claims of notebook 01 · A plain autoencoder (see ``tests/claims/__init__.py``)."""

CLAIMS = [
    ("The test loss fell from ... to ...",
     "history.test_loss[-1] < history.test_loss[0]"),
    ("The first training point lies above the first test point",
     "history.train_loss[0] > history.test_loss[0]"),
    ("the judge names the right digit for ... of the test digits but for only ... of their "
     "reconstructions",
     "0.2 < right_x_hat < right_x - 0.2"),
    ("The same judge working on the codes ... names the right digit for ...: so most of the "
     "drop is the kind of digit lost in the code, not blur",
     "right_code < right_x - 0.2 and right_code - right_x_hat < 0.5 * (right_x - right_x_hat)"),
    ("Some digits keep their own region of the code space (... named right), others are mixed "
     "with their neighbours",
     "per_digit[best] > 0.8 and per_digit[worst] < 0.5"),
    ("The codes are far from evenly spread: half of them lie within ... units of their median "
     "point ... while the farthest lies ... units away",
     "radius.max() > 3 * radius.median()"),
    ("... of the 225 cells of the box hold no test code",
     "25 < int(empty.sum()) < 200"),
    ("Fitting a density to the codes after training does much better",
     "off_data['one Gaussian'] < off_data['uniform in the box'] / 1.5"),
    ("a mixture of 10 Gaussians (does better still)",
     "off_data['mixture of 10 Gaussians'] < off_data['one Gaussian'] / 2"),
]
