"""What lesson 08 (convolutional and conditional VAEs) says about its own outputs.

Each pair is (a short quote of the sentence, an expression over the lesson's variables that
must be true after its last cell, at both data sizes). The numbers the prose reports are
rendered from the run; these are the qualitative statements around them.
"""

CLAIMS = [
    # section 1: the conv VAE against the MLP, three seeds, paired over the same test digits
    ("every model learns: its test loss fell",
     "all(h.test_loss[-1] < h.test_loss[0] for h in histories.values())"),
    ("about a seventh of the parameters",
     "6.5 < param_ratio < 7.5"),
    ("the conv VAE does [more] floating-point operations per image than the MLP",
     "flop_ratio > 1.2"),
    ("On -L_16 the conv VAE is lower than the MLP in [every] seed ... standard errors from zero",
     "all(diff[seed, 'neg_iwae'] < -3 * se[seed, 'neg_iwae'] for seed in SEEDS)"),
    ("Its margin on the -ELBO was smaller in every seed",
     "all(diff[seed, 'neg_elbo'] > diff[seed, 'neg_iwae'] for seed in SEEDS)"),
    ("the gap between them ... is larger for the conv VAE",
     "all(bound_gap[seed, 'conv VAE'] > bound_gap[seed, 'MLP VAE'] + 0.3 for seed in SEEDS)"),
    ("The conv VAE's samples are fainter: in every seed more of them fall below half a typical "
     "digit's ink",
     "all(faint[seed, 'conv VAE'] > faint[seed, 'MLP VAE'] + 0.02 for seed in SEEDS)"),
    ("the pixel classifier reads them with confidence about as often as the MLP's",
     "abs(_avg(confident, 'conv VAE') - _avg(confident, 'MLP VAE')) < 0.08"),
    # section 2: the conditional VAE
    ("both 2-D models learn: the test loss fell",
     "history_cvae.test_loss[-1] < history_cvae.test_loss[0] and "
     "history_2d.test_loss[-1] < history_2d.test_loss[0]"),
    ("The conditional VAE's test loss is ... below the plain VAE's; the other [N] nats are not "
     "the label's information",
     "label_gap > 2.3 + 3"),
    ("the label decides the class: the classifier reads the requested class in [nearly all] samples",
     "hits >= 80"),
    ("the slant of the transfers follows the slant of the original, while the class follows the label",
     "corr > 0.6 and class_hits > 0.8"),
    ("On the right the colours are far more mixed, though not completely",
     "0.12 < acc_cond < acc_plain - 0.1 and gain_ratio > 2"),
]
CLAIMS += [
    ("would lose at most log 100 = 4.6 nats per digit, more than the gap between these two models",
     "max(-diff[seed, 'neg_iwae'] for seed in SEEDS) < 4.6"),
]
