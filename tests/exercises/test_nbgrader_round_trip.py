"""An instructor's nbgrader round trip on notebook 03's exercises, as INSTRUCTORS.md walks
through it: generate, release, fetch and submit (two students), collect, autograde; then
the scores in the gradebook.

The course folder's ``nbgrader_config.py`` is the one printed in INSTRUCTORS.md (read from
there, so the walkthrough is what is tested). Alice submits the solutions; Bob's KL misses
its factor 1/2 and he picks a wrong letter, and his ELBO loss is right (it calls his own
KL with p = N(0, I), so it inherits the missing 1/2, and its check fails too).
"""

import json

import nbformat
import nbgrader  # noqa: F401  (the dev extra installs it; a missing install is an error here)
import pytest

from .helpers import ROOT
from .nbgrader_helpers import config_from_instructors as _config_from_instructors
from .nbgrader_helpers import nbgrader_run as _nbgrader
from .nbgrader_helpers import solutions, submit_as_students

pytestmark = pytest.mark.slow  # about ten nbgrader commands and two autograde kernel runs

SOURCE = ROOT / "notebooks" / "solutions" / "03_kl_divergence_and_elbo_solutions.ipynb"
LESSON = ROOT / "notebooks" / "03_kl_divergence_and_elbo.ipynb"
ASSIGNMENT, NOTEBOOK = "ps03", "03_exercises"


def test_generate_release_submit_collect_autograde(tmp_path):
    course, exchange = tmp_path / "grading", tmp_path / "exchange"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    exchange.mkdir()
    (course / "nbgrader_config.py").write_text(_config_from_instructors())
    (course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_bytes(SOURCE.read_bytes())

    _nbgrader("generate_assignment", ASSIGNMENT, cwd=course, exchange=exchange)
    released = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    text = released.read_text()
    assert "BEGIN SOLUTION" not in text and "Model answer" not in text
    assert 'answer = "d"' not in text  # the multiple-choice letter is not released

    # The released exercise cells are exactly the lesson's (both come from the source).
    def exercise_sources(path):
        return [c.source for c in nbformat.read(path, as_version=4).cells
                if "exercise" in c.metadata.get("tags", [])]
    assert exercise_sources(released) == exercise_sources(LESSON)

    _nbgrader("release_assignment", ASSIGNMENT, cwd=course, exchange=exchange)

    solved = solutions(SOURCE)
    wrong_kl = solved["ex1"].replace("return 0.5 * (", "return (")
    assert wrong_kl != solved["ex1"]
    work = {"alice": solved,
            "bob": {**solved, "ex1": wrong_kl,
                    "ex3": solved["ex3"].replace('answer = "d"', 'answer = "b"'),
                    "ex4_answer": "The mean over pixels hides a beta."}}
    submit_as_students(work, tmp_path, ASSIGNMENT, NOTEBOOK, exchange)

    _nbgrader("collect", ASSIGNMENT, cwd=course, exchange=exchange)
    for student in work:
        assert (course / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file()
    _nbgrader("autograde", ASSIGNMENT, cwd=course, exchange=exchange)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        def scores(student):
            return {grade.name: (grade.score, grade.max_score)
                    for grade in gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT,
                                                             student).grades}

        alice, bob = scores("alice"), scores("bob")
        # the autograded check cells: 2 + 2 + 1 points, the open question 4 (by hand)
        assert {k: v[1] for k, v in alice.items()} == {"ex1_check": 2, "ex2_check": 2,
                                                       "ex3_check": 1, "ex4_answer": 4}
        assert alice["ex1_check"][0] == 2 and alice["ex2_check"][0] == 2
        assert alice["ex3_check"][0] == 1
        assert bob["ex1_check"][0] == 0 and bob["ex2_check"][0] == 0
        assert bob["ex3_check"][0] == 0
        sub_a = gb.find_submission(ASSIGNMENT, "alice")
        sub_b = gb.find_submission(ASSIGNMENT, "bob")
        assert sub_a.max_score == 9 and sub_a.score == 5 and sub_b.score == 0
        assert sub_a.needs_manual_grade  # the open question waits for the instructor
    # Bob's autograded notebook shows why his checks failed: the checker's verdict.
    graded = json.loads((course / "autograded" / "bob" / ASSIGNMENT /
                         f"{NOTEBOOK}.ipynb").read_text())
    errors = [o for c in graded["cells"] for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert any(e["ename"] == "CheckFailed" and "1/2" in e["evalue"] for e in errors), errors
