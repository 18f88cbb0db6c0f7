"""The out-of-distribution sets: how each is made, and Fashion-MNIST's three paths (offline,
download failure, files present), with torchvision's ``FashionMNIST`` replaced by a fake so
no test touches the network."""

import pytest
import torch
import torch.nn.functional as F
import torchvision.datasets
from sklearn.datasets import load_digits

import vae_utils as vu
from vae_utils import ood_data
from vae_utils.ood_data import (FashionMNISTUnavailable, bernoulli_noise, invert, load_fashion_mnist,
                                load_ood_sets, rotate90, shrink, sklearn_digits_28x28,
                                uniform_noise)

EXPECTED_SETS = ["sklearn_digits", "uniform_noise", "bernoulli_noise", "inverted", "rotated",
                 "small_digits"]


class _Recorder:
    """A stand-in for ``torchvision.datasets.FashionMNIST`` that records its calls."""

    def __init__(self, fail: Exception | None = None, n: int = 30):
        self.calls: list[dict] = []
        self.fail, self.n = fail, n

    def __call__(self, root, train=True, download=False, **kwargs):
        self.calls.append({"root": root, "train": train, "download": download})
        if self.fail is not None:
            raise self.fail
        g = torch.Generator().manual_seed(0)
        ds = type("FakeFashion", (), {})()
        ds.data = torch.randint(0, 256, (self.n, 28, 28), dtype=torch.uint8, generator=g)
        ds.targets = torch.arange(self.n) % 10
        return ds


@pytest.fixture
def fake_fashion(monkeypatch):
    def install(**kwargs):
        fake = _Recorder(**kwargs)
        monkeypatch.setattr(torchvision.datasets, "FashionMNIST", fake)
        return fake
    return install


@pytest.fixture(scope="module")
def x_test(mnist):
    return mnist.x_test[:40]


# ------------------------------------------------------------------ the offline sets


def test_sklearn_digits_are_resized_bilinearly_into_a_padded_28x28_field():
    x, y = sklearn_digits_28x28()
    digits = load_digits()
    assert x.shape == (1797, 1, 28, 28) and x.dtype == torch.float32
    assert torch.equal(y, torch.as_tensor(digits.target, dtype=torch.int64))
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # the 4-pixel border is background, as in MNIST's 20 x 20 box in a 28 x 28 field
    border = torch.ones(28, 28, dtype=torch.bool)
    border[4:24, 4:24] = False
    assert float(x[:, 0][:, border].abs().max()) == 0.0
    # the box is the 8 x 8 image / 16, upsampled bilinearly (independent reference)
    small = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    reference = F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)
    torch.testing.assert_close(x[:, :, 4:24, 4:24], reference.clamp(0, 1), atol=1e-5, rtol=0)
    # a digit keeps its mean grey level (upsampling moves no ink)
    torch.testing.assert_close(x[:, :, 4:24, 4:24].mean((1, 2, 3)), small.mean((1, 2, 3)),
                               atol=0.02, rtol=0)


def test_noise_sets():
    g = torch.Generator().manual_seed(0)
    u = uniform_noise(200, generator=g)
    assert u.shape == (200, 1, 28, 28) and 0.0 <= float(u.min()) and float(u.max()) <= 1.0
    assert abs(float(u.mean()) - 0.5) < 0.01 and abs(float(u.var()) - 1 / 12) < 0.005
    b = bernoulli_noise(200, 0.13, generator=g)
    assert set(b.unique().tolist()) <= {0.0, 1.0} and abs(float(b.mean()) - 0.13) < 0.01
    with pytest.raises(ValueError, match="probability"):
        bernoulli_noise(3, 1.5)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            uniform_noise(bad)


def test_transformed_digits(x_test):
    torch.testing.assert_close(invert(x_test), 1.0 - x_test)
    r = rotate90(x_test)
    assert torch.equal(rotate90(rotate90(rotate90(r))), x_test)  # four turns: back where it was
    marker = torch.zeros(1, 1, 28, 28)
    marker[0, 0, 0, 27] = 1.0  # top-right corner
    assert rotate90(marker)[0, 0, 0, 0] == 1.0  # anticlockwise: to the top-left
    s = shrink(x_test, 10)
    assert s.shape == x_test.shape
    outside = torch.ones(28, 28, dtype=torch.bool)
    outside[9:19, 9:19] = False
    assert float(s[:, 0][:, outside].max()) == 0.0  # everything outside the 10 x 10 box is empty
    # about (10/28)^2 of the ink is left
    ratio = float(s.sum() / x_test.sum())
    assert abs(ratio - (10 / 28) ** 2) < 0.03
    with pytest.raises(ValueError, match="size"):
        shrink(x_test, 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        invert(x_test * 255)
    with pytest.raises(ValueError, match="shape"):
        rotate90(x_test[0])


# ------------------------------------------------------------ Fashion-MNIST, three paths


def test_offline_does_not_even_look_for_fashion_mnist(monkeypatch, fake_fashion, x_test, tmp_path):
    fake = fake_fashion()
    (tmp_path / "FashionMNIST" / "raw").mkdir(parents=True)  # files present or not: not looked at
    monkeypatch.setenv("VAE_OFFLINE", "1")
    sets = load_ood_sets(x_test, n=20, data_dir=tmp_path)
    assert fake.calls == []
    assert not sets.fashion and "VAE_OFFLINE=1" in sets.fashion_note
    assert list(sets.sets) == EXPECTED_SETS
    assert "Fashion-MNIST: not used (VAE_OFFLINE=1 is set" in sets.summary()
    with pytest.raises(FashionMNISTUnavailable, match="not looked for"):
        load_fashion_mnist(tmp_path)


def test_vae_offline_zero_means_online(monkeypatch, fake_fashion, x_test, tmp_path):
    fake = fake_fashion()
    monkeypatch.setenv("VAE_OFFLINE", "0")
    sets = load_ood_sets(x_test, n=20, data_dir=tmp_path)
    assert len(fake.calls) == 1 and sets.fashion


def test_download_failure_falls_back_to_the_offline_sets(fake_fashion, x_test, tmp_path):
    fake = fake_fashion(fail=RuntimeError(
        "Error downloading t10k-images-idx3-ubyte.gz:\nTried http://example/, got:\n"
        "<urlopen error [Errno -2] Name or service not known>"))
    sets = load_ood_sets(x_test, n=20, data_dir=tmp_path)
    assert fake.calls == [{"root": str(tmp_path), "train": False, "download": True}]
    assert not sets.fashion and list(sets.sets) == EXPECTED_SETS
    assert "could not be downloaded" in sets.fashion_note
    assert "Name or service not known" in sets.fashion_note
    assert "Fashion-MNIST: not used" in sets.summary()


def test_fashion_mnist_is_used_when_it_can_be_had(fake_fashion, x_test, tmp_path):
    fake = fake_fashion(n=30)
    sets = load_ood_sets(x_test, n=20, data_dir=tmp_path)
    assert fake.calls[0]["download"] is True and fake.calls[0]["root"] == str(tmp_path)
    assert sets.fashion and list(sets.sets) == ["fashion_mnist", *EXPECTED_SETS]
    xf = sets.sets["fashion_mnist"]
    assert xf.shape == (20, 1, 28, 28) and xf.dtype == torch.float32
    assert float(xf.max()) <= 1.0 and float(xf.min()) >= 0.0
    # 20 of the fake's 30 images, each divided by 255
    all_images = _Recorder(n=30)(None).data.float().div(255).unsqueeze(1)
    assert all(any(torch.equal(img, other) for other in all_images) for img in xf)
    assert "Fashion-MNIST: used" in sets.summary()


def test_present_files_are_read_without_downloading(fake_fashion, tmp_path):
    fake = fake_fashion()
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ood_data._FASHION_FILES:
        (raw / name).write_bytes(b"")
    x, y = load_fashion_mnist(tmp_path)
    assert fake.calls == [{"root": str(tmp_path), "train": False, "download": False}]
    assert x.shape == (30, 1, 28, 28) and y.dtype == torch.int64


def test_missing_files_and_no_download_touch_nothing(fake_fashion, tmp_path):
    fake = fake_fashion()
    with pytest.raises(FashionMNISTUnavailable, match="download=False"):
        load_fashion_mnist(tmp_path, download=False)
    assert fake.calls == []


def test_fashion_mnist_goes_into_the_mnist_data_folder(monkeypatch, fake_fashion, tmp_path):
    fake = fake_fashion()
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    load_fashion_mnist()
    assert fake.calls[0]["root"] == str(vu.default_data_dir()) == str(tmp_path)


def test_fashion_can_be_switched_off(fake_fashion, x_test, tmp_path):
    fake = fake_fashion()
    sets = load_ood_sets(x_test, n=5, data_dir=tmp_path, fashion=False)
    assert fake.calls == [] and not sets.fashion and "fashion=False" in sets.fashion_note


# -------------------------------------------------------------------- load_ood_sets


def test_sets_sizes_binarisation_and_seed(fake_fashion, x_test, tmp_path):
    fake_fashion(fail=OSError("offline"))
    grey = load_ood_sets(x_test, n=30, data_dir=tmp_path)
    for name, x in grey.sets.items():
        assert x.shape == (30, 1, 28, 28) and x.dtype == torch.float32, name
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0, name
    torch.testing.assert_close(grey.sets["inverted"], 1.0 - x_test[:30])
    torch.testing.assert_close(grey.sets["rotated"], rotate90(x_test[:30]))
    # the Bernoulli noise has the digits' mean ink by default
    assert f"{float(x_test.mean()):.2f}" in grey.descriptions["bernoulli_noise"]
    binary = load_ood_sets(x_test, n=30, data_dir=tmp_path, binarize="dynamic", seed=3)
    again = load_ood_sets(x_test, n=30, data_dir=tmp_path, binarize="dynamic", seed=3)
    other = load_ood_sets(x_test, n=30, data_dir=tmp_path, binarize="dynamic", seed=4)
    for name, x in binary.sets.items():
        assert set(x.unique().tolist()) <= {0.0, 1.0}, name
        assert torch.equal(x, again.sets[name]), name
    assert not torch.equal(binary.sets["uniform_noise"], other.sets["uniform_noise"])
    summary = binary.summary()
    assert all(name in summary for name in EXPECTED_SETS) and "30 images" in summary
    # n larger than the transformed digits: those sets are as large as x_test
    big = load_ood_sets(x_test, n=100, data_dir=tmp_path)
    assert len(big.sets["inverted"]) == len(x_test) and len(big.sets["sklearn_digits"]) == 100


def test_load_ood_sets_refuses_bad_input(x_test):
    with pytest.raises(TypeError, match="float"):
        load_ood_sets((x_test * 255).to(torch.uint8), fashion=False)
    with pytest.raises(ValueError, match="shape"):
        load_ood_sets(x_test.view(-1, 784), fashion=False)
    with pytest.raises(ValueError, match="positive integer"):
        load_ood_sets(x_test, n=0, fashion=False)
    with pytest.raises(ValueError, match="binarize"):
        load_ood_sets(x_test, binarize="otsu", fashion=False)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        load_ood_sets(x_test * 2, fashion=False)


def test_top_level_exports():
    assert vu.load_ood_sets is load_ood_sets and vu.load_fashion_mnist is load_fashion_mnist
    assert vu.OODSets is ood_data.OODSets
