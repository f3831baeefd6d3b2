"""Run every asv benchmark once at its smallest parameters (flox's test_asv.py).

This keeps ``benchmarks/`` importable and runnable as the package changes; it
does not time anything.
"""

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # asv imports `benchmarks` from the repo root too
    sys.path.insert(0, str(REPO_ROOT))

import benchmarks  # noqa: E402

PREFIXES = ("time_", "peakmem_", "track_")


def _benchmark_classes():
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            if any(m.startswith(PREFIXES) for m in vars(cls)):
                yield pytest.param(cls, id=f"{info.name}.{name}")


def _smallest_params(cls):
    params = getattr(cls, "params", None)
    if params is None:
        return ()
    if not params or not isinstance(params[0], list | tuple):
        params = [params]  # a single parameter given as a flat list
    return tuple(
        min(p) if all(isinstance(v, int | float) for v in p) else p[0] for p in params
    )


CLASSES = list(_benchmark_classes())


def test_benchmarks_found():
    names = {p.id for p in CLASSES}
    assert "bench_noise.SampleNoise" in names
    assert "bench_mechanisms.LaplaceRelease" in names


@pytest.mark.parametrize("cls", CLASSES)
def test_benchmark_runs_once(cls, monkeypatch):
    monkeypatch.delenv("ASV_SKIP_SLOW", raising=False)
    args = _smallest_params(cls)
    if getattr(cls, "params", None) is not None:
        assert len(cls.param_names) == len(args)
    bench = cls()
    if hasattr(bench, "setup"):
        bench.setup(*args)
    methods = sorted(m for m in vars(cls) if m.startswith(PREFIXES))
    assert methods, f"{cls.__name__} has no benchmark methods"
    for name in methods:
        result = getattr(bench, name)(*args)
        if name.startswith("track_"):
            assert isinstance(result, int | float)
            assert result > 0
    if hasattr(bench, "teardown"):
        bench.teardown(*args)


def test_skip_slow(monkeypatch):
    monkeypatch.setenv("ASV_SKIP_SLOW", "1")
    with pytest.raises(NotImplementedError, match="ASV_SKIP_SLOW"):
        benchmarks.skip_slow()
    monkeypatch.setenv("ASV_SKIP_SLOW", "0")
    benchmarks.skip_slow()
