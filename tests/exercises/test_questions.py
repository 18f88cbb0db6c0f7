"""The questions (``vae_utils.exercises.questions``): every multiple-choice question answers
back with its sealed explanations, the answer key is not readable from the package, the
options give no clue, the lessons show the package's options, and every notebook has one
open question with a rubric and a model answer."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from vae_utils.exercises import QUESTIONS, check_answer, question_markdown, register_questions
from vae_utils.exercises.questions import answer_digest, seal, unseal

from .helpers import ROOT, answer_key

ANSWER_KEY = answer_key()


def test_every_question_has_a_solved_answer():
    assert set(ANSWER_KEY) == set(QUESTIONS) and len(QUESTIONS) == 8


@pytest.mark.parametrize("key", sorted(QUESTIONS))
def test_questions_answer_back(key, capsys):
    q, right_letter = QUESTIONS[key], ANSWER_KEY[key]
    assert right_letter in q.options and set(q.why) == set(q.options)
    right = check_answer(key, right_letter.upper())
    assert right.passed and unseal(key, right_letter, q.why[right_letter]) in capsys.readouterr().out
    assert check_answer(key, f"({right_letter})", verbose=False).passed
    for letter in q.options:
        if letter != right_letter:
            wrong = check_answer(key, letter, verbose=False)
            assert wrong.status == "failed" and wrong.mistake == letter
            assert unseal(key, letter, q.why[letter]) in wrong.hint
            assert f"({right_letter})" not in wrong.message  # the right letter is not given away
    assert check_answer(key, None, verbose=False).status == "not attempted"
    assert check_answer(key, "", verbose=False).status == "not attempted"
    assert check_answer(key, "z", verbose=False).mistake == "invalid"
    md = question_markdown(key)
    assert q.prompt in md and "<details>" in md and q.hint in md


def test_the_answer_key_is_not_readable_from_the_package():
    package = "\n".join(path.read_text() for path in (ROOT / "vae_utils").rglob("*.py"))
    for key, q in QUESTIONS.items():
        assert not hasattr(q, "answer")
        for letter in q.options:  # no explanation is stored as plain text
            text = unseal(key, letter, q.why[letter])
            assert len(text) > 20 and text[:40] not in package


def test_sealing_round_trips_and_depends_on_the_key_and_the_letter():
    text = "Because the KL sees only the code, not the pixels. Ünïcode too."
    sealed = seal("some_key", "b", text)
    assert text not in sealed and unseal("some_key", "b", sealed) == text
    assert seal("some_key", "c", text) != sealed and seal("other_key", "b", text) != sealed
    assert answer_digest("some_key", "b") != answer_digest("some_key", "c")
    assert len(answer_digest("some_key", "b")) == 24


def test_a_question_key_registered_twice_is_refused():
    key = sorted(QUESTIONS)[0]
    with pytest.raises(ValueError, match="registered twice"):
        register_questions({key: QUESTIONS[key]})


def test_options_are_alike_and_right_letters_spread():
    strictly_longest = 0
    for key, q in QUESTIONS.items():
        lengths = {letter: len(text) for letter, text in q.options.items()}
        assert max(lengths.values()) <= 1.3 * min(lengths.values()), (key, lengths)
        right = lengths.pop(ANSWER_KEY[key])
        strictly_longest += right > max(lengths.values())
    assert strictly_longest <= 1  # the longest option is no clue
    counts = Counter(ANSWER_KEY.values())
    assert set(counts) == set("abcd") and max(counts.values()) <= 3


def test_the_notebooks_show_the_packages_options():
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        text = "".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])
        for key in re.findall(r'check_answer\("(\w+)"', text):
            for letter, option in QUESTIONS[key].options.items():
                assert f"- **({letter})** {option}" in text, (path.name, key, letter)


def test_unknown_question_is_a_clear_error():
    with pytest.raises(KeyError, match="the questions are"):
        check_answer("no_such_question", "a")


def test_every_notebook_has_one_open_question_with_a_rubric_and_a_model_answer():
    instructors = (ROOT / "INSTRUCTORS.md").read_text()
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(lessons) >= 10
    # a lesson's open question is "### Exercise N · Title (open question)"; the capstone's
    # (notebook 10) is its report, "## Part N · Title (4 points, marked by hand)"
    heading = r"(?:### Exercise \d+|## Part \d+) · (.+?) \((open question|\d+ points, marked by hand)\)"
    for path in lessons:
        cells = json.loads(path.read_text())["cells"]
        titles = [re.match(heading, "".join(c["source"]))
                  for c in cells if c["cell_type"] == "markdown"]
        titles = [t for t in titles if t]
        assert len(titles) == 1, (path.name, [t.group(0) for t in titles])
        assert f"**{path.name[:2]} · {titles[0].group(1)}** Rubric:" in instructors
        solved = (ROOT / "notebooks" / "solutions" / f"{path.stem}_solutions.ipynb").read_text()
        assert titles[0].group(0) in solved and "**Model answer" in solved
