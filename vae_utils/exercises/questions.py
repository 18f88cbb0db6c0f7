"""The multiple-choice questions of the course, with answer keys kept out of plain sight.

Each notebook's module defines its questions as :class:`Question` objects and adds them to
:data:`QUESTIONS` with :func:`register_questions`; a lesson prints one with
:func:`question_markdown` and checks the learner's letter with :func:`check_answer`, which
answers like a coding checker (a :class:`~vae_utils.exercises.checking.CheckResult`,
printed; raising while nbgrader grades).

The right letter is stored only as a salted digest (:func:`answer_digest`) and each
option's explanation only sealed with that letter (:func:`seal`, :func:`unseal`: the UTF-8
bytes XOR a SHA-256 keystream, in base64), so reading the package does not give the key
away; trying the four letters with :func:`check_answer` does, which is what it is for.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from .checking import CheckResult, failed, not_attempted, passed

__all__ = ["QUESTIONS", "Question", "answer_digest", "check_answer", "question_markdown",
           "register_questions", "seal", "unseal"]


@dataclass(frozen=True)
class Question:
    """A multiple-choice question whose answer key is not readable from the package.

    ``options`` maps a letter to a choice and ``hint`` goes in a collapsible block under the
    question (both are in the notebook anyway). The right letter is stored only as
    ``answer_digest`` (:func:`answer_digest`: a salted SHA-256 of the question's key and
    the letter), and each letter's explanation only sealed (:func:`seal`, with that letter
    as the key), so it is released when the learner chooses that letter. This keeps the
    key out of sight of a learner who reads the package, not from one who tries the four
    letters with :func:`check_answer`, which is what the checker is for.

    To write or change a question: seal the texts with ``seal(key, letter, text)`` and
    ``answer_digest(key, right_letter)`` and paste the results; ``unseal(key, letter,
    q.why[letter])`` reads an explanation back.
    """

    prompt: str
    options: Mapping[str, str]
    answer_digest: str
    why: Mapping[str, str]
    hint: str


_SALT = "vae-course/questions/v1"


def _keystream(key: str, letter: str, n: int) -> bytes:
    blocks, i = [], 0
    while 32 * len(blocks) < n:
        blocks.append(hashlib.sha256(f"{_SALT}|{key}|{letter}|{i}".encode()).digest())
        i += 1
    return b"".join(blocks)[:n]


def seal(key: str, letter: str, text: str) -> str:
    """``text`` (an explanation) sealed for question ``key`` and option ``letter``: base64
    of the UTF-8 bytes XOR a SHA-256 keystream of the salt, the key and the letter."""
    data = text.encode("utf-8")
    mixed = bytes(a ^ b for a, b in zip(data, _keystream(key, letter, len(data))))
    return base64.b64encode(mixed).decode("ascii")


def unseal(key: str, letter: str, sealed: str) -> str:
    """The text that :func:`seal` sealed for ``key`` and ``letter``."""
    data = base64.b64decode(sealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(key, letter, len(data)))).decode("utf-8")


def answer_digest(key: str, letter: str) -> str:
    """The salted digest that stands for "``letter`` is the right answer to ``key``"."""
    return hashlib.sha256(f"{_SALT}|{key}|answer|{letter}".encode()).hexdigest()[:24]


QUESTIONS: dict[str, Question] = {}


def register_questions(questions: Mapping[str, Question]) -> None:
    """Add a notebook's questions to :data:`QUESTIONS`.

    Raises:
        ValueError: a key is already taken (two notebooks used the same name).
    """
    for key, question in questions.items():
        if key in QUESTIONS:
            raise ValueError(f"question {key!r} is registered twice.")
        QUESTIONS[key] = question


def question_markdown(key: str) -> str:
    """The question ``key`` of :data:`QUESTIONS` as notebook markdown, with its options
    and a collapsible hint (an HTML ``<details>`` block).

    Raises:
        KeyError: unknown ``key`` (the message lists the known ones).
    """
    q = _question(key)
    options = "\n".join(f"- **({letter})** {text}" for letter, text in sorted(q.options.items()))
    return (f"{q.prompt}\n\n{options}\n\n<details><summary>Hint</summary>\n\n{q.hint}\n\n"
            "</details>")


def _question(key: str) -> Question:
    if key not in QUESTIONS:
        raise KeyError(f"no question {key!r}; the questions are {sorted(QUESTIONS)}.")
    return QUESTIONS[key]


def check_answer(key: str, answer: str | None, *, verbose: bool = True) -> CheckResult:
    """Check the answer to the multiple-choice question ``key`` of :data:`QUESTIONS`.

    Prints whether the answer is right and the explanation for the chosen option (for a
    wrong option: why it is wrong, without giving the right letter away).

    Args:
        key: the question, e.g. ``"ae_gaps"``.
        answer: a letter such as ``"b"`` (case and brackets ignored); ``None`` or ``""``
            means not attempted yet.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult` (``mistake`` is the wrong letter chosen).

    Raises:
        KeyError: unknown ``key`` (a bug in the notebook, not in the learner's answer).
    """
    q = _question(key)
    name = f"check_answer({key!r})"
    if answer is None or str(answer).strip() == "":
        return not_attempted(name, "no answer yet.", verbose,
                             todo=f"Set it to one letter ({', '.join(sorted(q.options))}) and run "
                                  "this cell again.")
    letter = str(answer).strip().strip("()").strip().lower()
    if letter not in q.options:
        return failed(name, f"{answer!r} is not one of the options.", verbose, mistake="invalid",
                      hint=f"answer with one letter: {', '.join(sorted(q.options))}.")
    why = unseal(key, letter, q.why[letter])
    if answer_digest(key, letter) == q.answer_digest:
        return passed(name, f"({letter}) is right. {why}", verbose)
    return failed(name, f"({letter}) is not the best answer.", verbose, mistake=letter,
                  hint=why + " Read the other options again and try once more.")
