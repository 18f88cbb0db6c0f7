"""The capstone (notebook 10) as one nbgrader assignment, autograded on the offline digits.

An instructor generates and releases the solved notebook; three students fetch and submit:
Alice the solutions; Bob's loss takes means instead of sums (``F.binary_cross_entropy_with_
logits``' default reduction); Carol's sample has no noise (``reparameterize`` returns
``mu``). After ``nbgrader autograde``: Alice scores every autograded point (8) and her
report waits for the instructor (4 points by hand); Bob loses the loss check and, since his
loop trained on that loss, the trained-model check; Carol loses the model check and the
trained-model check (the course scores her network with a real sample, which her decoder
never saw); each keeps the points of the parts they got right.

About three and a half minutes on two CPU cores: three kernel runs of the notebook (about
a minute each offline) and ten nbgrader commands.
"""

from __future__ import annotations

import json

import nbformat
import nbgrader  # noqa: F401  (the dev extra installs it; a missing install is an error here)
import pytest

from .helpers import ROOT
from .nbgrader_helpers import (config_from_instructors, nbgrader_run, solutions,
                               submit_as_students)

pytestmark = pytest.mark.slow

SOURCE = ROOT / "notebooks" / "solutions" / "10_vae_from_scratch_solutions.ipynb"
LESSON = ROOT / "notebooks" / "10_vae_from_scratch.ipynb"
ASSIGNMENT, NOTEBOOK = "capstone", "10_vae_from_scratch"
POINTS = {"p1_check": 2, "p2_check": 2, "p3_check": 2, "p5_check": 2, "p6_answer": 4}


def _broken(solved: dict[str, str]) -> dict[str, dict[str, str]]:
    means = (solved["p2"].replace(".sum(dim=(1, 2, 3))", ".mean(dim=(1, 2, 3))")
             .replace("torch.sum(1 + logvar", "torch.mean(1 + logvar"))
    no_noise = solved["p1"].replace(
        "return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)", "return mu")
    assert means != solved["p2"] and no_noise != solved["p1"]
    report = {"p6_answer": "My VAE reached the course's numbers."}
    return {"alice": solved, "bob": {**solved, "p2": means, **report},
            "carol": {**solved, "p1": no_noise, **report}}


def test_the_capstone_is_one_assignment_that_the_autograder_scores_cell_by_cell(tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv("VAE_OFFLINE", "1")  # the 5,000 offline digits: one minute a kernel run
    monkeypatch.setenv("VAE_FIGURES_DIR", str(tmp_path / "figures"))
    course, exchange = tmp_path / "grading", tmp_path / "exchange"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    exchange.mkdir()
    (course / "nbgrader_config.py").write_text(config_from_instructors())
    (course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_bytes(SOURCE.read_bytes())

    nbgrader_run("generate_assignment", ASSIGNMENT, cwd=course, exchange=exchange)
    released = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    assert "BEGIN SOLUTION" not in released.read_text()

    def exercise_sources(path):
        return [c.source for c in nbformat.read(path, as_version=4).cells
                if "exercise" in c.metadata.get("tags", [])]
    assert exercise_sources(released) == exercise_sources(LESSON)
    nbgrader_run("release_assignment", ASSIGNMENT, cwd=course, exchange=exchange)

    work = _broken(solutions(SOURCE))
    submit_as_students(work, tmp_path, ASSIGNMENT, NOTEBOOK, exchange)
    nbgrader_run("collect", ASSIGNMENT, cwd=course, exchange=exchange)
    nbgrader_run("autograde", ASSIGNMENT, cwd=course, exchange=exchange)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        def scores(student):
            return {grade.name: grade.score for grade in
                    gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student).grades}

        maxima = {grade.name: grade.max_score for grade in
                  gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, "alice").grades}
        assert maxima == POINTS
        alice, bob, carol = scores("alice"), scores("bob"), scores("carol")
        autograded = [k for k in POINTS if k != "p6_answer"]
        assert {k: alice[k] for k in autograded} == {k: POINTS[k] for k in autograded}
        assert {k: bob[k] for k in autograded} == {"p1_check": 2, "p2_check": 0,
                                                   "p3_check": 2, "p5_check": 0}
        assert {k: carol[k] for k in autograded} == {"p1_check": 0, "p2_check": 2,
                                                     "p3_check": 2, "p5_check": 0}
        sub = gb.find_submission(ASSIGNMENT, "alice")
        assert sub.max_score == 12 and sub.score == 8 and sub.needs_manual_grade

    def errors(student):
        graded = json.loads((course / "autograded" / student / ASSIGNMENT /
                             f"{NOTEBOOK}.ipynb").read_text())
        return [(c.get("metadata", {}).get("nbgrader", {}).get("grade_id"), o["evalue"])
                for c in graded["cells"] for o in c.get("outputs", [])
                if o.get("output_type") == "error"]

    assert errors("alice") == []
    # each failed check cell shows the checker's verdict: the mistake, named
    bob_errors, carol_errors = dict(errors("bob")), dict(errors("carol"))
    assert "784" in bob_errors["p2_check"] and "above the target" in bob_errors["p5_check"]
    assert "no noise" in carol_errors["p1_check"] and "p5_check" in carol_errors
