"""k-anonymity, l-diversity and generalisation: classic disclosure control.

**k-anonymity is not differential privacy.** The functions here inspect and
reshape record-level tables by rules that depend on the data itself (which
classes are small, which categories are rare). They give no bound on what an
adversary learns about one person, they do not compose across releases, and a
filter on *true* counts is itself a disclosure. Use them to prepare or check a
record-level extract; to publish statistics, use the differentially private
aggregations (``aggregate_count`` and friends). ``docs/k-anonymity.md``
explains what each guarantee does and does not cover.

Vocabulary:

* the **quasi-identifiers** are the columns an attacker could link to other
  data (age band, region, plan, ...);
* an **equivalence class** is the set of rows sharing one combination of
  quasi-identifier values; a null is a value of its own (all nulls of a column
  are equal to each other), as in every grouping of the package;
* a table is **k-anonymous** when every class has at least k rows.

Functions:

* :func:`k_anonymity` — the k a table achieves (size of its smallest class);
* :func:`ensure_k_anonymity` — suppress the rows of classes smaller than k and
  report what was suppressed;
* :func:`l_diversity` — distinct (or entropy) l-diversity of a sensitive column;
* :func:`filter_groups` — keep the rows of an aggregated table whose count
  reaches k (the seed's ``ensureKAnonymity``);
* generalisation: :func:`generalize_dates`, :func:`generalize_numbers`,
  :func:`top_code`, :func:`generalize_rare`.

Every function takes a pyarrow Table, a polars DataFrame or LazyFrame or a
pandas DataFrame and returns the same family. A LazyFrame is collected once
when the rows themselves are needed (the result is a LazyFrame over the
collected data). Grouping runs over integer codes (Arrow dictionary encoding
and numba kernels), never a Python loop per row.

Examples
--------
>>> import pyarrow as pa
>>> t = pa.table({"age": ["30-39", "30-39", "40-49"], "zip": ["101", "101", "102"]})
>>> k_anonymity(t, quasi_identifiers=["age", "zip"])
1
>>> kept, report = ensure_k_anonymity(t, quasi_identifiers=["age", "zip"], k=2)
>>> kept.num_rows, report.rows_suppressed, report.k_achieved
(2, 1, 2)
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopkit_privacy import tables
from loopkit_privacy._kernels import grouping as _g
from loopkit_privacy._validate import (
    check_bool,
    check_finite,
    check_positive,
    check_positive_int,
)
from loopkit_privacy.errors import ColumnTypeError, InvalidParameterError

__all__ = [
    "KAnonymityResult",
    "SuppressionReport",
    "ensure_k_anonymity",
    "filter_groups",
    "generalize_dates",
    "generalize_numbers",
    "generalize_rare",
    "k_anonymity",
    "l_diversity",
    "top_code",
]

#: Name of the size column of :attr:`SuppressionReport.suppressed`.
CLASS_SIZE = "class_size"

#: The attribute under which aggregations keep their privacy information on
#: polars frames (see ``aggregate.privacy_info``); :func:`filter_groups` carries
#: it over, since filtering a noisy output is post-processing.
_PRIVACY_ATTR = tables.INFO_ATTR

#: The range of the int64 bounds :func:`top_code` clamps integer columns with.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

#: Periods accepted by :func:`generalize_dates`.
_PERIODS = ("day", "week", "month", "quarter", "year")

# Classes are numbered by mixed radix (one digit per quasi-identifier) when the
# product of the cardinalities stays below this many slots per row (or 2**16);
# beyond that the codes are re-factorised pairwise into dense codes.
_RADIX_SLOTS_PER_ROW = 4


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def _names(value: Any, parameter: str) -> list[str]:
    """Column names from a str or an iterable of str (duplicates dropped)."""
    if isinstance(value, str):
        names = [value]
    else:
        try:
            names = list(value)
        except TypeError:
            raise InvalidParameterError(
                f"`{parameter}` must be a column name or a list of column names, "
                f"got {value!r}; pass e.g. {parameter}=['age_band', 'region']",
                parameter=parameter,
                value=value,
            ) from None
    if not names:
        raise InvalidParameterError(
            f"`{parameter}` must name at least one column, got an empty list; "
            f"pass e.g. {parameter}=['age_band', 'region']",
            parameter=parameter,
            value=value,
        )
    for name in names:
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"`{parameter}` must contain column names (strings), got {name!r}",
                parameter=parameter,
                value=value,
            )
    return list(dict.fromkeys(names))


def _column_name(value: Any, parameter: str = "column") -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(
            f"`{parameter}` must be a column name (a string), got {value!r}",
            parameter=parameter,
            value=value,
        )
    return value


def _output_name(output: Any, column: str) -> str:
    if output is None:
        return column
    return _column_name(output, "output")


def _target(table: Any, column: Any, output: Any) -> tuple[str, str]:
    """Check a generaliser's table family and names: (column, output column)."""
    tables.family_of(table)
    name = _column_name(column)
    return name, _output_name(output, name)


def _read_one(table: Any, name: str) -> tuple[Any, tables.Family, pa.Table]:
    """The eager frame, its family and the one column ``name`` read as Arrow."""
    frame, family = tables.eager(table, [name])
    return frame, family, tables.read_columns(frame, [name])


def _check_k(k: Any, parameter: str = "k") -> int:
    return check_positive_int(k, parameter, example="5")


_check_bool = check_bool


# ---------------------------------------------------------------------------
# Equivalence classes
# ---------------------------------------------------------------------------


def _column_codes(data: pa.Table, name: str) -> tuple[np.ndarray, int]:
    """Dense int64 codes of one column (a null is its own value) and their number."""
    try:
        g = tables.group_codes(data, [name])
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        raise ColumnTypeError(
            f"column {name!r} has Arrow type {data.column(name).type}, whose values "
            "cannot be grouped; convert it to strings or numbers first (e.g. join a "
            "list into one string) or leave it out",
            column=name,
        ) from err
    return g.codes, g.n_groups


def _combine(
    parts: list[tuple[np.ndarray, int]], n_rows: int
) -> tuple[np.ndarray, int]:
    """Codes of the tuple of per-column codes, and the number of slots.

    When the product of the cardinalities is small the code is the mixed-radix
    number of the digits (some slots may be empty); otherwise the pairs are
    re-factorised into dense codes as they are combined.
    """
    codes, slots = parts[0]
    if len(parts) == 1:
        return codes, slots
    product = math.prod(m for _, m in parts)
    if product <= max(_RADIX_SLOTS_PER_ROW * n_rows, 1 << 16):
        out = codes.astype(np.int64, copy=True)
        for c, m in parts[1:]:
            out *= np.int64(m)
            out += c
        return out, product
    for c, m in parts[1:]:
        combined = np.empty(n_rows, dtype=np.int64)
        _g.combine_codes(codes, c, np.int64(m), combined)
        codes = np.empty(n_rows, dtype=np.int64)
        first = np.empty(n_rows, dtype=np.int64)
        slots = int(_g.factorize_int64_first(combined, codes, first))
    return codes, slots


def _class_codes(data: pa.Table, names: list[str]) -> tuple[np.ndarray, int]:
    """Equivalence-class codes of each row over the ``names`` columns."""
    parts = [_column_codes(data, name) for name in names]
    return _combine(parts, data.num_rows)


def _smallest(counts: np.ndarray) -> int:
    """Size of the smallest non-empty class; 0 when there is none."""
    present = counts[counts > 0]
    return int(present.min()) if present.size else 0


def _sorted_by_keys(table: pa.Table, names: list[str]) -> pa.Table:
    """``table`` sorted by the ``names`` columns (nulls last).

    Dictionary columns are sorted by their values; a column type Arrow cannot
    sort leaves the table in class order.
    """
    keys = {}
    for name in names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        keys[name] = column
    try:
        order = pc.sort_indices(
            pa.table(keys), sort_keys=[(name, "ascending") for name in names]
        )
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return table
    return table.take(order)


def _unique_name(base: str, taken: list[str]) -> str:
    name = base
    while name in taken:
        name += "_"
    return name


# ---------------------------------------------------------------------------
# k-anonymity
# ---------------------------------------------------------------------------


def k_anonymity(table: Any, *, quasi_identifiers: str | Sequence[str]) -> int:
    """The k a table achieves: the size of its smallest equivalence class.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        Record-level data (one row per record).
    quasi_identifiers : str or list of str
        The columns that define the equivalence classes. A null is a value of
        its own: rows with a null in the same column (and equal other values)
        are in the same class.

    Returns
    -------
    int
        The number of rows in the smallest class, so the table is
        k-anonymous for every k up to this value. An empty table has no
        class and gives ``0``.

    Raises
    ------
    InvalidParameterError
        If ``quasi_identifiers`` is empty or not column names.
    ColumnNotFoundError
        If a quasi-identifier is not in the table (the message lists the
        available columns).

    Notes
    -----
    k-anonymity is not differential privacy; see the module documentation.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"age": ["20-29", "20-29", "30-39", None, None],
    ...                    "plan": ["free", "free", "pro", "pro", "pro"]})
    >>> k_anonymity(df, quasi_identifiers=["age", "plan"])
    1
    >>> k_anonymity(df, quasi_identifiers="plan")
    2
    """
    tables.family_of(table)
    qis = _names(quasi_identifiers, "quasi_identifiers")
    data, _ = tables.as_arrow(table, qis)
    if data.num_rows == 0:
        return 0
    codes, slots = _class_codes(data, qis)
    return _smallest(np.bincount(codes, minlength=slots))


@dataclass(frozen=True, eq=False)
class SuppressionReport:
    """What :func:`ensure_k_anonymity` suppressed.

    Attributes
    ----------
    k : int
        The k that was asked for.
    quasi_identifiers : tuple of str
        The columns that define the equivalence classes.
    rows_in, rows_kept, rows_suppressed : int
        Rows of the input, of the output, and removed.
    classes_in, classes_kept, classes_suppressed : int
        Equivalence classes of the input, of the output, and removed.
    k_input : int
        The k the input achieved (``0`` for an empty input).
    k_achieved : int
        The k the output achieves: ``>= k`` unless the output is empty, in
        which case it has no class and this is ``0`` (an empty output
        releases nothing).
    suppressed : table
        The suppressed classes: their quasi-identifier values and their sizes
        (column ``class_size``, or ``class_size_`` if a quasi-identifier is
        already called so), sorted by the quasi-identifier values, nulls
        last. Same family as the input (a polars DataFrame for a LazyFrame).
        This table lists rare combinations of the *true* data: it is for the
        data owner, not for release.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"zip": ["10", "10", "20"]})
    >>> report = ensure_k_anonymity(t, quasi_identifiers="zip", k=2).report
    >>> report.classes_suppressed, report.suppressed.to_pylist()
    (1, [{'zip': '20', 'class_size': 1}])
    """

    k: int
    quasi_identifiers: tuple[str, ...]
    rows_in: int
    rows_kept: int
    rows_suppressed: int
    classes_in: int
    classes_kept: int
    classes_suppressed: int
    k_input: int
    k_achieved: int
    suppressed: Any = field(repr=False)

    @property
    def suppression_rate(self) -> float:
        """Share of the input rows that were suppressed (0.0 for an empty input).

        Examples
        --------
        >>> import pyarrow as pa
        >>> t = pa.table({"zip": ["10", "10", "20", "30"]})
        >>> report = ensure_k_anonymity(t, quasi_identifiers="zip", k=2).report
        >>> report.rows_suppressed, report.suppression_rate
        (2, 0.5)
        """
        return self.rows_suppressed / self.rows_in if self.rows_in else 0.0


class KAnonymityResult(NamedTuple):
    """The k-anonymous table and the report of what was suppressed.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"zip": ["10", "10", "20"], "age": [30, 30, 40]})
    >>> table, report = ensure_k_anonymity(t, quasi_identifiers=["zip", "age"], k=2)
    >>> table.num_rows, report.rows_suppressed
    (2, 1)
    """

    table: Any
    report: SuppressionReport


def ensure_k_anonymity(
    table: Any, *, quasi_identifiers: str | Sequence[str], k: int = 5
) -> KAnonymityResult:
    """Suppress every record of an equivalence class smaller than ``k``.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        Record-level data (one row per record).
    quasi_identifiers : str or list of str
        The columns that define the equivalence classes (a null is a value of
        its own).
    k : int, default 5
        The smallest class size to keep (an integer >= 1).

    Returns
    -------
    KAnonymityResult
        ``table``: the input without the rows of small classes, same family,
        all columns untouched and the kept rows in their original order (a
        pandas result keeps its index); ``report``: a
        :class:`SuppressionReport`.

    Raises
    ------
    InvalidParameterError
        If ``k`` is not an integer >= 1 (``parameter == "k"``) or
        ``quasi_identifiers`` is empty.
    ColumnNotFoundError
        If a quasi-identifier is not in the table.

    Notes
    -----
    Not differential privacy: which rows survive depends on the other rows,
    and the output is only k-anonymous with respect to the columns listed.
    Suppression removes records; generalising the quasi-identifiers first
    (:func:`generalize_dates`, :func:`generalize_numbers`,
    :func:`generalize_rare`) usually keeps more of them.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"age": ["20-29", "20-29", "30-39", "20-29"],
    ...               "region": ["north", "north", "south", "north"],
    ...               "minutes": [3, 5, 8, 13]})
    >>> kept, report = ensure_k_anonymity(t, quasi_identifiers=["age", "region"], k=2)
    >>> kept.column("minutes").to_pylist()
    [3, 5, 13]
    >>> report
    SuppressionReport(k=2, quasi_identifiers=('age', 'region'), rows_in=4, rows_kept=3, rows_suppressed=1, classes_in=2, classes_kept=1, classes_suppressed=1, k_input=1, k_achieved=3)
    >>> report.suppressed.to_pylist()
    [{'age': '30-39', 'region': 'south', 'class_size': 1}]
    """
    tables.family_of(table)
    qis = _names(quasi_identifiers, "quasi_identifiers")
    k = _check_k(k)
    frame, family = tables.eager(table, qis)
    data = tables.read_columns(frame, qis)
    n = data.num_rows
    codes, slots = _class_codes(data, qis)
    counts = np.bincount(codes, minlength=slots)
    present = counts > 0
    small = present & (counts < k)
    keep = ~small[codes]
    rows_kept = int(np.count_nonzero(keep))

    if rows_kept == n and family != "pandas":
        out = tables.restore(frame, family)
    else:
        out = tables.filter_rows(frame, family, keep)

    # One row of each suppressed class gives its key; classes come out in
    # slot order, which is the order of ``small_slots``.
    dropped_rows = np.flatnonzero(~keep)
    small_slots, first = np.unique(codes[dropped_rows], return_index=True)
    size_name = _unique_name(CLASS_SIZE, qis)
    suppressed = data.take(pa.array(dropped_rows[first], type=pa.int64()))
    suppressed = _sorted_by_keys(
        suppressed.append_column(
            size_name, pa.array(counts[small_slots], type=pa.int64())
        ),
        qis,
    )

    kept_sizes = counts[present & ~small]
    n_classes = int(np.count_nonzero(present))
    report = SuppressionReport(
        k=k,
        quasi_identifiers=tuple(qis),
        rows_in=n,
        rows_kept=rows_kept,
        rows_suppressed=n - rows_kept,
        classes_in=n_classes,
        classes_kept=int(kept_sizes.size),
        classes_suppressed=int(small_slots.size),
        k_input=_smallest(counts),
        k_achieved=int(kept_sizes.min()) if kept_sizes.size else 0,
        suppressed=tables.from_arrow(
            suppressed, "polars" if family == "polars_lazy" else family
        ),
    )
    return KAnonymityResult(out, report)


def filter_groups(groups: Any, *, count: str = "count", k: int = 5) -> Any:
    """Keep the rows of an aggregated table whose ``count`` is at least ``k``.

    This is the seed's ``ensureKAnonymity(dataSet, k)``, i.e.
    ``dataSet.filter(g => g.count >= k)``, on a table that already has one
    row per group.

    Parameters
    ----------
    groups : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        One row per group with a numeric ``count`` column.
    count : str, default "count"
        The column holding the group sizes.
    k : int, default 5
        The smallest count kept (an integer >= 1). Rows whose count is null
        or NaN are dropped.

    Returns
    -------
    Same family as ``groups``
        The rows with ``count >= k``, in their original order. The privacy
        information of an ``aggregate_*`` result (``privacy_info``) is kept.
        A LazyFrame stays lazy (the filter is added to its plan).

    Raises
    ------
    InvalidParameterError
        If ``k`` is not an integer >= 1.
    ColumnNotFoundError
        If ``count`` is not a column.
    ColumnTypeError
        If ``count`` is not numeric, or ``groups`` is not a table.

    Notes
    -----
    On **true** counts this is not differential privacy: whether a group
    appears reveals whether its true count reached ``k``, and a group just
    below ``k`` can be exposed by comparing two releases. Applied to the
    **noisy** output of ``aggregate_count`` it is post-processing: it costs
    no privacy budget and keeps the release's guarantee.

    Examples
    --------
    >>> import pyarrow as pa
    >>> counts = pa.table({"page": ["/home", "/docs", "/admin"], "count": [120, 14, 3]})
    >>> filter_groups(counts, k=10).column("page").to_pylist()
    ['/home', '/docs']
    """
    family = tables.family_of(groups, "groups")
    name = _column_name(count, "count")
    k = _check_k(k)
    if family == "polars_lazy":
        import polars as pl

        schema = groups.collect_schema()
        if name not in schema.names():
            tables.as_arrow(groups, [name])  # raises ColumnNotFoundError
        dtype = schema[name]
        if not dtype.is_numeric():
            _refuse_count_type(name, str(dtype))
        col = pl.col(name).fill_nan(None) if dtype.is_float() else pl.col(name)
        out = groups.filter(col >= k)
    else:
        data = tables.read_columns(groups, [name])
        column = data.column(name)
        typ = column.type
        if not (
            pa.types.is_integer(typ)
            or pa.types.is_floating(typ)
            or pa.types.is_decimal(typ)
        ):
            _refuse_count_type(name, str(typ))
        mask = pc.fill_null(pc.greater_equal(column, pa.scalar(k)), False)
        keep = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
        out = tables.filter_rows(groups, family, keep)
    info = getattr(groups, _PRIVACY_ATTR, None)
    if info is not None and family in ("polars", "polars_lazy"):
        object.__setattr__(out, _PRIVACY_ATTR, info)
    return out


def _refuse_count_type(name: str, typ: str) -> None:
    raise ColumnTypeError(
        f"count column {name!r} must be numeric, got {typ}; pass the column that "
        "holds the group sizes with count=..., or cast it to an integer",
        column=name,
    )


# ---------------------------------------------------------------------------
# l-diversity
# ---------------------------------------------------------------------------


def l_diversity(
    table: Any,
    *,
    quasi_identifiers: str | Sequence[str],
    sensitive: str | Sequence[str],
    entropy: bool = False,
) -> int | float:
    """The l-diversity of sensitive column(s) within the equivalence classes.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        Record-level data.
    quasi_identifiers : str or list of str
        The columns that define the equivalence classes (a null is a value of
        its own).
    sensitive : str or list of str
        The sensitive column(s). A null is a value of its own here too. With
        several columns the result is the minimum over them.
    entropy : bool, default False
        ``False``: distinct l-diversity, the smallest number of distinct
        sensitive values in a class (an ``int``). ``True``: entropy
        l-diversity, ``exp(min over classes of H)`` where ``H = -Σ p log p``
        is the entropy of the sensitive values within a class (a ``float``
        >= 1; some tools report its integer part).

    Returns
    -------
    int or float
        ``0`` (or ``0.0``) for an empty table, which has no class.

    Raises
    ------
    InvalidParameterError
        If ``quasi_identifiers`` or ``sensitive`` is empty, a sensitive column
        is also a quasi-identifier, or ``entropy`` is not a bool.
    ColumnNotFoundError
        If a column is not in the table.

    Notes
    -----
    l-diversity answers the homogeneity attack on k-anonymity (a class whose
    records all share the sensitive value discloses it), not the
    background-knowledge or linkage attacks; it is not differential privacy.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"zip": ["101", "101", "101", "102", "102"],
    ...               "diagnosis": ["flu", "cold", "flu", "flu", "flu"]})
    >>> l_diversity(t, quasi_identifiers="zip", sensitive="diagnosis")
    1
    >>> t2 = pa.table({"zip": ["101", "101", "102", "102"],
    ...                "diagnosis": ["flu", "cold", "flu", "asthma"]})
    >>> l_diversity(t2, quasi_identifiers="zip", sensitive="diagnosis", entropy=True)
    2.0
    """
    tables.family_of(table)
    qis = _names(quasi_identifiers, "quasi_identifiers")
    sens = _names(sensitive, "sensitive")
    entropy = _check_bool(entropy, "entropy")
    overlap = [name for name in sens if name in qis]
    if overlap:
        raise InvalidParameterError(
            f"`sensitive` must not repeat a quasi-identifier, got {overlap[0]!r} in "
            "both; a sensitive column that defines the classes has one value per "
            "class. Pass sensitive=<another column>, or leave it out of "
            "quasi_identifiers",
            parameter="sensitive",
            value=sensitive,
        )
    data, _ = tables.as_arrow(table, qis + sens)
    n = data.num_rows
    if n == 0:
        return 0.0 if entropy else 0
    classes, n_classes = _class_codes(data, qis)
    sizes = np.bincount(classes, minlength=n_classes)
    present = sizes > 0
    best: float = math.inf
    for name in sens:
        pairs, n_pairs = _combine([(classes, n_classes), _column_codes(data, name)], n)
        pair_counts = np.bincount(pairs, minlength=n_pairs)
        class_of_pair = np.zeros(n_pairs, dtype=np.int64)
        class_of_pair[pairs] = classes
        used = np.flatnonzero(pair_counts)
        owner = class_of_pair[used]
        if entropy:
            p = pair_counts[used] / sizes[owner]
            h = -np.bincount(owner, weights=p * np.log(p), minlength=n_classes)
            value = float(np.exp(max(float(h[present].min()), 0.0)))
        else:
            distinct = np.bincount(owner, minlength=n_classes)
            value = int(distinct[present].min())
        best = min(best, value)
    return float(best) if entropy else int(best)


# ---------------------------------------------------------------------------
# Generalisation
# ---------------------------------------------------------------------------


def _refuse_type(column: str, typ: pa.DataType, wanted: str, hint: str) -> None:
    raise ColumnTypeError(
        f"column {column!r} must be {wanted}, got Arrow type {typ}; {hint}",
        column=column,
    )


def generalize_dates(
    table: Any,
    *,
    column: str,
    to: Literal["day", "week", "month", "quarter", "year"] = "month",
    output: str | None = None,
) -> Any:
    """Replace dates or timestamps by the first day of their period.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The data.
    column : str
        A date or timestamp column. Timestamps with a time zone are taken in
        that zone's local time.
    to : {"week", "month", "quarter", "year", "day"}, default "month"
        The period. Weeks start on Monday (ISO 8601); quarters on 1 January,
        1 April, 1 July and 1 October; ``"day"`` drops the time of day.
    output : str, optional
        Write the result to this column (replaced if it exists, else
        appended) instead of replacing ``column``.

    Returns
    -------
    Same family as ``table``
        With the period start as a date (Arrow ``date32``; polars ``Date``;
        ``datetime.date`` objects in pandas). Nulls stay null.

    Raises
    ------
    ColumnTypeError
        If ``column`` is not a date or timestamp column.
    InvalidParameterError
        If ``to`` is not one of the periods.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> df = pl.DataFrame({"signup": [dt.date(2024, 3, 14), dt.date(2024, 5, 2), None]})
    >>> generalize_dates(df, column="signup", to="quarter")["signup"].to_list()
    [datetime.date(2024, 1, 1), datetime.date(2024, 4, 1), None]
    >>> generalize_dates(df, column="signup", to="week")["signup"].to_list()[0]
    datetime.date(2024, 3, 11)
    """
    name, out_name = _target(table, column, output)
    if to not in _PERIODS:
        raise InvalidParameterError(
            f"`to` must be one of {', '.join(map(repr, _PERIODS))}, got {to!r}; "
            "pass e.g. to='month'",
            parameter="to",
            value=to,
        )
    frame, family, data = _read_one(table, name)
    values = data.column(name)
    typ = values.type
    if not (
        pa.types.is_timestamp(typ) or pa.types.is_date32(typ) or pa.types.is_date64(typ)
    ):
        _refuse_type(
            name,
            typ,
            "a date or timestamp column",
            "parse it first (polars: pl.col(...).str.to_date(); pandas: "
            "pd.to_datetime(...))",
        )
    days = values.cast(pa.date32())
    if to != "day":
        days = pc.floor_temporal(days, unit=to, week_starts_monday=True)
    return tables.set_column(frame, family, out_name, days)


def _is_integral(value: Any) -> bool:
    return isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer()
    )


def _fmt(x: float) -> str:
    """A bin edge as text: integers without a decimal point, others to 12 digits."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    # 12 significant digits hide the rounding of origin + i * width (0.1 * 3).
    return format(float(x), ".12g")


def _numeric_input(data: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Values (int64 for integer columns, else float64), validity, is-integer."""
    col = data.column(name)
    typ = col.type
    if pa.types.is_integer(typ):
        valid = np.asarray(pc.is_valid(col), dtype=bool).reshape(-1)
        filled = col.fill_null(0) if col.null_count else col
        values = np.asarray(filled.to_numpy(), dtype=np.int64).reshape(-1)
        return values, valid, True
    if not (pa.types.is_floating(typ) or pa.types.is_decimal(typ)):
        _refuse_type(name, typ, "numeric", "cast it to a number first")
    values, maybe_valid = tables.numeric_column(data, name)
    if maybe_valid is None:
        return values, np.ones(values.shape[0], dtype=bool), False
    return values, maybe_valid, False


def _dense_bins(bins: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row among the distinct bins used, and those bins (sorted)."""
    used = bins[valid]
    if used.size == 0:
        return np.zeros(bins.shape[0], dtype=np.int64), np.empty(0, dtype=np.int64)
    lo, hi = int(used.min()), int(used.max())
    span = hi - lo + 1
    if span <= max(_RADIX_SLOTS_PER_ROW * bins.shape[0], 1 << 16):
        seen = np.bincount(used - lo, minlength=span) > 0
        distinct = np.flatnonzero(seen).astype(np.int64) + lo
        position = np.cumsum(seen) - 1
        index = np.where(valid, position[np.clip(bins - lo, 0, span - 1)], 0)
        return index.astype(np.int64), distinct
    distinct, inverse = np.unique(used, return_inverse=True)
    index = np.zeros(bins.shape[0], dtype=np.int64)
    index[valid] = inverse
    return index, distinct.astype(np.int64)


def generalize_numbers(
    table: Any,
    *,
    column: str,
    width: float | None = None,
    edges: Sequence[float] | None = None,
    origin: float = 0,
    label: Literal["interval", "lower"] = "interval",
    output: str | None = None,
) -> Any:
    """Replace numbers by the bin they fall in.

    Give either ``width`` (equal bins ``[origin + i·width, origin + (i+1)·width)``)
    or ``edges`` (bins between consecutive edges, plus an open bin below the
    first edge and one from the last edge up). Bins are closed on the left and
    open on the right.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The data.
    column : str
        An integer, floating-point or decimal column. NaN and ±inf are
        refused (nulls stay null).
    width : float, optional
        Width of equal bins (> 0).
    edges : sequence of float, optional
        Strictly increasing finite bin edges (at least one).
    origin : float, default 0
        Where the equal bins start (with ``width`` only).
    label : {"interval", "lower"}, default "interval"
        ``"interval"``: a string label such as ``"[10, 20)"``, ``"(-inf, 18)"``
        or ``"[65, inf)"``. ``"lower"``: the bin's lower edge as a number — an
        integer for an integer column with an integral ``width`` and
        ``origin``, else a float (``-inf`` for the bin below the first edge).
    output : str, optional
        Write the result to this column instead of replacing ``column``.

    Returns
    -------
    Same family as ``table``

    Raises
    ------
    InvalidParameterError
        If not exactly one of ``width`` and ``edges`` is given, or either is
        invalid.
    ColumnTypeError
        If ``column`` is not numeric.
    NonFiniteValueError
        If a float column holds NaN or ±inf.

    Notes
    -----
    With a float column or a fractional ``width`` the bin of a value is found
    in floating point, so a value exactly on an edge that is not exactly
    representable (such as 0.3 with width 0.1) may fall in the bin below.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"age": [17, 23, 38, 71, None]})
    >>> generalize_numbers(t, column="age", width=10).column("age").to_pylist()
    ['[10, 20)', '[20, 30)', '[30, 40)', '[70, 80)', None]
    >>> out = generalize_numbers(t, column="age", edges=[18, 25, 65], output="band")
    >>> out.column("band").to_pylist()
    ['(-inf, 18)', '[18, 25)', '[25, 65)', '[65, inf)', None]
    >>> generalize_numbers(t, column="age", width=10, label="lower").column("age").to_pylist()
    [10, 20, 30, 70, None]
    """
    name, out_name = _target(table, column, output)
    if (width is None) == (edges is None):
        raise InvalidParameterError(
            "give exactly one of `width` (equal bins) and `edges` (bin edges); "
            f"got width={width!r}, edges={edges!r}",
            parameter="width" if width is not None else "edges",
            value=width if width is not None else edges,
        )
    if label not in ("interval", "lower"):
        raise InvalidParameterError(
            f"`label` must be 'interval' or 'lower', got {label!r}",
            parameter="label",
            value=label,
        )
    edge_array: np.ndarray | None = None
    if width is not None:
        w = check_positive(width, "width", example="10")
        o = check_finite(origin, "origin", example="0")
    else:
        edge_array = _check_edges(edges)
    frame, family, data = _read_one(table, name)
    values, valid, is_int = _numeric_input(data, name)
    mask = None if valid.all() else ~valid

    if edge_array is not None:
        bins = np.searchsorted(edge_array, values, side="right").astype(np.int64)
        bounds = np.concatenate([[-np.inf], edge_array, [np.inf]])
        if label == "lower":
            result = pa.array(bounds[bins], type=pa.float64(), mask=mask)
            return tables.set_column(frame, family, out_name, result)
        index, distinct = _dense_bins(bins, valid)
        labels = [
            f"{'(' if b == 0 else '['}{_fmt(bounds[b])}, {_fmt(bounds[b + 1])})"
            for b in distinct.tolist()
        ]
    else:
        integral = is_int and _is_integral(width) and _is_integral(origin)
        if integral:
            wi, oi = int(w), int(o)
            bins = (values - np.int64(oi)) // np.int64(wi)
        else:
            with np.errstate(over="ignore"):
                q = np.floor((values.astype(np.float64) - o) / w)
            if q.size and np.abs(q[valid]).max(initial=0.0) >= 2.0**53:
                raise InvalidParameterError(
                    f"`width`={width!r} is too small for the values of {name!r} "
                    "(more than 2**53 bins from `origin`); use a larger width",
                    parameter="width",
                    value=width,
                )
            bins = q.astype(np.int64)
        if label == "lower":
            if integral:
                lower = np.int64(oi) + bins * np.int64(wi)
                result = pa.array(lower, type=pa.int64(), mask=mask)
            else:
                result = pa.array(o + bins * w, type=pa.float64(), mask=mask)
            return tables.set_column(frame, family, out_name, result)
        index, distinct = _dense_bins(bins, valid)
        if integral:
            starts = [oi + b * wi for b in distinct.tolist()]
            labels = [f"[{_fmt(s)}, {_fmt(s + wi)})" for s in starts]
        else:
            starts_f = [o + b * w for b in distinct.tolist()]
            labels = [f"[{_fmt(s)}, {_fmt(s + w)})" for s in starts_f]
    indices = pa.array(index, type=pa.int64(), mask=mask)
    result = pa.array(labels, type=pa.string()).take(indices)
    return tables.set_column(frame, family, out_name, result)


def _check_edges(edges: Any) -> np.ndarray:
    try:
        items = list(edges)
    except TypeError:
        items = None
    ok = bool(items) and all(
        not isinstance(e, bool)
        and isinstance(e, numbers.Real)
        and math.isfinite(float(e))
        for e in items  # type: ignore[union-attr]
    )
    array = np.asarray(items, dtype=np.float64) if ok else np.empty(0)
    if not ok or not np.all(np.diff(array) > 0):
        raise InvalidParameterError(
            "`edges` must be a non-empty list of finite numbers in strictly "
            f"increasing order, got {edges!r}; pass e.g. edges=[18, 25, 35, 50, 65]",
            parameter="edges",
            value=edges,
        )
    return array


def top_code(
    table: Any,
    *,
    column: str,
    upper: float | None = None,
    lower: float | None = None,
    output: str | None = None,
) -> Any:
    """Clamp a numeric column: values above ``upper`` become ``upper`` (top-coding).

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The data.
    column : str
        An integer or floating-point column. Nulls and NaN are left as they
        are.
    upper : float, optional
        The largest value kept.
    lower : float, optional
        The smallest value kept (bottom-coding). At least one of ``upper``
        and ``lower`` is needed; with both, ``lower <= upper``. For an
        integer column they must be integers.
    output : str, optional
        Write the result to this column instead of replacing ``column``.

    Returns
    -------
    Same family as ``table``
        The column keeps its type.

    Raises
    ------
    InvalidParameterError
        For missing, non-finite or inconsistent bounds, or a bound that does
        not fit the column's integer type.
    ColumnTypeError
        If ``column`` is not an integer or floating-point column.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sessions": [1, 7, 250, 40]})
    >>> top_code(df, column="sessions", upper=50)["sessions"].tolist()
    [1, 7, 50, 40]
    >>> top_code(df, column="sessions", upper=50, lower=5)["sessions"].tolist()
    [5, 7, 50, 40]
    """
    name, out_name = _target(table, column, output)
    if upper is None and lower is None:
        raise InvalidParameterError(
            "give `upper` (and/or `lower`), the value(s) to clamp to; pass e.g. upper=100",
            parameter="upper",
            value=None,
        )
    hi = None if upper is None else check_finite(upper, "upper", example="100")
    lo = None if lower is None else check_finite(lower, "lower", example="0")
    if hi is not None and lo is not None and lo > hi:
        raise InvalidParameterError(
            f"`lower` must not exceed `upper`, got lower={lower!r}, upper={upper!r}",
            parameter="lower",
            value=lower,
        )
    frame, family, data = _read_one(table, name)
    values = data.column(name)
    typ = values.type
    is_int = pa.types.is_integer(typ)
    if not (is_int or pa.types.is_floating(typ)):
        _refuse_type(
            name,
            typ,
            "an integer or floating-point column",
            "cast it to a number first",
        )
    clamped = values
    for bound, raw, parameter, op in (
        (hi, upper, "upper", pc.min_element_wise),
        (lo, lower, "lower", pc.max_element_wise),
    ):
        if bound is None:
            continue
        if is_int:
            if not _is_integral(raw):
                raise InvalidParameterError(
                    f"`{parameter}`={raw!r} is not an integer but column {name!r} "
                    f"holds integers ({typ}); pass an integer or cast the column "
                    "to float first",
                    parameter=parameter,
                    value=raw,
                )
            as_int = int(bound)
            if not _INT64_MIN <= as_int <= _INT64_MAX:
                raise InvalidParameterError(
                    f"`{parameter}`={raw!r} is outside the 64-bit integer range, so "
                    f"it cannot bound the integer column {name!r} ({typ}); pass a "
                    f"bound between -2**63 and 2**63 - 1, or cast the column to "
                    "float first",
                    parameter=parameter,
                    value=raw,
                )
            scalar = pa.scalar(as_int, type=pa.int64())
        else:
            scalar = pa.scalar(bound, type=pa.float64())
        clamped = op(clamped, scalar, skip_nulls=False)
    try:
        clamped = clamped.cast(typ)
    except (pa.ArrowInvalid, OverflowError) as err:
        raise InvalidParameterError(
            f"the bounds (upper={upper!r}, lower={lower!r}) do not fit column "
            f"{name!r} of type {typ}; pass bounds within its range",
            parameter="upper" if upper is not None else "lower",
            value=upper if upper is not None else lower,
        ) from err
    if pa.types.is_floating(typ):
        clamped = pc.if_else(pc.is_nan(values), values, clamped)
    return tables.set_column(frame, family, out_name, clamped, source=name)


def generalize_rare(
    table: Any,
    *,
    column: str,
    min_count: int = 5,
    other: Any = "other",
    output: str | None = None,
) -> Any:
    """Replace the categories with fewer than ``min_count`` rows by ``other``.

    Parameters
    ----------
    table : pyarrow.Table, polars.DataFrame/LazyFrame or pandas.DataFrame
        The data.
    column : str
        A categorical column (strings, categoricals, integers, ...). A null
        is a category of its own: if there are fewer than ``min_count`` nulls
        they become ``other`` too.
    min_count : int, default 5
        The smallest number of rows a category needs to be kept.
    other : default "other"
        The replacement; it must fit the column's type (for an integer
        column pass an integer, or cast the column to string first).
    output : str, optional
        Write the result to this column instead of replacing ``column``.

    Returns
    -------
    Same family as ``table``
        Categorical (dictionary) columns stay categorical where the type
        allows.

    Raises
    ------
    InvalidParameterError
        If ``min_count`` is not an integer >= 1 or ``other`` does not fit the
        column's type.
    ColumnTypeError
        If ``column`` is nested (a list, struct or map), which has no
        categories.

    Notes
    -----
    Which categories are merged depends on the data (on true counts), so this
    is not differential privacy, and the ``other`` group may itself be small,
    or coincide with an existing category of that name (they merge). Check the
    result with :func:`k_anonymity`. For a release, prefer a public list of
    categories or DP partition selection.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"browser": ["chrome"] * 3 + ["firefox"] * 2 + ["lynx"]})
    >>> generalize_rare(df, column="browser", min_count=2)["browser"].to_list()
    ['chrome', 'chrome', 'chrome', 'firefox', 'firefox', 'other']
    """
    name, out_name = _target(table, column, output)
    min_count = check_positive_int(min_count, "min_count", example="5")
    frame, family, data = _read_one(table, name)
    # Nested columns (lists, structs, maps) have no categories: refused from
    # the schema, before ``other`` is matched to the type.
    tables.check_key_column(data, name, role="category")
    values = data.column(name)
    original = values.type
    if pa.types.is_dictionary(original):
        values = values.cast(original.value_type)
    if pa.types.is_null(values.type):  # all null and untyped: take other's type
        values = values.cast(pa.scalar(other).type)
    try:
        replacement = pa.scalar(other).cast(values.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        raise InvalidParameterError(
            f"`other`={other!r} cannot be stored in column {name!r} of type "
            f"{values.type}; pass a value of that type or cast the column to "
            "string first",
            parameter="other",
            value=other,
        ) from err
    codes, n_codes = _column_codes(data, name)
    counts = np.bincount(codes, minlength=n_codes)
    rare_rows = counts[codes] < min_count
    result = pc.if_else(pa.array(rare_rows, type=pa.bool_()), replacement, values)
    if pa.types.is_dictionary(original):
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
            result = result.cast(original)
    return tables.set_column(frame, family, out_name, result, source=name)
