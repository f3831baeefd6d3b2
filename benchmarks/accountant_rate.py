"""In-memory charges per second of every accountant mode, before and after, in one run.

Usage::

    python benchmarks/accountant_rate.py --before ac3f363 [--charges 1000]

``--before`` is a git revision: its ``src/`` is extracted with ``git archive``
into a temporary directory (the working tree is not touched) and each case
runs in a fresh subprocess with that source first on ``sys.path``; the
"after" column runs the working tree's ``src/``. Cases alternate between the
two, three rounds, and the best round is kept (the machines are shared and
noisy: compare the ratio). Times are CPU time of the charging loop only.

Cases (the same as ``bench_accountant.py``):

* ``repeat``: one cost, again and again (``Spend``);
* ``new mechanism``: each charge a Gaussian event with a new multiplier
  (``SpendNewMechanism``), whose exact totals used to grow with every charge;
* ``approx zcdp``: (epsilon, delta) costs to a zCDP accountant
  (``SpendApproxZCDP``; refused before approximate zCDP existed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from loopkit_privacy.accounting import Accountant
from loopkit_privacy.loss import ApproxDP, NoiseEvent, PureDP
mode, case, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
if case == "approx zcdp":
    acc = Accountant(epsilon=1e12, delta=0.5, accounting="zcdp")
else:
    delta = 0.0 if mode == "basic" and case == "repeat" else 0.5
    acc = Accountant(epsilon=1e12, delta=delta, accounting=mode)
if case == "repeat":
    ev = NoiseEvent("laplace", 100.0) if mode == "rdp" else None
    args = [(PureDP(0.01), ev)] * n
elif case == "new mechanism":
    args = [(ApproxDP(1.0, 1e-12), NoiseEvent("gaussian", 10.0 * (1 + i * 1e-9)))
            for i in range(n)]
else:
    args = [(ApproxDP(0.01, 1e-12), None)] * n
try:
    t = time.process_time()
    for cost, ev in args:
        acc.spend(cost, label="bench", event=ev)
    print(n / (time.process_time() - t))
except Exception as err:
    print("refused: " + type(err).__name__)
"""

CASES = [
    ("basic", "repeat"),
    ("zcdp", "repeat"),
    ("rdp", "repeat"),
    ("basic", "new mechanism"),
    ("zcdp", "new mechanism"),
    ("rdp", "new mechanism"),
    ("zcdp", "approx zcdp"),
]


def _extract(rev: str, into: Path) -> Path:
    data = subprocess.run(
        ["git", "archive", rev, "src"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _rate(src: Path, mode: str, case: str, n: int) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), mode, case, str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return out.splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare")
    parser.add_argument("--charges", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = _extract(args.before, Path(tmp))
        after = ROOT / "src"
        best: dict[tuple[str, str, str], str] = {}
        for _ in range(args.rounds):
            for mode, case in CASES:
                for name, src in (("before", before), ("after", after)):
                    r = _rate(src, mode, case, args.charges)
                    key = (mode, case, name)
                    old = best.get(key)
                    if old is None or (
                        not r.startswith("refused") and float(r) > float(old)
                    ):
                        best[key] = r
    print(f"{args.charges} in-memory charges per case, best of {args.rounds}")
    print("| mode | case | before (charges/s) | after (charges/s) | after/before |")
    print("|---|---|---:|---:|---:|")
    for mode, case in CASES:
        b, a = best[(mode, case, "before")], best[(mode, case, "after")]
        fb = f"{float(b):,.0f}" if not b.startswith("refused") else b
        fa = f"{float(a):,.0f}" if not a.startswith("refused") else a
        ratio = (
            f"{float(a) / float(b):.1f}x"
            if not (a.startswith("refused") or b.startswith("refused"))
            else "-"
        )
        print(f"| {mode} | {case} | {fb} | {fa} | {ratio} |")


if __name__ == "__main__":
    main()
