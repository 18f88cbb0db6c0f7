"""The iwae_bound benchmark (benchmarks/benchmark_iwae.py): ``--quick`` runs, its report
is well formed and self-consistent, and its two ways of computing ``L_k`` agree.
Timings themselves are not asserted: the machine may be busy."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "benchmark_iwae.py"


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
