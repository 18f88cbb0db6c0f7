"""The iwae_bound benchmark (benchmarks/benchmark_iwae.py): ``--quick`` runs, its report
is well formed and self-consistent, and its two ways of computing ``L_k`` agree.
Timings themselves are not asserted: the machine may be busy.

Slow (a ``--quick`` benchmark run): not in ``python -m pytest -m "not slow"``."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "benchmark_iwae.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("benchmark_iwae", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmark_iwae"] = module
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("bench-iwae") / "quick.json"
    threads = torch.get_num_threads()
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            code = module.main(["--quick", "--threads", "1", "--json", str(out)])
    finally:
        torch.set_num_threads(threads)  # --threads 1 set it for the whole process
    assert code == 0
    return stdout.getvalue(), json.loads(out.read_text())


def test_quick_report_is_well_formed(quick_report):
    text, report = quick_report
    assert report["config"]["quick"] is True and report["config"]["threads"] == 1
    assert report["peak_gflops"] > 0 and report["decoder_flops_per_pair"] == 643_200
    methods = [(r["method"], r["k"]) for r in report["results"]]
    assert methods == [("iwae_bound", 1), ("iwae_bound", 100), ("iwae_bound", 1000),
                       ("python loop over codes", 100)]
    for r in report["results"]:
        assert r["seconds"] > 0 and r["images"] >= 1
        assert r["pairs_per_second"] == pytest.approx(r["images"] * r["k"] / r["seconds"])
        assert r["share_of_peak"] == pytest.approx(r["gflops"] / report["peak_gflops"])
        assert r["mean_l_k"] < 0  # a log-probability of binary images, in nats
    assert "share of peak" in text and "x the Python loop over codes" in text


def test_both_ways_estimate_the_same_bound(quick_report):
    _, report = quick_report
    # L_100 of an untrained VAE on the same images, from different draws: within 1 nat
    assert abs(report["agreement_nats"]) < 1.0


def test_benchmark_quick_run_is_consistent(quick_report):
    text, report = quick_report  # the fixture asserts that main returned 0
    assert report["config"]["quick"] is True and report["config"]["threads"] == 1
    peak = report["peak_gflops"]
    assert peak > 0
    for row in report["results"]:
        assert row["pairs_per_second"] > 0
        gflops = row["pairs_per_second"] * report["decoder_flops_per_pair"] / 1e9
        assert math.isclose(row["gflops"], gflops, rel_tol=1e-6)
        assert math.isclose(row["share_of_peak"], gflops / peak, rel_tol=1e-6)
        assert f"{row['pairs_per_second']:,.0f}" in text
    methods = {row["method"] for row in report["results"]}
    assert methods == {"iwae_bound", "python loop over codes"}
    # the library and the loop compute the same bound (the same model and images)
    assert abs(report["agreement_nats"]) < 1.0
