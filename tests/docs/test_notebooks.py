"""The notebooks run top to bottom, and are committed without outputs.

Each notebook is executed in a fresh Jupyter kernel (``nbclient``) with the
``notebooks/`` folder as its working directory. The executed copy stays in
memory: the files in git keep no outputs, which a separate test checks. The
notebooks that save figures must write valid PNG files during the run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.markdown_examples import ROOT

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_tour.ipynb",
    "02_accuracy.ipynb",
    "03_cohort_retention.ipynb",
    "04_audit.ipynb",
]
# Figures each notebook writes under notebooks/figures/ (not kept in git).
FIGURES = {
    "02_accuracy.ipynb": [
        "accuracy_vs_epsilon.png",
        "accuracy_vs_users.png",
        "laplace_vs_gaussian.png",
    ],
    "03_cohort_retention.ipynb": [
        "retention_heatmap.png",
        "retention_curves.png",
        "retention_true_vs_private.png",
    ],
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CELL_TIMEOUT = 600  # seconds; each notebook takes well under a minute


def _ids(paths):
    return [p.stem for p in paths]


def test_the_four_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_without_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert dirty == [], (
        f"{path.name}: cells {dirty} have outputs or execution counts; "
        "clear them before committing (e.g. jupyter nbconvert --clear-output --inplace)"
    )
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: widget state saved"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


def _check_png(path: Path, since: float) -> None:
    import matplotlib.image

    assert path.is_file(), f"{path} was not written"
    assert path.stat().st_mtime >= since, f"{path} is stale: not written by this run"
    with path.open("rb") as fh:
        assert fh.read(8) == PNG_SIGNATURE, f"{path} is not a PNG file"
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3
    assert pixels.shape[0] >= 200
    assert pixels.shape[1] >= 200
    assert pixels.std() > 0, f"{path} is blank"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch):
    # The notebook runner is in the docs extra: with only `.[test]` these
    # tests are skipped, not failed (the README's command installs both).
    nbformat = pytest.importorskip(
        "nbformat",
        reason="running notebooks needs the docs extra: pip install -e '.[test,docs]'",
    )
    nbclient = pytest.importorskip(
        "nbclient",
        reason="running notebooks needs the docs extra: pip install -e '.[test,docs]'",
    )
    NotebookClient = nbclient.NotebookClient

    # Kernels inherit the environment: compiled kernels are cached on disk
    # so that only the first notebook pays for numba's compilation.
    monkeypatch.setenv("LOOPKIT_NUMBA_CACHE", "1")
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.delenv("LOOPKIT_PRIVACY_FORBID_INSECURE", raising=False)
    nb = nbformat.read(path, as_version=4)
    start = time.time() - 1.0  # file systems with coarse time stamps
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError, with the cell, on any error
    for name in FIGURES.get(path.name, []):
        _check_png(NOTEBOOK_DIR / "figures" / name, since=start)
