"""Trials per second of the empirical privacy audit.

Usage::

    python benchmarks/audit_speed.py [--trials 1000000] [--repeat 3]

Audits (1) the scalar ``LaplaceMechanism`` on inputs 0.0 and 1.0 and (2)
``aggregate_count`` by page with public groups on the built-in neighbouring
tables, each with ``--trials`` trials per input, and prints the best of
``--repeat`` runs as trials (of both inputs) per second, with the time spent
drawing releases and the time spent on the statistics. Numba kernels are
compiled before timing. Machines are shared and noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import time

import loopkit_privacy._kernels
from loopkit_privacy import aggregate, mechanisms
from loopkit_privacy.audit import aggregation_trials, estimate_epsilon
from loopkit_privacy.audit.builtin import neighbouring_tables


def _best(fn, repeat):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    loopkit_privacy._kernels.warmup()
    mech = mechanisms.LaplaceMechanism(sensitivity=1.0, epsilon=1.0)
    d0, d1 = neighbouring_tables()
    count = aggregation_trials(
        aggregate.aggregate_count,
        by="page",
        privacy_unit="user_id",
        epsilon=1.0,
        public_groups=["a", "b", "c", "d", "e"],
    )
    cases = {
        "LaplaceMechanism (scalar)": (mech.randomize, 0.0, 1.0),
        "aggregate_count (5 public groups)": (count, d0, d1),
    }
    for fn, a, b in cases.values():  # compile everything first
        estimate_epsilon(fn, a, b, trials=1000)
    print(f"audit speed, {args.trials} trials per input, best of {args.repeat}")
    for name, (fn, a, b) in cases.items():
        draw_s, _ = _best(
            lambda fn=fn, a=a, b=b: (fn(a, args.trials), fn(b, args.trials)),
            args.repeat,
        )
        total_s, result = _best(
            lambda fn=fn, a=a, b=b: estimate_epsilon(fn, a, b, trials=args.trials),
            args.repeat,
        )
        print(
            f"  {name}: {2 * args.trials / total_s:,.0f} trials/s "
            f"({total_s:.2f} s per audit; drawing {draw_s:.2f} s), "
            f"ε >= {result.epsilon_lower_bound:.3f}"
        )


if __name__ == "__main__":
    main()
