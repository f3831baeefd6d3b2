"""Outputs of a randomised function turned into numeric features.

The auditor's events are thresholds on features: ``{f >= t}``, ``{f <= t}``,
their complements, and presence ``{f is defined}``. A feature is a float
column with one entry per trial; NaN means "not defined in this trial" (a
key that was not released). This module turns every supported kind of output
into named features, so that the outputs of the two neighbouring inputs can
be compared feature by feature:

* scalars and arrays of shape ``(n,)``: ``value``;
* arrays of shape ``(n, d)``: ``value[j]`` per column and their ``sum``;
* float outputs also get ``lowbit``: the exponent of the lowest set bit of
  the float (``o`` is a multiple of ``2**k`` exactly when ``lowbit >= k``).
  Textbook floating-point noise leaks the input through these bits
  (Mironov 2012); the library's grid noise does not;
* :class:`KeyedOutputs` (released tables, dicts): ``present[key]`` (1 or 0),
  ``value[key]`` (NaN when absent) and ``n_keys``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopkit_privacy._typing import AnyArray
from loopkit_privacy.errors import InvalidParameterError

__all__ = ["KeyedOutputs", "featurize", "keyed_from_mappings"]

# More value columns than this get no low-bit features (keeps the event
# family, and so the multiple-testing correction, small).
_MAX_LOWBIT_COLUMNS = 16
# Stand-in for the low-bit exponent of 0.0 (a multiple of every power of two).
_ZERO_LOWBIT = 2048.0


@dataclass(frozen=True)
class KeyedOutputs:
    """``n`` released key → value maps at once, as arrays.

    Attributes
    ----------
    keys : tuple
        The G keys that can appear (hashable; tuples for several key columns).
    present : numpy.ndarray of bool, shape (n, G)
        Whether trial i released key g.
    values : numpy.ndarray of float64, shape (n, G)
        The released value; NaN where the key is absent.

    Examples
    --------
    >>> import numpy as np
    >>> out = KeyedOutputs(("a", "b"), np.array([[True, False]]), np.array([[3.0, np.nan]]))
    >>> out.n
    1
    """

    keys: tuple[Any, ...]
    present: AnyArray
    values: AnyArray

    def __post_init__(self) -> None:
        if self.present.shape != self.values.shape or self.present.ndim != 2:
            raise InvalidParameterError(
                "`present` and `values` must both have shape (n, len(keys)), got "
                f"{self.present.shape} and {self.values.shape}",
                parameter="values",
            )
        if self.present.shape[1] != len(self.keys):
            raise InvalidParameterError(
                f"{len(self.keys)} keys but {self.present.shape[1]} columns",
                parameter="keys",
            )

    @property
    def n(self) -> int:
        """Number of trials (rows of ``present`` and ``values``).

        Examples
        --------
        >>> import numpy as np
        >>> present = np.array([[True, False], [True, True], [False, False]])
        >>> values = np.where(present, 1.0, np.nan)
        >>> KeyedOutputs(("a", "b"), present, values).n
        3
        """
        return int(self.present.shape[0])


def keyed_from_mappings(outputs: Sequence[dict[Any, Any]]) -> KeyedOutputs:
    """Stack one ``{key: value}`` dict per trial into :class:`KeyedOutputs`.

    Examples
    --------
    >>> k = keyed_from_mappings([{"a": 1.0}, {"a": 2.0, "b": 5.0}])
    >>> k.keys, k.present.tolist()
    (('a', 'b'), [[True, False], [True, True]])
    """
    index: dict[Any, int] = {}
    for out in outputs:
        for key in out:
            index.setdefault(key, len(index))
    n, g = len(outputs), len(index)
    present = np.zeros((n, g), dtype=bool)
    values = np.full((n, g), np.nan)
    for i, out in enumerate(outputs):
        for key, value in out.items():
            j = index[key]
            present[i, j] = True
            values[i, j] = np.nan if value is None else float(value)
    return KeyedOutputs(tuple(index), present, values)


def lowbit(x: AnyArray) -> AnyArray:
    """Exponent k of the lowest set bit of each float (x = odd · 2**k).

    NaN stays NaN; 0.0 and ±inf get a large stand-in (multiples of everything).
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.where(np.isnan(x), np.nan, _ZERO_LOWBIT)
    ok = np.isfinite(x) & (x != 0.0)
    m, e = np.frexp(x[ok])
    # |m| in [0.5, 1) has at most 53 significant bits: m·2**53 is an exact integer.
    mant = np.abs(np.ldexp(m, 53)).astype(np.int64)
    low = (mant & -mant).astype(np.float64)  # a power of two, so log2 is exact
    out[ok] = e.astype(np.float64) - 53.0 + np.log2(low)
    return out


def _table_to_mapping_rows(table: Any) -> list[dict[Any, Any]]:
    """One ``{key: value}`` dict from a released table (see :func:`featurize`)."""
    import pyarrow as pa

    from loopkit_privacy import tables

    data, _ = tables.as_arrow(table, tables.columns_of(table))
    assert isinstance(data, pa.Table)
    names = data.column_names
    value_cols = [c for c in names if f"{c}_ci_low" in names]
    if value_cols:
        value = value_cols[0]
        skip = {value, f"{value}_ci_low", f"{value}_ci_high", "rank"}
    else:
        value = names[-1]
        skip = {value}
    keys = [c for c in names if c not in skip]
    cols = {c: data.column(c).to_pylist() for c in [*keys, value]}
    out: dict[Any, Any] = {}
    for i in range(data.num_rows):
        key = tuple(cols[c][i] for c in keys)
        out[key[0] if len(key) == 1 else key] = cols[value][i]
    return [out]


def as_keyed(outputs: list[Any]) -> KeyedOutputs | None:
    """Per-call outputs that are dicts or tables, as :class:`KeyedOutputs`."""
    first = outputs[0]
    if isinstance(first, dict):
        return keyed_from_mappings(outputs)
    if hasattr(first, "columns") or hasattr(first, "column_names"):
        rows: list[dict[Any, Any]] = []
        for out in outputs:
            rows.extend(_table_to_mapping_rows(out))
        return keyed_from_mappings(rows)
    return None


def featurize(output: Any, references: tuple[float, ...] = ()) -> dict[str, AnyArray]:
    """Named float features (one entry per trial) of a batch of outputs.

    Parameters
    ----------
    output : numpy.ndarray of shape (n,) or (n, d), or KeyedOutputs
    references : tuple of float
        The true values of a real-valued query on the inputs, if known. For
        float outputs of shape (n,) each gives a feature ``fits[x]``: 1 when
        ``fl(fl(o - x) + x) == o``. Textbook floating-point noise makes this
        fail only for outputs computed from other inputs (Mironov 2012).

    Returns
    -------
    dict of str to numpy.ndarray of float64, each of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> sorted(featurize(np.array([1.0, 2.5])))
    ['lowbit', 'value']
    >>> featurize(np.array([1.0, 2.5]))["lowbit"].tolist()
    [0.0, -1.0]
    """
    if isinstance(output, KeyedOutputs):
        feats: dict[str, AnyArray] = {}
        floats = output.values.dtype.kind == "f"
        few = len(output.keys) <= _MAX_LOWBIT_COLUMNS
        for j, key in enumerate(output.keys):
            feats[f"present[{key!r}]"] = output.present[:, j].astype(np.float64)
            vals = np.where(output.present[:, j], output.values[:, j], np.nan)
            feats[f"value[{key!r}]"] = vals
            if floats and few and not _is_integral(vals):
                feats[f"lowbit[{key!r}]"] = lowbit(vals)
        feats["n_keys"] = output.present.sum(axis=1).astype(np.float64)
        return feats
    arr = np.asarray(output)
    if arr.dtype.kind not in "iufb":
        raise InvalidParameterError(
            f"outputs must be numbers, arrays of numbers, dicts or tables, got dtype {arr.dtype}",
            parameter="fn",
        )
    floats = arr.dtype.kind == "f"
    arr = arr.astype(np.float64)
    if arr.ndim == 1:
        feats = {"value": arr}
        if floats:
            feats["lowbit"] = lowbit(arr)
            for x in references:
                with np.errstate(invalid="ignore", over="ignore"):
                    fits = ((arr - x) + x) == arr
                feats[f"fits[{x!r}]"] = fits.astype(np.float64)
        return feats
    if arr.ndim != 2:
        raise InvalidParameterError(
            f"a vectorised `fn` must return shape (n,) or (n, d), got {arr.shape}",
            parameter="fn",
        )
    feats = {}
    for j in range(arr.shape[1]):
        feats[f"value[{j}]"] = arr[:, j]
        if floats and arr.shape[1] <= _MAX_LOWBIT_COLUMNS:
            feats[f"lowbit[{j}]"] = lowbit(arr[:, j])
    if arr.shape[1] > 1:
        feats["sum"] = arr.sum(axis=1)
    return feats


def _is_integral(vals: AnyArray) -> bool:
    finite = vals[np.isfinite(vals)]
    return bool(finite.size == 0 or np.all(finite == np.rint(finite)))
