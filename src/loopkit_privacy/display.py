"""Showing private results in notebooks: HTML tables with value ± CI, and error-bar plots.

The aggregation functions return plain tables (pyarrow, polars, pandas) so
they compose with the rest of a pipeline. :func:`show` wraps one for display
(value ± half-width, the interval, what it cost) and :func:`plot` draws it
with its error bars. matplotlib is needed only by :func:`plot` and imported
when it is called (``pip install 'loopkit_privacy[plot]'``).

Examples
--------
>>> import pyarrow as pa, loopkit_privacy as lp
>>> rng = lp.random.InsecureSeededRandom(0)
>>> t = pa.table({"user_id": list(range(100)), "page": ["a", "b"] * 50})
>>> out = lp.aggregate_count(t, by="page", privacy_unit="user_id", epsilon=1.0,
...                          public_groups=["a", "b"], rng=rng)
>>> view = lp.show(out)
>>> view.value_columns
['count']
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from loopkit_privacy import _html, tables
from loopkit_privacy._info import ReleaseInfo
from loopkit_privacy._validate import check_positive_int
from loopkit_privacy.aggregate import privacy_info
from loopkit_privacy.errors import (
    InvalidParameterError,
    OptionalDependencyError,
    PrivacyError,
)

__all__ = ["ResultView", "plot", "show"]


def _arrow(result: Any) -> pa.Table:
    try:
        tables.family_of(result)
    except PrivacyError:
        raise InvalidParameterError(
            "`result` must be the table an aggregate_* function or cohort_retention "
            f"returned (pyarrow, polars or pandas), got an object of type "
            f"{type(result).__name__}",
            parameter="result",
            value=None,
        ) from None
    columns = tables.columns_of(result)
    data, _ = tables.as_arrow(result, columns)
    return data


def _key_text(column: str, value: Any) -> str:
    """A key cell as text; a quantile level reads as a percentile (0.95 -> p95)."""
    if column == "quantile" and isinstance(value, float):
        return f"p{100 * value:.10g}"
    return _html.fmt(value)


def _value_columns(columns: list[str]) -> list[str]:
    return [
        c for c in columns if f"{c}_ci_low" in columns and f"{c}_ci_high" in columns
    ]


class ResultView:
    """A private result prepared for display (see :func:`show`).

    Attributes
    ----------
    table : pyarrow.Table
        The result's data.
    info : dict or None
        :func:`~loopkit_privacy.privacy_info` of the result, when it has one.
    value_columns : list of str
        The released statistics (columns with ``_ci_low``/``_ci_high``).
    key_columns : list of str
        The other columns (group keys, ranks).

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> t = pa.table({"user_id": [1, 2, 3], "minutes": [3.0, 4.0, 5.0]})
    >>> out = lp.aggregate_sum(t, column="minutes", bounds=(0, 10), privacy_unit="user_id",
    ...                        epsilon=1.0, rng=rng)
    >>> view = lp.ResultView(out)
    >>> view.value_columns, view.key_columns
    (['sum'], [])
    """

    def __init__(self, result: Any, *, max_rows: int = 50) -> None:
        max_rows = check_positive_int(max_rows, "max_rows", example="50")
        self.table = _arrow(result)
        try:
            self.info: ReleaseInfo | None = privacy_info(result)
        except InvalidParameterError:
            self.info = None
        names = self.table.column_names
        self.value_columns = _value_columns(names)
        if not self.value_columns:
            raise InvalidParameterError(
                "`result` has no `<name>`, `<name>_ci_low`, `<name>_ci_high` columns; "
                "show() displays results of the aggregate_* and cohort_retention "
                "functions: pass one of those tables",
                parameter="result",
                value=None,
            )
        ci = {f"{v}_ci_{side}" for v in self.value_columns for side in ("low", "high")}
        self.key_columns = [
            c for c in names if c not in ci and c not in self.value_columns
        ]
        self.max_rows = max_rows

    def _header(self) -> tuple[str, str]:
        if self.info is None:
            return "Private result", ""
        bits = [f"cost {self.info.cost!r}"]
        bits.append(f"{100 * self.info.confidence:g}% intervals")
        if self.info.receipt:
            bits.append(f"receipt {self.info.receipt[:8]}…")
        return "Private result", ", ".join(bits)

    def _repr_html_(self) -> str:
        title, note = self._header()
        out = _html.title(title, note)
        if self.info and self.info.insecure:
            out += (
                "<div><b>INSECURE randomness (seeded): not a private release.</b></div>"
            )
        n = min(self.table.num_rows, self.max_rows)
        cols = {
            c: self.table.column(c).to_pylist()[:n] for c in self.table.column_names
        }
        headers = self.key_columns + [
            h for v in self.value_columns for h in (v, f"{v} interval")
        ]
        rows = []
        for i in range(n):
            row = [html.escape(_key_text(k, cols[k][i])) for k in self.key_columns]
            for v in self.value_columns:
                val, lo, hi = (
                    cols[v][i],
                    cols[f"{v}_ci_low"][i],
                    cols[f"{v}_ci_high"][i],
                )
                if val is None:
                    row += ["—", "—"]
                    continue
                half = (hi - lo) / 2.0
                row.append(_html.plus_minus(val, half))
                row.append(html.escape(f"[{_html.fmt(lo, 4)}, {_html.fmt(hi, 4)}]"))
            rows.append(row)
        out += _html.table(headers, rows, raw=True)
        if self.table.num_rows > n:
            out += f"<div>… {self.table.num_rows - n} more rows</div>"
        if self.info and self.info.noise:
            mech = "; ".join(str(m) for m in self.info.noise)
            out += f'<div style="opacity:0.7">{html.escape(mech)}</div>'
        return out

    def __repr__(self) -> str:
        title, note = self._header()
        lines = [f"{title} ({note})" if note else title]
        n = min(self.table.num_rows, self.max_rows)
        cols = {
            c: self.table.column(c).to_pylist()[:n] for c in self.table.column_names
        }
        for i in range(n):
            keys = ", ".join(_key_text(k, cols[k][i]) for k in self.key_columns)
            # Quantile intervals are not symmetric: show them whole.
            whole = "quantile" in self.key_columns
            vals = []
            for v in self.value_columns:
                val, lo, hi = (
                    cols[v][i],
                    cols[f"{v}_ci_low"][i],
                    cols[f"{v}_ci_high"][i],
                )
                if val is None:
                    vals.append(f"{v}=—")
                elif whole:
                    vals.append(
                        f"{v}={_html.fmt(val, 4)} [{_html.fmt(lo, 4)}, {_html.fmt(hi, 4)}]"
                    )
                else:
                    vals.append(
                        f"{v}={_html.fmt(val, 4)} ± {_html.fmt((hi - lo) / 2.0, 3)}"
                    )
            lines.append(
                f"  {keys}: {', '.join(vals)}" if keys else "  " + ", ".join(vals)
            )
        if self.table.num_rows > n:
            lines.append(f"  … {self.table.num_rows - n} more rows")
        return "\n".join(lines)


def show(result: Any, *, max_rows: int = 50) -> ResultView:
    """Wrap a private result for display: value ± half-width and the interval per row.

    In Jupyter the returned object renders as an HTML table; elsewhere its
    ``repr`` is a text summary.

    Parameters
    ----------
    result : table
        A result of an ``aggregate_*`` function or :func:`cohort_retention`
        (pyarrow, polars or pandas).
    max_rows : int
        Rows shown at most.

    Returns
    -------
    ResultView

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> t = pa.table({"user_id": list(range(100)), "page": ["a", "b"] * 50})
    >>> out = lp.aggregate_count(t, by="page", privacy_unit="user_id", epsilon=1.0,
    ...                          public_groups=["a", "b"], rng=rng)
    >>> print(lp.show(out))  # doctest: +ELLIPSIS
    Private result (cost PureDP(epsilon=1.0), 95% intervals)
      a: count=... ± 3
      b: count=... ± 3
    """
    return ResultView(result, max_rows=max_rows)


def plot(
    result: Any,
    *,
    value: str | None = None,
    ax: Any = None,
    max_groups: int = 40,
    truth: dict[Any, float] | None = None,
) -> Any:
    """Plot a private result with its confidence intervals as error bars.

    Parameters
    ----------
    result : table
        A result of an ``aggregate_*`` function (any family).
    value : str, optional
        Which statistic (default: the first, e.g. ``count``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    max_groups : int
        Groups shown at most (in the result's order).
    truth : dict, optional
        Known true values by group label, drawn as crosses (for teaching and
        accuracy studies on synthetic data only).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pyarrow as pa, loopkit_privacy as lp
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rng = lp.random.InsecureSeededRandom(0)
    >>> t = pa.table({"user_id": list(range(100)), "page": ["a", "b"] * 50})
    >>> out = lp.aggregate_count(t, by="page", privacy_unit="user_id", epsilon=1.0,
    ...                          public_groups=["a", "b"], rng=rng)
    >>> ax = lp.plot(out)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['a', 'b']
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise OptionalDependencyError(
            "plot needs matplotlib: pip install 'loopkit_privacy[plot]'"
        ) from err
    max_groups = check_positive_int(max_groups, "max_groups", example="40")
    if ax is not None and not callable(getattr(ax, "errorbar", None)):
        raise InvalidParameterError(
            f"`ax` must be a matplotlib Axes (or None), got an object of type "
            f"{type(ax).__name__}; pass e.g. ax=plt.subplots()[1]",
            parameter="ax",
            value=None,
        )
    truth = _check_truth(truth)
    # Histograms and funnels have plots of their own (bars over bins or steps).
    special = _special_plot(result, value)
    if special is not None and truth is None:
        return special(result, ax=ax)
    view = ResultView(result, max_rows=max_groups)
    name = view.value_columns[0] if value is None else value
    if not isinstance(name, str) or name not in view.value_columns:
        raise InvalidParameterError(
            f"`value` must be one of {view.value_columns}, got {value!r}",
            parameter="value",
            value=value,
        )
    n = min(view.table.num_rows, max_groups)
    t = view.table.slice(0, n)
    vals = np.asarray(t.column(name).to_pylist(), dtype=np.float64)
    lo = np.asarray(t.column(f"{name}_ci_low").to_pylist(), dtype=np.float64)
    hi = np.asarray(t.column(f"{name}_ci_high").to_pylist(), dtype=np.float64)
    keys = [
        c for c in view.key_columns if c not in ("rank", "period")
    ] or view.key_columns
    if keys:
        labels = [
            ", ".join(_key_text(k, t.column(k)[i].as_py()) for k in keys)
            for i in range(n)
        ]
    else:
        labels = ["total"] * n
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 0.9 + 0.32 * max(n, 1)))
    y = np.arange(n)
    ax.errorbar(
        vals,
        y,
        xerr=np.vstack([vals - lo, hi - vals]),
        fmt="o",
        capsize=3,
        label=f"noisy {name} ({100 * float(view.info.confidence if view.info else 0.95):g}% CI)",
    )
    if truth is not None:
        tv = [truth.get(label, np.nan) for label in labels]
        ax.plot(tv, y, "x", color="k", label="true value")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel(name)
    if view.info is not None:
        ax.set_title(f"{name}, cost {view.info.cost!r}", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    return ax


def _special_plot(result: Any, value: str | None) -> Any:
    """The plot of a histogram or funnel result (its default statistic), else None."""
    try:
        release = privacy_info(result).release
    except InvalidParameterError:
        return None
    if release == "aggregate_histogram" and value in (None, "count"):
        from loopkit_privacy.histogram import plot_histogram

        return plot_histogram
    if release == "funnel" and value in (None, "users"):
        from loopkit_privacy.funnel import plot_funnel

        return plot_funnel
    return None


def _check_truth(truth: Any) -> dict[Any, float] | None:
    """``truth`` as a dict of group label -> float (NaN: unknown), or None."""
    if truth is None:
        return None
    if not isinstance(truth, Mapping):
        raise InvalidParameterError(
            "`truth` must be a dict of group label -> true value, got an object of "
            f"type {type(truth).__name__}; pass e.g. truth={{'home': 120.0}}",
            parameter="truth",
            value=None,
        )
    out = {}
    for key, val in truth.items():
        if isinstance(val, bool) or not isinstance(val, numbers.Real):
            raise InvalidParameterError(
                f"`truth` values must be numbers, got {type(val).__name__} for key "
                f"{key!r}; pass e.g. truth={{'home': 120.0}}",
                parameter="truth",
                value=None,
            )
        out[key] = float(val)
    return out
