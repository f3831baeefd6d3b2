"""The layer rule of STYLE.md §2.1, checked on each module's imports with `ast`.

A module imports only from lower layers; ``_kernels`` is a leaf that imports
nothing of the package except ``_kernels`` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import loopkit_privacy

PKG = Path(loopkit_privacy.__file__).parent
NAME = "loopkit_privacy"


def _package_imports(path: Path) -> set[str]:
    """Modules of the package imported by ``path``, as dotted names below the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (banned by ruff TID)"
            base = node.module or ""
            # `from loopkit_privacy import noise` imports the submodule `noise`.
            mods = (
                [f"{base}.{alias.name}" for alias in node.names]
                if base == NAME
                else [base]
            )
        else:
            continue
        for mod in mods:
            if mod == NAME or mod.startswith(NAME + "."):
                rest = mod[len(NAME) + 1 :]
                if rest:
                    found.add(rest)
    return found


def _top(mod: str) -> str:
    return mod.split(".")[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


# What each foundation module may import from the package (top-level names).
ALLOWED = {
    "errors": set(),
    "_typing": set(),
    "_html": set(),
    "_validate": {"errors", "_typing"},
    "loss": {"errors", "_validate", "_typing"},
    "random": {"errors", "_typing", "_validate"},
    "_calibration": {"errors", "_typing", "_validate"},
    "noise": {"errors", "_typing", "_validate", "loss", "random", "_kernels"},
    "mechanisms": {
        "_html",
        "errors",
        "_typing",
        "_validate",
        "loss",
        "random",
        "_kernels",
        "noise",
        "_calibration",
    },
}


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_foundation_layers(module):
    imported = {_top(m) for m in _package_imports(PKG / f"{module}.py")}
    assert imported <= ALLOWED[module], (
        f"{module} imports {sorted(imported - ALLOWED[module])}"
    )


def test_errors_imports_nothing_of_the_package():
    assert _package_imports(PKG / "errors.py") == set()


def test_noise_does_not_import_upward():
    imported = {_top(m) for m in _package_imports(PKG / "noise.py")}
    assert not imported & {"mechanisms", "accounting", "tables", "aggregate"}


def test_mechanisms_do_not_import_upward():
    imported = {_top(m) for m in _package_imports(PKG / "mechanisms.py")}
    assert not imported & {
        "accounting",
        "tables",
        "bounding",
        "aggregate",
        "cohorts",
        "audit",
        "cli",
    }


@pytest.mark.parametrize(
    "path", sorted((PKG / "_kernels").glob("*.py")), ids=lambda p: p.name
)
def test_kernels_are_a_leaf(path):
    imported = _package_imports(path)
    outside = sorted(m for m in imported if _top(m) != "_kernels")
    assert outside == [], f"_kernels/{path.name} imports {outside}"


@pytest.mark.parametrize(
    "path", sorted((PKG / "_kernels").glob("*.py")), ids=lambda p: p.name
)
def test_kernels_do_not_import_table_libraries(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert not names & {"pyarrow", "polars", "pandas"}


def test_only_jit_module_sets_numba_options():
    for path in (PKG / "_kernels").glob("*.py"):
        if path.name == "_jit.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "numba.njit" not in text, path.name
        assert "fastmath=" not in text, path.name


def test_layer_parser_sees_imports():
    # The checker itself: a known import is found, so the tests above can fail.
    assert "_kernels.sampling" in _package_imports(PKG / "noise.py") or "_kernels" in {
        _top(m) for m in _package_imports(PKG / "noise.py")
    }
    assert "noise" in {_top(m) for m in _package_imports(PKG / "mechanisms.py")}
    assert "_kernels._jit" in _package_imports(PKG / "_kernels" / "sampling.py")
