"""What lesson 10 (a VAE from scratch, the capstone) says about its own outputs.

The lesson is run untouched, as a learner first gets it: the parts the learner writes are
stubs. So the claims are about the course's yardstick (its VAE trained on the same budget)
and about what an untouched lesson shows (verdicts "not attempted", no crash).
"""

CLAIMS = [
    ("the course's VAE ... within the target of this data size",
     "course_eval['loss'] <= TARGET"),
    ("-L_1000 ... the bound is N nats tighter than the ELBO",
     "course['nll'] < course['neg_elbo'] - 2 * course['nll_se']"),
    ("The published numbers are lower still",
     "all(nats < course['nll'] - 3 * course['nll_se'] for _, _, nats in capstone.PUBLISHED)"),
    ("the same budget for both models: the course's VAE trained for STEPS optimiser steps",
     "history.step[-1] == STEPS"),
    ("until you have written a part, it says 'not attempted yet', and the cells that need that "
     "part say what to do instead",
     "losses is None and yours is None"),
]
