"""Side-by-side noise sampler throughput, measured in one process.

Compares, for the same number of draws at the same scale:

* loopkit_privacy's exact discrete Laplace / discrete Gaussian samplers on the
  secure source (AES-256-CTR keyed from the OS), after ``_kernels.warmup()``;
* numpy's floating-point ``Generator.laplace`` / ``Generator.normal``
  (PCG64; fast but *insecure*, for scale only: Mironov 2012);
* OpenDP's vectorised secure samplers (``make_laplace`` / ``make_gaussian`` on
  an integer vector), if ``opendp`` is installed.

Each rate is the median over ``--repeats`` rounds; in each round every
sampler runs once, in turn. The ratios come from the same
run, so they are meaningful on a shared, noisy machine where the absolute
rates are not. OpenDP is much slower; it is measured at ``--opendp-n`` draws
(default ``min(n, 10**6)``) and its per-sample rate is compared.

Usage::

    python benchmarks/compare_noise.py --n 10000000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import loopkit_privacy
import loopkit_privacy._kernels
from loopkit_privacy import noise
from loopkit_privacy.random import SecureRandom

try:
    import opendp.prelude as dp
except ImportError:  # optional: its rows are skipped with a note
    dp = None


def _median_rates(
    runs: dict[str, tuple[Callable[[], Any], int]], repeats: int
) -> dict[str, float]:
    """Median samples/s of each ``run`` (which draws ``n`` samples).

    The runs are interleaved (every sampler once per round), so a burst of
    load from other processes on a shared machine hits all of them alike
    rather than one sampler's every repeat.
    """
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (run, _n) in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: n / statistics.median(seconds[name]) for name, (_, n) in runs.items()}


def _fmt_rate(rate: float | None) -> str:
    if rate is None:
        return "—"
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} M/s"
    return f"{rate / 1e3:.1f} k/s"


def _fmt_ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None:
        return "—"
    return f"{num / den:.1f}×"


def _opendp_version() -> str:
    from importlib.metadata import version

    return version("opendp")


def measure(n: int, opendp_n: int, repeats: int, scale: float) -> dict[str, Any]:
    """Run every sampler and return rates (samples/s) and words per sample."""
    loopkit_privacy._kernels.warmup()
    rng = SecureRandom()
    gen = np.random.default_rng()

    lap = noise.discrete_laplace_parameters(scale)
    lap_params = (np.array([lap.t], dtype=np.int64), np.array([lap.m], dtype=np.int64))
    dg = noise.discrete_gaussian_parameters(scale)
    dg_params = tuple(np.array([v], dtype=np.int64) for v in (dg.t, dg.c, dg.k))
    # One small call per sampler outside the timings (thread pool start-up).
    noise.sample_discrete_laplace(scale, size=1 << 17, rng=rng)
    noise.sample_discrete_gaussian(scale, size=1 << 17, rng=rng)

    # Single thread: noise.draw below noise._PARALLEL_MIN samples runs in the
    # calling thread only, so batches of that size show the per-core rate.
    batch = noise._PARALLEL_MIN - 1
    batches = max(1, n // batch)

    def single(kind: str, params: tuple[np.ndarray, ...]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(batches):
                noise.draw(kind, params, batch, rng)

        return run

    runs: dict[str, tuple[Callable[[], Any], int]] = {
        "loopkit_laplace": (
            lambda: noise.sample_discrete_laplace(scale, size=n, rng=rng),
            n,
        ),
        "loopkit_gaussian": (
            lambda: noise.sample_discrete_gaussian(scale, size=n, rng=rng),
            n,
        ),
        "loopkit_laplace_1t": (single("laplace", lap_params), batches * batch),
        "loopkit_gaussian_1t": (single("gaussian", dg_params), batches * batch),
        "secure_words": (lambda: rng.words(n), n),
        "numpy_laplace": (lambda: gen.laplace(0.0, scale, size=n), n),
        "numpy_normal": (lambda: gen.normal(0.0, scale, size=n), n),
    }
    res: dict[str, Any] = {"n": n, "opendp_n": opendp_n, "scale": scale}
    res["opendp_laplace"] = res["opendp_gaussian"] = res["opendp_version"] = None
    if dp is not None:
        dp.enable_features("contrib")
        domain = dp.vector_domain(dp.atom_domain(T=int))
        m_lap = dp.m.make_laplace(domain, dp.l1_distance(T=int), scale=scale)
        m_gau = dp.m.make_gaussian(domain, dp.l2_distance(T=int), scale=scale)
        zeros = [0] * opendp_n
        m_lap(zeros[:10])  # first-call set-up outside the timings
        m_gau(zeros[:10])
        runs["opendp_laplace"] = (lambda: m_lap(zeros), opendp_n)
        runs["opendp_gaussian"] = (lambda: m_gau(zeros), opendp_n)
        res["opendp_version"] = _opendp_version()

    res.update(_median_rates(runs, repeats))
    # Words per sample: what noise.draw (the call every mechanism makes) reports.
    res["words_laplace"] = noise.draw("laplace", lap_params, n, rng)[1] / n
    res["words_gaussian"] = noise.draw("gaussian", dg_params, n, rng)[1] / n
    res["threads"] = noise.THREADS
    return res


def table(res: dict[str, Any], repeats: int) -> str:
    """Format the results as a markdown table plus notes."""
    n, on, scale = res["n"], res["opendp_n"], res["scale"]
    odp = f"OpenDP {res['opendp_version']}" if res["opendp_version"] else "OpenDP"
    lines = [
        f"Draws: {n:,} (loopkit, numpy); {on:,} ({odp}). Scale {scale:g} "
        f"(Laplace scale b, Gaussian σ). Rates are medians of {repeats} rounds.",
        "",
        f"| distribution | loopkit (secure, exact) | loopkit, 1 thread | {odp} (secure, exact) "
        "| numpy (insecure, float) | loopkit ÷ OpenDP | numpy ÷ loopkit | loopkit words/sample |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, key, np_key in (
        ("Laplace", "laplace", "numpy_laplace"),
        ("Gaussian", "gaussian", "numpy_normal"),
    ):
        lk = res[f"loopkit_{key}"]
        lines.append(
            f"| {name} | {_fmt_rate(lk)} | {_fmt_rate(res[f'loopkit_{key}_1t'])} "
            f"| {_fmt_rate(res[f'opendp_{key}'])} | {_fmt_rate(res[np_key])} "
            f"| {_fmt_ratio(lk, res[f'opendp_{key}'])} | {_fmt_ratio(res[np_key], lk)} "
            f"| {res[f'words_{key}']:.2f} |"
        )
    lines += [
        "",
        f"Secure word source (AES-256-CTR): {_fmt_rate(res['secure_words'])} 64-bit words.",
        f"loopkit splits a request over {res['threads']} threads on this machine; "
        "numpy and OpenDP use one. The 1-thread column draws in batches of "
        f"{noise._PARALLEL_MIN - 1:,} samples, below the parallel threshold.",
    ]
    if res["opendp_version"] is None:
        lines.append("OpenDP is not installed: its columns are empty.")
    elif on < n:
        lines.append(
            f"OpenDP was measured at {on:,} draws to keep the run short; the "
            "loopkit ÷ OpenDP ratio compares per-sample rates. OpenDP's time "
            "includes converting the input and output Python lists (part of its API)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, measure, print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**7, help="draws per sampler")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs; the median is kept"
    )
    parser.add_argument(
        "--opendp-n",
        type=int,
        default=None,
        help="draws for OpenDP (default min(n, 10**6))",
    )
    parser.add_argument(
        "--scale", type=float, default=10.0, help="Laplace b and Gaussian σ"
    )
    args = parser.parse_args(argv)
    opendp_n = args.opendp_n if args.opendp_n is not None else min(args.n, 10**6)

    res = measure(args.n, opendp_n, args.repeats, args.scale)
    print(
        f"<!-- python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()} -->"
    )
    print(table(res, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
