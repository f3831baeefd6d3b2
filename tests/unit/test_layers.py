"""The layer rule of DESIGN.md §3 and STYLE.md §2.1, checked with `ast`.

Every module of the package has a layer and imports only from lower layers
(lazy imports inside functions included); ``_kernels`` is a leaf that imports
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


# Every module of the package, lowest layer first: DESIGN.md §3's table, and
# the modules it does not list where their imports and users put them (the
# helpers `_typing`, `_validate`, `_html` and `_progress` with `errors`, as in
# STYLE.md §2.1; `_calibration` below `noise`; `_consent_filter` beside
# `tables`; `_info`, `_release` and `_grouped` below `aggregate`; `display` above `cohorts`). A module
# imports only from modules listed before it. A package (`accounting`,
# `audit`, `controls`) is one layer for the others; `_kernels` is a leaf any
# layer may call (it imports nothing else of the package, checked below).
LAYERS = [
    "errors",
    "_typing",
    "_validate",
    "_html",
    "_progress",
    "loss",
    "random",
    "_kernels",
    "_calibration",
    "noise",
    "mechanisms",
    "selection",  # partition selection (above the samplers, below the releases)
    "accounting",
    "tables",
    "_consent_filter",  # the releases' consent filter (re-exported by controls)
    "bounding",
    "_info",
    "_release",  # the release steps aggregations and cohorts share
    "_grouped",  # building blocks of the grouped statistics
    "aggregate",
    "quantiles",  # aggregate_quantiles / aggregate_variance / aggregate_std
    "cohorts",
    "histogram",  # aggregate_histogram
    "funnel",  # funnel
    "display",
    "kanon",
    "controls",
    "audit",
    "cli",
]
RANK = {name: i for i, name in enumerate(LAYERS)}

# Inside a package whose modules are layered too, the same rule by this order.
SUBLAYERS = {
    "controls": ["_pseudonyms", "_consent", "_retention", "_erasure", ""],
}

# Imports that break the rule today, each an expected failure (strict): when
# the import is fixed the test passes and the entry must be removed.
KNOWN_UPWARD: dict[str, str] = {}


MODULES = [p for p in sorted(PKG.rglob("*.py")) if _module_name(p)]  # not the root


def _rank(mod: str) -> tuple[int, int]:
    """Where a (dotted) module sits: its layer, then its place in the package."""
    top, _, sub = mod.partition(".")
    order = SUBLAYERS.get(top)
    return RANK[top], order.index(sub.split(".")[0]) if order else 0


def _upward(path: Path, name: str) -> list[str]:
    """The package modules that ``path`` (the module ``name``) imports from above."""
    here = _rank(name)
    bad = []
    for mod in sorted(_package_imports(path)):
        if _top(mod) == "_kernels":
            continue
        if _top(mod) == _top(name) and _top(name) not in SUBLAYERS:
            continue  # inside a package without sublayers: not checked
        if _rank(mod) >= here:
            bad.append(mod)
    return bad


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_every_module_has_a_layer(path):
    top, _, sub = _module_name(path).partition(".")
    assert top in RANK, f"{top} is in no layer: place it in LAYERS (DESIGN.md §3)"
    if top in SUBLAYERS:
        sub = sub.split(".")[0]
        assert sub in SUBLAYERS[top], f"{top}.{sub} is not in SUBLAYERS[{top!r}]"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            id=_module_name(path),
            marks=[pytest.mark.xfail(reason=KNOWN_UPWARD[name], strict=True)]
            if (name := _module_name(path)) in KNOWN_UPWARD
            else [],
        )
        for path in MODULES
    ],
)
def test_modules_import_only_from_lower_layers(path):
    name = _module_name(path)
    upward = _upward(path, name)
    assert upward == [], f"{name} imports from layers above it: {upward}"


def test_layer_rule_catches_an_upward_import(tmp_path):
    # The checker itself: a low module importing a higher one, even lazily.
    fake = tmp_path / "fake.py"
    fake.write_text("def f():\n    from loopkit_privacy import controls\n")
    assert _upward(fake, "tables") == ["controls"]
    assert _upward(fake, "audit") == []
    fake.write_text("from loopkit_privacy.controls._consent import apply_consent\n")
    assert _upward(fake, "_consent_filter") == ["controls._consent"]
    assert _upward(fake, "controls._pseudonyms") == ["controls._consent"]
    assert _upward(fake, "controls._retention") == []
    fake.write_text("from loopkit_privacy import _kernels, accounting\n")
    assert _upward(fake, "noise") == ["accounting"]


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


# ---------------------------------------------------------------------------
# No module reaches into another module's private names
# ---------------------------------------------------------------------------


def _is_module(dotted: str) -> bool:
    rel = dotted[len(NAME) + 1 :].replace(".", "/") if dotted != NAME else ""
    return (PKG / f"{rel}.py").exists() or (PKG / rel / "__init__.py").exists()


def _private_uses(path: Path) -> list[str]:
    """``from m import _x`` and ``m._x`` where ``m`` is another package module.

    Importing a private *module* (``from loopkit_privacy import _release``)
    is fine: its names are that module's public interface inside the
    package. Reaching a private *name* of a module (``aggregate._plan``) is
    not: it couples the caller to internals the module may change.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(NAME):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and not _is_module(full):
                    bad.append(
                        f"line {node.lineno}: from {node.module} import {alias.name}"
                    )
                aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(NAME):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            target = aliases[node.value.id]
            if _is_module(target) and not _is_module(f"{target}.{node.attr}"):
                bad.append(
                    f"line {node.lineno}: {node.value.id}.{node.attr} ({target})"
                )
    return bad


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_no_module_uses_another_modules_private_names(path):
    assert _private_uses(path) == []


def test_private_use_checker_catches_both_forms(tmp_path):
    fake = tmp_path / "fake.py"
    fake.write_text(
        "from loopkit_privacy import aggregate, _release\n"
        "from loopkit_privacy.aggregate import _plan\n"
        "x = aggregate._request\n"
        "y = _release.Request\n"
    )
    found = _private_uses(fake)
    assert len(found) == 2
    assert "import _plan" in found[0]
    assert "aggregate._request" in found[1]
