"""Side by side: 1M rows, 200k groups, public groups vs partition selection.

Run: ``python benchmarks/public_groups_speed.py`` (best of 3, one process, so
the two are compared as a ratio on the same machine state). The public-groups
path matches the public keys to the data keys in one vectorised pass
(``tables.match_public_keys``), so it should cost about what selection does.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pyarrow as pa

import loopkit_privacy as lp


def main(n_rows: int = 1_000_000, n_groups: int = 200_000) -> None:
    rng = np.random.default_rng(0)
    users = rng.integers(0, n_rows // 5, n_rows)
    pages = rng.integers(0, n_groups, n_rows)
    table = pa.table({"user_id": users, "page": pages})
    public = np.arange(n_groups, dtype=np.int64).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lp.InsecureRandomnessWarning)
        source = lp.random.InsecureSeededRandom(1)
    common = {"by": "page", "privacy_unit": "user_id", "epsilon": 1.0, "rng": source}
    runs = {
        "public groups (200k)": lambda: lp.aggregate_count(
            table, public_groups=public, **common
        ),
        "partition selection": lambda: lp.aggregate_count(table, delta=1e-6, **common),
    }
    for fn in runs.values():  # compile the kernels once
        fn()
    best = {}
    for name, fn in runs.items():
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        best[name] = min(times)
        print(f"{name:24s} {best[name]:.3f} s")
    ratio = best["public groups (200k)"] / best["partition selection"]
    print(f"ratio public / selection: {ratio:.2f}")


if __name__ == "__main__":
    main()
