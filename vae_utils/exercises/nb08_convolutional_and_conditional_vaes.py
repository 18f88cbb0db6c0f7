"""Exercises of notebook 08 · Convolutional and conditional VAEs: its checkers and its
question.

* :func:`check_conv_output_size`: the height (= width) of a ``torch.nn.Conv2d`` output,
  checked against the shape of a real ``Conv2d``'s output on fixed and fresh random cases.
* :func:`check_decoder_input`: the conditional decoder's input ``[z, one_hot(y)]``,
  checked against ``torch.cat`` of ``z`` and ``torch.nn.functional.one_hot`` on fixed and
  fresh random cases.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .checking import AnswerError, Case, CheckResult, Mistake, fresh_seed, run_check
from .questions import Question, register_questions

__all__ = ["check_conv_output_size", "check_decoder_input"]


# ------------------------------------------------------------ 08: conv output size


def _conv_size_ref(size: int, kernel_size: int, stride: int, padding: int) -> torch.Tensor:
    """The size a real ``nn.Conv2d`` produces (an independent reference: no formula)."""
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, bias=False)
    with torch.no_grad():
        out = conv(torch.zeros(1, 1, size, size))
    return torch.tensor(out.shape[-1])


def _whole_number(value: Any) -> int:
    """The learner's answer as an int; a fractional answer is a recognised mistake."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise AnswerError(f"expected one number (the output's height); got a tensor of shape "
                              f"{tuple(value.shape)}.", key="not_a_number")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnswerError(f"expected one number (the output's height); got "
                          f"{type(value).__name__}.", key="not_a_number")
    if isinstance(value, float) and not value.is_integer():
        raise AnswerError(f"your answer {value:g} is not a whole number: a layer cannot output "
                          "part of a pixel. When the kernel does not fit a whole number of "
                          "strides, the leftover positions are dropped: round the division "
                          "DOWN (integer division).", key="not_whole")
    return int(value)


def _conv_size_call(fn: Callable, case: Case) -> torch.Tensor:
    return torch.tensor(_whole_number(fn(*case.args)))


def _conv_size_cases(seed: int | None = None) -> list[Case]:
    """Six fixed cases, then six random ones drawn from ``seed`` (``None``: fresh ones at
    every call)."""
    rng = random.Random(fresh_seed(seed))
    fixed = [
        Case("28 pixels, kernel 4, stride 2, padding 1 (the ConvVAE's first layer)",
             (28, 4, 2, 1)),
        Case("28 pixels, kernel 3, stride 2, padding 1 (the stride does not divide evenly)",
             (28, 3, 2, 1)),
        Case("32 pixels, kernel 5, stride 1, no padding (LeNet's first layer)", (32, 5, 1, 0)),
        Case("15 pixels, kernel 3, stride 1, padding 1 ('same' padding keeps the size)",
             (15, 3, 1, 1)),
        Case("15 pixels, kernel 5, stride 3, padding 2", (15, 5, 3, 2)),
        Case("16 pixels, kernel 3, stride 3, no padding (13 / 3 leaves a third)",
             (16, 3, 3, 0)),
    ]
    fresh = []
    for i in range(6):
        kernel = rng.randint(1, 7)
        padding = rng.randint(0, kernel // 2)
        size = rng.randint(max(1, kernel - 2 * padding), 64)
        stride = rng.randint(1, 4)
        fresh.append(Case(f"random case {i + 1}: {size} pixels, kernel {kernel}, stride {stride}, "
                          f"padding {padding}", (size, kernel, stride, padding)))
    return [Case(c.name, c.args, call=_conv_size_call) for c in fixed + fresh]


_CONV_SIZE_MISTAKES = [
    Mistake("transposed", "that is the size a TRANSPOSED convolution gives (the decoder's "
            "layer, which grows the image). Conv2d shrinks it: count the positions where the "
            "kernel fits inside the padded input.",
            wrong=lambda s, k, st, p: (s - 1) * st - 2 * p + k),
    Mistake("no_stride", "you ignored the stride: the kernel jumps `stride` pixels between "
            "two positions, so only every stride-th position counts.",
            wrong=lambda s, k, st, p: s + 2 * p - k + 1),
    Mistake("no_padding", "you ignored the padding: it adds `padding` rows of zeros that the "
            "kernel can slide over.",
            wrong=lambda s, k, st, p: (s - k) // st + 1),
    Mistake("padding_once", "the padding goes on BOTH sides of the image (top and bottom, "
            "left and right), so it adds twice `padding` pixels.",
            wrong=lambda s, k, st, p: (s + p - k) // st + 1),
    Mistake("no_plus_one", "one too few: you counted the strides between kernel positions, "
            "not the positions (the first one, at offset 0, counts too).",
            wrong=lambda s, k, st, p: (s + 2 * p - k) // st),
    Mistake("rounded_up", "you rounded up: a kernel position that would hang over the edge "
            "of the padded input does not exist, so the division rounds DOWN.",
            wrong=lambda s, k, st, p: math.ceil((s + 2 * p - k) / st) + 1),
    Mistake("rounded_nearest", "you rounded to the nearest integer: a kernel position that "
            "would hang over the edge does not exist, so the division rounds DOWN.",
            wrong=lambda s, k, st, p: round((s + 2 * p - k) / st) + 1),
]


def check_conv_output_size(fn: Callable[[int, int, int, int], int], *,
                           verbose: bool = True, seed: int | None = None) -> CheckResult:
    """Check ``fn(size, kernel_size, stride, padding) -> int``: the output height (= width)
    of ``torch.nn.Conv2d`` on a square ``size x size`` input (``dilation=1``).

    The reference builds a real ``nn.Conv2d`` with those arguments and reads the shape of
    its output on a zero image (no formula), on six fixed cases (including the
    ConvVAE's own layer and strides that do not divide evenly) and six fresh random
    ones. The maths is in the ``torch.nn.Conv2d`` documentation (Dumoulin and Visin 2016,
    "A guide to convolution arithmetic for deep learning", Relationship 6).

    Args:
        fn: the learner's function; must return a whole number (an ``int``, or a float or
            one-element tensor holding one).
        verbose: print the verdict.
        seed: seed of the random cases (``None``: fresh ones at every call).

    Returns:
        :class:`CheckResult`; recognised mistakes: ``transposed``, ``no_stride``,
        ``no_padding``, ``padding_once``, ``no_plus_one``, ``rounded_up``,
        ``rounded_nearest``, ``not_whole``, ``not_a_number``.
    """
    return run_check("check_conv_output_size", fn, _conv_size_cases(seed),
                     _conv_size_ref, mistakes=_CONV_SIZE_MISTAKES,
                     generic_hint="build an nn.Conv2d with these arguments, pass it "
                                  "torch.zeros(1, 1, size, size) and compare the output's "
                                  "height with yours; then count, on paper, where the kernel "
                                  "can sit in a small example.",
                     verbose=verbose, source="the output shape of a real torch.nn.Conv2d")


# ------------------------------------------------------ 08: the decoder's input


def _decoder_input_ref(z: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.cat((z, F.one_hot(y, num_classes).to(z.dtype)), dim=1)


def _gradient_call(fn: Callable, case: Case) -> torch.Tensor:
    z, y, num_classes = case.args
    z = z.detach().clone().requires_grad_(True)
    out = fn(z, y.clone(), num_classes)
    if not isinstance(out, torch.Tensor):
        raise AnswerError(f"expected a tensor; got {type(out).__name__}.", key="not_a_tensor")
    if not out.requires_grad:
        raise AnswerError("no gradient reaches z through your output: the decoder must be "
                          "trained through z. Did you detach z, or copy it into a new tensor "
                          "(torch.tensor(...), .numpy())?", key="detached")
    out.float().sum().backward()
    if z.grad is None:
        raise AnswerError("no gradient reaches z through your output: did you detach it?",
                          key="detached")
    return z.grad


def _decoder_input_cases(seed: int | None = None) -> list[Case]:
    """Five fixed cases, then four random ones drawn from ``seed`` (``None``: fresh ones at
    every call)."""
    rng = random.Random(fresh_seed(seed))
    g = torch.Generator().manual_seed(8)
    fixed = [
        Case("B = 3 codes of D = 2, labels (3, 1, 3): classes 4-9 absent from the batch",
             (torch.randn(3, 2, generator=g), torch.tensor([3, 1, 3]), 10)),
        Case("B = 8, D = 16, labels 0-9", (torch.randn(8, 16, generator=g),
                                           torch.tensor([0, 9, 4, 2, 7, 5, 1, 8]), 10)),
        Case("one code (B = 1, D = 5), label 9", (torch.randn(1, 5, generator=g),
                                                 torch.tensor([9]), 10)),
        Case("three classes instead of ten (num_classes = 3)",
             (torch.randn(4, 2, generator=g), torch.tensor([0, 2, 1, 0]), 3)),
        Case("the gradient of the output's sum reaches z (ones)",
             (torch.randn(5, 3, generator=g), torch.tensor([1, 2, 3, 4, 5]), 10),
             call=_gradient_call, reference=lambda c: torch.ones(5, 3)),
    ]
    fresh = []
    for i in range(4):
        b, d, c = rng.randint(1, 12), rng.randint(1, 20), rng.randint(2, 12)
        gen = torch.Generator().manual_seed(rng.randrange(2**31))
        fresh.append(Case(f"random case {i + 1}: B = {b}, D = {d}, num_classes = {c}",
                          (torch.randn(b, d, generator=gen),
                           torch.randint(0, c, (b,), generator=gen), c)))
    return fixed + fresh


def _one_number_per_label(received: Any, expected: Any, case: Case) -> bool:
    z = case.args[0]
    return (isinstance(received, torch.Tensor) and received.dim() == 2
            and tuple(received.shape) == (len(z), z.shape[1] + 1))


_DECODER_INPUT_MISTAKES = [
    Mistake("label_first", "the label comes first in your rows: put z first and the one-hot "
            "label after it (the order vu.ConditionalVAE's decoder expects).",
            wrong=lambda z, y, c: torch.cat((F.one_hot(y, c).to(z.dtype), z), dim=1)),
    Mistake("no_num_classes", "the width of your one-hot part depends on the batch: "
            "F.one_hot makes max(y) + 1 columns unless it is told how many classes there "
            "are, and a batch need not contain the largest class.",
            wrong=lambda z, y, c: torch.cat((z, F.one_hot(y).to(z.dtype)), dim=1)),
    Mistake("raw_label", "you appended the label as ONE number: a class is not a quantity "
            "(a 7 is not 'more' than a 3). Append a one-hot vector with num_classes entries.",
            spot=_one_number_per_label),
    Mistake("no_z", "your output holds only the label: the decoder needs the code z as well, "
            "with the one-hot label appended.",
            wrong=lambda z, y, c: F.one_hot(y, c).to(z.dtype)),
    Mistake("no_label", "your output is z alone: append the one-hot label to it.",
            wrong=lambda z, y, c: z),
    Mistake("off_by_one", "your one-hot vectors are shifted by one class: label k sets "
            "column k (counting from 0) of the one-hot part.",
            spot=lambda r, e, case: _shifted(r, e, case)),
]


def _shifted(received: Any, expected: Any, case: Case) -> bool:
    z, y, c = case.args
    if not isinstance(received, torch.Tensor) or received.shape != expected.shape:
        return False
    hot = received[:, z.shape[1]:]
    return bool(torch.equal(hot.argmax(1), (y - 1) % c) or torch.equal(hot.argmax(1), (y + 1) % c))


def check_decoder_input(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor], *,
                        verbose: bool = True, seed: int | None = None) -> CheckResult:
    """Check ``fn(z, y, num_classes) -> (B, D + C)``: the conditional decoder's input.

    ``[z, one_hot(y)]``: each row is the code ``z`` (float ``(B, D)``) followed by the
    one-hot vector of its label (int64 ``(B,)`` in ``0 .. C-1``, ``C = num_classes``),
    the generation network ``p(x | z, y)`` of a conditional VAE (Sohn, Lee and Yan 2015,
    "Learning Structured Output Representation using Deep Conditional Generative Models",
    Section 4; with the label as the condition and a fixed prior, model M2 of Kingma et al.
    2014 with every label observed), as ``vu.ConditionalVAE.decode`` builds it. The
    reference is ``torch.cat((z, F.one_hot(y, num_classes).to(z.dtype)), dim=1)``, on
    five fixed cases (a batch without the largest classes, another number of classes, a
    gradient check) and four fresh random ones.

    Args:
        fn: the learner's function.
        verbose: print the verdict.
        seed: seed of the random cases (``None``: fresh ones at every call).

    Returns:
        :class:`CheckResult`; recognised mistakes: ``label_first``, ``no_num_classes``,
        ``raw_label``, ``no_z``, ``no_label``, ``off_by_one``, ``detached``.
    """
    return run_check("check_decoder_input", fn, _decoder_input_cases(seed),
                     _decoder_input_ref, mistakes=_DECODER_INPUT_MISTAKES,
                     generic_hint="print your output for the failing case next to z and y: "
                                  "each row should start with that row's z and end with "
                                  "num_classes entries, all 0 but a single 1 in the column "
                                  "of its label.",
                     verbose=verbose, source="torch.cat of z and F.one_hot(y, num_classes)")


QUESTIONS: dict[str, Question] = {
    "cvae_codes": Question(
        prompt='In the conditional VAE with a 2-D latent space, the test codes of different '
               "digit classes are mixed together, far more than in the plain VAE's 2-D latent"
               ' space. Why?',
        options={"a": 'The decoder is told the class and each nat in z costs KL, so z keeps '
                      'only the style all classes share.',
                 "b": 'The conditional VAE is undertrained: with more steps its codes would '
                      'separate by class as well.',
                 "c": 'The KL term pulls every code towards the same N(0, I), and that pull '
                      "is what overlaps the classes' codes.",
                 "d": 'The encoder ignores its input image, so every code is a random draw '
                      'from the prior whatever the digit.'},
        answer_digest="0f91b8b1de212bcba9ac5828",
        why={"a": "lTLaH976gKoTL0kkUH25TGwezRGtUThboymOQF0JUGb0gz2Yj+vCRtdrQq46Xj2x4kncvPS4"
                   "W4j9RklB/E50Wv+vIVy3oa495LA/RnQsYCfIyIcgUzF8I99kr5HZxO7mOPRepaPfJq86Nr25"
                   "4IN0GrSLHx+G2X9ze/1hUHNW60yLaI0n1qkklJ4D8tsMj1KbwiMo4mYCdbmwOnF+xqTvgbu9"
                   "5uMpfc05aU1J4nPOfVfdmnBz0meoJqISHQktkyEk0LlrUsPpddU7sDgyuMqmgc8ua1uLmj8D"
                   "5MIlWF3bjY2Vxma/OXNYolrOKOSuyo4GdX0=",
             "b": "z/+/OXeDJc8vbONRegxyo+4RJAhFTxanavljeOfpbLms/plRfk/Df2tQ+3xMOaPoEsKvOhIs"
                   "xYvier/QQbORFnn2P6U1ANyDOCh16TYRG0Fq4TAUpKmat9kgUNNkASfG1f1hF1vaBp7Aoigw"
                   "BKgebrtbGwxWCn289Apel3DgmdvGIXo/mUjJIsPs8YipBF/zCU2PxgqP2RY=",
             "c": "zvRNtEayMoi/tTmR41WK8Cd2k8pM41T8XdGHGSNTBzLFBUNbGjGZv6NYEreml3TOnmXsiJQs"
                   "UGkvmiuMr6/NkXBXEhJNf9Q+YHn7rUgFAnBxS6HRED8FnKQvadG6fqhdetGF49mqy/how+hC"
                   "55bxXmZARghrGa7zzoyE9+pXVKU8XHH5qfrHSF2BXZ0XrDgTDlh/D9G6w7UkY4Z/jHoME3Nw"
                   "puIemqwqJpPshG/Vs/TTAR1n2ra0bVpqWPkWMCRaxhfY0xofYJLkypE1DC8HLMmDXvW12R72"
                   "tjX+9Rl61sRzJnAUch96fMinSJbXXokyKCyZPLjS5WENYk0GmW+VZ73wzCDfirJXdZjZEJDD"
                   "zH1MZqNw+k61i9LhmJ10I0bZHvkw2pUP7Q==",
             "d": "c0WTtaPexTVanfS5xtTRS4axbHccOfuPySn+aE234AUyFkX2IS6hTZ43NScL63aqIDIW2/gX"
                   "Ga/r4/J8pWUSDzei5xVPolAVsICIOWzJhE7RmhW4RPvL9s/Sgr6nbsbLKBW3zfwGPinpY1Rk"
                   "n3n6WsiWY1X+/YmAvjmIFjbgZUmo2HZAHOuOJl3a8g4wrAfvxv/EDWWuQSeJ293PINo="},
        hint='What does the decoder get besides z? If it already knows the class, what does '
             'it cost the model to store the class in z as well?'),
}
register_questions(QUESTIONS)
