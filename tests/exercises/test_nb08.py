"""The checkers of notebook 08: right answers pass on fixed and fresh random cases, the
usual wrong ones fail with the hint that names the mistake (and never the solution),
stubs read "not attempted", the learner's exceptions are reported."""

import math

import pytest
import torch
import torch.nn.functional as F

from vae_utils.exercises import (QUESTIONS, check_answer, check_conv_output_size,
                                 check_decoder_input, question_markdown)
from vae_utils.exercises.nb08_convolutional_and_conditional_vaes import (_conv_size_cases,
                                                                         _conv_size_ref,
                                                                         _decoder_input_cases)

from .helpers import conv_size, decoder_input, fails_with, stub


# ------------------------------------------------------------------ conv output size


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_conv_output_size_accepts_the_right_answer(seed, capsys):
    assert check_conv_output_size(conv_size, seed=seed).passed
    assert "[passed] check_conv_output_size" in capsys.readouterr().out
    # a float or a one-element tensor holding a whole number is accepted too
    assert check_conv_output_size(lambda *a: float(conv_size(*a)), verbose=False).passed
    assert check_conv_output_size(lambda *a: torch.tensor(conv_size(*a)), verbose=False).passed


def test_the_reference_is_a_real_conv2d_and_the_random_cases_are_fresh():
    for size, k, s, p in [(28, 4, 2, 1), (28, 3, 2, 1), (7, 7, 1, 0), (64, 5, 3, 2)]:
        assert int(_conv_size_ref(size, k, s, p)) == conv_size(size, k, s, p)
    first = [c.args for c in _conv_size_cases()]
    second = [c.args for c in _conv_size_cases()]
    assert first[:6] == second[:6] and len(first) == 12
    assert first[6:] != second[6:]  # 6 fresh cases; equal by chance with negligible odds
    assert [c.args for c in _conv_size_cases(seed=3)] == \
        [c.args for c in _conv_size_cases(seed=3)]


@pytest.mark.parametrize("wrong, key, words", [
    (lambda s, k, st, p: (s - 1) * st - 2 * p + k, "transposed", ["transposed"]),
    (lambda s, k, st, p: s + 2 * p - k + 1, "no_stride", ["ignored the stride"]),
    (lambda s, k, st, p: (s - k) // st + 1, "no_padding", ["ignored the padding"]),
    (lambda s, k, st, p: (s + p - k) // st + 1, "padding_once", ["both sides"]),
    (lambda s, k, st, p: (s + 2 * p - k) // st, "no_plus_one", ["one too few"]),
    (lambda s, k, st, p: math.ceil((s + 2 * p - k) / st) + 1, "rounded_up", ["rounded up"]),
    (lambda s, k, st, p: round((s + 2 * p - k) / st) + 1, "rounded_nearest", ["nearest"]),
    (lambda s, k, st, p: (s + 2 * p - k) / st + 1, "not_whole", ["not a whole number"]),
    (lambda s, k, st, p: (s, s), "not_a_number", ["one number"]),
])
@pytest.mark.parametrize("seed", [None, 5])
def test_conv_output_size_names_the_mistake(wrong, key, words, seed):
    result = check_conv_output_size(wrong, verbose=False, seed=seed)
    fails_with(result, key, *words)
    assert "//" not in result.hint and "+ 1" not in result.hint  # names it, never solves it


def test_conv_output_size_stub_and_exception():
    assert check_conv_output_size(stub, verbose=False).status == "not attempted"
    result = check_conv_output_size(lambda *a: 1 / 0, verbose=False)
    assert result.status == "failed" and result.mistake == "exception"
    assert "ZeroDivisionError" in result.message


# ------------------------------------------------------------------ decoder input


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_decoder_input_accepts_the_right_answer(seed):
    assert check_decoder_input(decoder_input, verbose=False, seed=seed).passed
    # another correct way to write it: scatter a 1 into a zero matrix
    def by_hand(z, y, num_classes):
        hot = torch.zeros(len(z), num_classes).scatter_(1, y[:, None], 1.0)
        return torch.cat([z, hot], 1)
    assert check_decoder_input(by_hand, verbose=False, seed=seed).passed


def test_decoder_input_random_cases_are_fresh():
    a = [tuple(c.args[0].shape) + (c.args[2],) for c in _decoder_input_cases()]
    b = [tuple(c.args[0].shape) + (c.args[2],) for c in _decoder_input_cases()]
    assert a[:5] == b[:5] and len(a) == 9
    first = _decoder_input_cases()[5:]
    second = _decoder_input_cases()[5:]
    assert any(x.args[0].shape != y.args[0].shape or not torch.equal(x.args[0], y.args[0])
               for x, y in zip(first, second))


@pytest.mark.parametrize("wrong, key, words", [
    (lambda z, y, c: torch.cat((F.one_hot(y, c).float(), z), 1), "label_first", ["z first"]),
    (lambda z, y, c: torch.cat((z, F.one_hot(y).float()), 1), "no_num_classes",
     ["max(y) + 1", "how many classes"]),
    (lambda z, y, c: torch.cat((z, y[:, None].float()), 1), "raw_label", ["one number"]),
    (lambda z, y, c: torch.cat((z, y[:, None].float() / c), 1), "raw_label", ["one-hot"]),
    (lambda z, y, c: F.one_hot(y, c).float(), "no_z", ["only the label"]),
    (lambda z, y, c: z, "no_label", ["z alone"]),
    (lambda z, y, c: torch.cat((z, F.one_hot((y + 1) % c, c).float()), 1), "off_by_one",
     ["shifted"]),
    (lambda z, y, c: torch.cat((z.detach(), F.one_hot(y, c).float()), 1), "detached",
     ["no gradient reaches z"]),
])
def test_decoder_input_names_the_mistake(wrong, key, words):
    result = check_decoder_input(wrong, verbose=False)
    fails_with(result, key, *words)
    assert "torch.cat(" not in result.hint and "F.one_hot(y, num_classes)" not in result.hint


def test_decoder_input_stub_and_exception():
    assert check_decoder_input(stub, verbose=False).status == "not attempted"
    result = check_decoder_input(lambda z, y, c: z @ z, verbose=False)
    assert result.status == "failed" and result.mistake == "exception"


# ------------------------------------------------------------------ the question


def test_the_question_is_registered_and_answered():
    assert "cvae_codes" in QUESTIONS
    text = question_markdown("cvae_codes")
    assert "(a)" in text and "<details>" in text
    assert check_answer("cvae_codes", "a", verbose=False).passed
    for wrong in "bcd":
        result = check_answer("cvae_codes", wrong, verbose=False)
        assert not result and result.mistake == wrong
        assert "(a)" not in result.hint  # the hint never gives the right letter away
