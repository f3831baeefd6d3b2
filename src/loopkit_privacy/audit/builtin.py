"""The built-in audit: every mechanism and aggregation on fixed neighbouring inputs.

:func:`builtin_cases` lists one :class:`AuditCase` per mechanism and per
aggregation (with public groups and with partition selection), and
:func:`run_audit` runs them and returns an :class:`AuditReport` that renders
as Markdown or JSON. ``loopkit-privacy audit`` is the command-line face.

The inputs are synthetic and deterministic: a table of 300 users over five
pages, and the same table plus one heavy user (2,000 rows, extreme values,
and for partition selection a page that only this user visits), appended at
the end so that every other user keeps its rows and codes.

False failures. Each case fails wrongly with probability at most
``1 - confidence`` (1e-6 by default), so a whole run of ``k`` cases fails
wrongly with probability at most ``k · 1e-6`` (union bound).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from loopkit_privacy import aggregate, mechanisms, quantiles
from loopkit_privacy._typing import AnyArray
from loopkit_privacy._validate import check_delta, check_level, check_positive_int
from loopkit_privacy.audit._args import (
    check_bool,
    check_callable,
    check_nonnegative,
    check_optional_bool,
    check_optional_callable,
    check_optional_positive_int,
    check_str,
    check_trials,
)
from loopkit_privacy.audit.auditor import (
    DEFAULT_CONFIDENCE,
    AuditResult,
    estimate_epsilon,
)
from loopkit_privacy.audit.trials import (
    aggregation_trials,
    cohort_trials,
    funnel_trials,
)
from loopkit_privacy.errors import InvalidParameterError

__all__ = [
    "AuditCase",
    "AuditReport",
    "builtin_cases",
    "neighbouring_tables",
    "run_audit",
]

#: Trials per input of a call-per-trial case (``add_noise``): it runs one
#: release per call, about 3,000 calls a second.
PLAIN_TRIALS = 10_000
_HEAVY_ROWS = 2000


@dataclass(frozen=True)
class AuditCase:
    """One audit: a randomised function, two neighbouring inputs and the claim.

    Attributes
    ----------
    name : str
        Shown in reports.
    fn : callable
        ``fn(data, n)`` (vectorised) or ``fn(data)``; see
        :func:`~loopkit_privacy.audit.estimate_epsilon`.
    d0, d1 : object
        The neighbouring inputs.
    epsilon, delta : float
        The claimed guarantee: ε finite and >= 0, δ in [0, 1).
    description : str
        What is audited and how the inputs differ.
    vectorized : bool or None
        Passed to the auditor (``None``: read the signature).
    max_trials : int or None
        A cap on the trials of this case (for functions run once per call;
        at least 4).
    min_trials : int or None
        A floor on the trials of this case (for violations that show only
        in rare events).
    expect_violation : bool
        True for deliberately broken variants (the self-test).

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    >>> AuditCase("geometric", m.randomize, 0, 1, epsilon=1.0).delta
    0.0

    Every attribute is checked when the case is made; a bad one raises
    :class:`~loopkit_privacy.InvalidParameterError` naming it.
    """

    name: str
    fn: Callable[..., Any]
    d0: Any
    d1: Any
    epsilon: float
    delta: float = 0.0
    description: str = ""
    vectorized: bool | None = None
    max_trials: int | None = None
    min_trials: int | None = None
    expect_violation: bool = False

    def __post_init__(self) -> None:
        check_str(self.name, "name", example='"geometric"')
        check_callable(self.fn, "fn", example="mech.randomize")
        set_ = object.__setattr__  # a frozen dataclass: store the checked values
        set_(self, "epsilon", check_nonnegative(self.epsilon, "epsilon", example="1.0"))
        set_(self, "delta", check_delta(self.delta, "delta", allow_zero=True))
        check_str(self.description, "description", example='"what is audited"')
        set_(self, "vectorized", check_optional_bool(self.vectorized, "vectorized"))
        if self.max_trials is not None:
            set_(self, "max_trials", check_trials(self.max_trials, "max_trials"))
        set_(
            self,
            "min_trials",
            check_optional_positive_int(self.min_trials, "min_trials"),
        )
        set_(
            self,
            "expect_violation",
            check_bool(self.expect_violation, "expect_violation"),
        )


@dataclass
class AuditReport:
    """Results of a run of audit cases, renderable as Markdown or JSON.

    Examples
    --------
    >>> AuditReport([], trials=10, confidence=0.99).passed
    True
    """

    results: list[AuditResult]
    trials: int
    confidence: float
    cases: list[AuditCase] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True when every case met its expectation (broken ones must fail).

        Examples
        --------
        >>> ok = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                  0.2, 0.49, 0.21, 4, 100, claimed_epsilon=1.0, name="ok")
        >>> bad = AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                   0.1, 0.49, 0.11, 4, 100, claimed_epsilon=1.0, name="bad")
        >>> AuditReport([ok], trials=10**5, confidence=0.999999).passed
        True
        >>> AuditReport([ok, bad], trials=10**5, confidence=0.999999).passed
        False
        >>> # The identity is not private: its audit is expected to find a violation.
        >>> broken = AuditCase("bad", lambda x: x, 0, 1, 1.0, expect_violation=True)
        >>> AuditReport([bad], trials=10**5, confidence=0.999999, cases=[broken]).passed
        True
        """
        return all(self._ok(c, r) for c, r in self._pairs())

    def _pairs(self) -> list[tuple[AuditCase | None, AuditResult]]:
        cases: list[AuditCase | None] = list(self.cases)
        cases += [None] * (len(self.results) - len(cases))
        return list(zip(cases, self.results, strict=True))

    @staticmethod
    def _ok(case: AuditCase | None, result: AuditResult) -> bool:
        expect = case is not None and case.expect_violation
        return result.passed != expect

    def failures(self) -> list[AuditResult]:
        """The results that did not meet their expectation.

        Returns
        -------
        list of AuditResult

        Examples
        --------
        >>> ok = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                  0.2, 0.49, 0.21, 4, 100, claimed_epsilon=1.0, name="ok")
        >>> bad = AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                   0.1, 0.49, 0.11, 4, 100, claimed_epsilon=1.0, name="bad")
        >>> report = AuditReport([ok, bad], trials=10**5, confidence=0.999999)
        >>> [r.name for r in report.failures()]
        ['bad']
        """
        return [r for c, r in self._pairs() if not self._ok(c, r)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with one entry per case.

        Each entry is the case's :meth:`AuditResult.to_dict` plus its
        ``description``, ``expect_violation`` and ``ok`` (whether it met its
        expectation).

        Returns
        -------
        dict

        Examples
        --------
        >>> ok = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                  0.2, 0.49, 0.21, 4, 100, claimed_epsilon=1.0, name="ok")
        >>> bad = AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                   0.1, 0.49, 0.11, 4, 100, claimed_epsilon=1.0, name="bad")
        >>> d = AuditReport([ok, bad], trials=10**5, confidence=0.999999).to_dict()
        >>> d["passed"], [(c["name"], c["ok"]) for c in d["cases"]]
        (False, [('ok', True), ('bad', False)])
        """
        entries = []
        for case, result in self._pairs():
            entry = result.to_dict()
            entry["description"] = "" if case is None else case.description
            entry["expect_violation"] = bool(case is not None and case.expect_violation)
            entry["ok"] = self._ok(case, result)
            entries.append(entry)
        return {
            "passed": self.passed,
            "trials": self.trials,
            "confidence": self.confidence,
            "false_failure_rate_per_case": 1.0 - self.confidence,
            "seconds": round(self.seconds, 3),
            "python": platform.python_version(),
            "cases": entries,
        }

    def to_json(self) -> str:
        """The report as JSON text (:meth:`to_dict`, indented).

        Returns
        -------
        str

        Examples
        --------
        >>> import json
        >>> ok = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                  0.2, 0.49, 0.21, 4, 100, claimed_epsilon=1.0, name="ok")
        >>> bad = AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                   0.1, 0.49, 0.11, 4, 100, claimed_epsilon=1.0, name="bad")
        >>> text = AuditReport([ok, bad], trials=10**5, confidence=0.999999).to_json()
        >>> json.loads(text)["passed"]
        False
        """
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_markdown(self) -> str:
        """The report as a Markdown document with one table row per case.

        Returns
        -------
        str

        Examples
        --------
        >>> ok = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                  0.2, 0.49, 0.21, 4, 100, claimed_epsilon=1.0, name="ok")
        >>> bad = AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                   0.1, 0.49, 0.11, 4, 100, claimed_epsilon=1.0, name="bad")
        >>> report = AuditReport([ok, bad], trials=10**5, confidence=0.999999)
        >>> lines = report.to_markdown().splitlines()
        >>> lines[0], lines[2]
        ('# loopkit_privacy audit report', 'Overall: **FAIL** (2 cases, 0.0 s).')
        >>> row = next(line for line in lines if line.startswith("| bad |"))
        >>> row.endswith("| **FAIL** (violation found) |")
        True
        """
        alpha = 1.0 - self.confidence
        lines = [
            "# loopkit_privacy audit report",
            "",
            f"Overall: **{'PASS' if self.passed else 'FAIL'}** "
            f"({len(self.results)} cases, {self.seconds:.1f} s).",
            "",
            "Each row is an empirical lower bound on ε from the outputs of the "
            "function on two neighbouring inputs: with probability at least "
            f"1 − {alpha:.2g} the true ε is at least the bound. A case fails when "
            "the bound exceeds the claimed ε (a deliberately broken variant "
            "fails when it does *not*). A passing audit is evidence, never a proof.",
            "",
            "| case | claimed ε | claimed δ | ε lower bound | estimate | confidence "
            "| trials/input | time (s) | result |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for case, r in self._pairs():
            verdict = ("ok" if self._ok(case, r) else "**FAIL**") + (
                " (violation found)" if not r.passed else ""
            )
            lines.append(
                f"| {r.name} | {_fmt(r.claimed_epsilon)} | {r.delta:g} | "
                f"{r.epsilon_lower_bound:.3f} | {r.epsilon_estimate:.3f} | "
                f"1 − {1 - r.confidence:.0e} | {r.trials} | {r.seconds:.2f} | {verdict} |"
            )
        lines += ["", "## Cases", ""]
        for case, r in self._pairs():
            desc = "" if case is None else case.description
            lines += [f"- **{r.name}**: {desc}", f"  - {r.event}", ""]
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write JSON when ``path`` ends in ``.json``, Markdown otherwise.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (overwritten, UTF-8).

        Examples
        --------
        >>> import json, os, tempfile
        >>> ok = AuditResult(0.9, 1.0, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                  0.2, 0.49, 0.21, 4, 100, claimed_epsilon=1.0, name="ok")
        >>> bad = AuditResult(1.5, 1.6, 0.0, 0.999999, 10**5, "value >= 1", 0.5,
        ...                   0.1, 0.49, 0.11, 4, 100, claimed_epsilon=1.0, name="bad")
        >>> report = AuditReport([ok], trials=10**5, confidence=0.999999)
        >>> folder = tempfile.mkdtemp()
        >>> report.write(os.path.join(folder, "audit.json"))
        >>> report.write(os.path.join(folder, "audit.md"))
        >>> with open(os.path.join(folder, "audit.json"), encoding="utf-8") as fh:
        ...     json.load(fh)["passed"]
        True
        >>> with open(os.path.join(folder, "audit.md"), encoding="utf-8") as fh:
        ...     fh.readline().strip()
        '# loopkit_privacy audit report'
        """
        text = (
            self.to_json()
            if os.fspath(path).lower().endswith(".json")
            else self.to_markdown()
        )
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def neighbouring_tables(
    *, new_page: bool = False, heavy_rows: int = _HEAVY_ROWS
) -> tuple[pa.Table, pa.Table]:
    """The built-in pair: 300 users on five pages, and the same plus a heavy user.

    Parameters
    ----------
    new_page : bool
        Half of the heavy user's rows go to a page ``"new"`` no one else
        visits (for partition selection); otherwise all go to page ``"a"``.
    heavy_rows : int
        Rows of the heavy user (value 1000.0 each, far above any bound).

    Returns
    -------
    (pyarrow.Table, pyarrow.Table)
        Columns ``user_id`` (int64), ``page`` (string), ``minutes`` (float64).

    Raises
    ------
    InvalidParameterError
        ``new_page`` is not a bool or ``heavy_rows`` is not an integer >= 1.

    Examples
    --------
    >>> d0, d1 = neighbouring_tables()
    >>> d1.num_rows - d0.num_rows
    2000
    """
    new_page = check_bool(new_page, "new_page")
    heavy_rows = check_positive_int(heavy_rows, "heavy_rows", example="2000")
    # Deterministic synthetic data (not privacy noise): numpy's PRNG is fine.
    gen = np.random.default_rng(20260101)
    rows_per_user = gen.integers(1, 6, size=300)
    users = np.repeat(np.arange(300, dtype=np.int64), rows_per_user)
    pages = np.array(["a", "b", "c", "d", "e"])[
        gen.choice(5, size=users.size, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    ]
    minutes = np.round(gen.uniform(0.0, 12.0, size=users.size), 3)
    d0 = pa.table({"user_id": users, "page": pages, "minutes": minutes})
    heavy_pages = np.array(["a"] * heavy_rows, dtype=object)
    if new_page:
        heavy_pages[heavy_rows // 2 :] = "new"
    heavy = pa.table(
        {
            "user_id": np.full(heavy_rows, 300, dtype=np.int64),
            "page": pa.array(heavy_pages.tolist(), type=pa.string()),
            "minutes": np.full(heavy_rows, 1000.0),
        }
    )
    return d0, pa.concat_tables([d0, heavy])


_PAGES = ["a", "b", "c", "d", "e"]


def _mechanism_cases() -> list[AuditCase]:
    eps = 1.0
    lap = mechanisms.LaplaceMechanism(sensitivity=1.0, epsilon=eps)
    geo = mechanisms.GeometricMechanism(sensitivity=1, epsilon=eps)
    gau = mechanisms.GaussianMechanism(sensitivity=1.0, epsilon=eps, delta=1e-5)
    dga = mechanisms.DiscreteGaussianMechanism(sensitivity=1, epsilon=eps, delta=1e-5)
    expo = mechanisms.ExponentialMechanism(sensitivity=1.0, epsilon=eps)
    paf = mechanisms.ExponentialMechanism(
        sensitivity=1.0, epsilon=eps, monotonic=True, method="permute_and_flip"
    )

    def add_noise_int(x: int) -> int:
        return int(mechanisms.add_noise(x, sensitivity=1, epsilon=eps))

    def add_noise_float(x: float) -> float:
        return float(mechanisms.add_noise(x, sensitivity=1.0, epsilon=eps))

    def add_noise_batch(x: Any, n: int) -> AnyArray:
        # The mechanism add_noise picks for this value, n releases at once.
        mech, _ = mechanisms.add_noise_mechanism(
            x, sensitivity=1, epsilon=eps, delta=None, rho=None, mechanism="laplace"
        )
        return mech.randomize(x, n)

    return [
        AuditCase(
            "LaplaceMechanism",
            lap.randomize,
            0.0,
            1.0,
            eps,
            description="real-valued query, sensitivity 1; inputs 0.0 and 1.0",
        ),
        AuditCase(
            "GeometricMechanism",
            geo.randomize,
            0,
            1,
            eps,
            description="integer query, sensitivity 1; inputs 0 and 1",
        ),
        AuditCase(
            "GaussianMechanism",
            gau.randomize,
            0.0,
            1.0,
            eps,
            1e-5,
            description="real-valued query, L2 sensitivity 1; inputs 0.0 and 1.0",
        ),
        AuditCase(
            "DiscreteGaussianMechanism",
            dga.randomize,
            0,
            1,
            eps,
            1e-5,
            description="integer query, L2 sensitivity 1; inputs 0 and 1",
        ),
        AuditCase(
            "ExponentialMechanism",
            expo.randomize,
            [0.0, 0.0, 0.0],
            [1.0, -1.0, 0.0],
            eps,
            description="scores of sensitivity 1, each moved by up to 1 in "
            "opposite directions",
        ),
        AuditCase(
            "report_noisy_max (permute-and-flip)",
            paf.randomize,
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            eps,
            description="the mechanism report_noisy_max(monotonic=True) builds; "
            "one count score up by 1",
        ),
        AuditCase(
            "add_noise (integer, batched)",
            add_noise_batch,
            0,
            1,
            eps,
            description="the mechanism lp.add_noise calibrates for an int, "
            "n releases at once; inputs 0 and 1",
        ),
        AuditCase(
            "add_noise (float, batched)",
            add_noise_batch,
            0.0,
            1.0,
            eps,
            description="the mechanism lp.add_noise calibrates for a float, "
            "n releases at once; inputs 0.0 and 1.0",
        ),
        AuditCase(
            "add_noise (integer)",
            add_noise_int,
            0,
            1,
            eps,
            description="lp.add_noise called once per trial; inputs 0 and 1",
            vectorized=False,
            max_trials=PLAIN_TRIALS,
        ),
        AuditCase(
            "add_noise (float)",
            add_noise_float,
            0.0,
            1.0,
            eps,
            description="lp.add_noise called once per trial; inputs 0.0 and 1.0",
            vectorized=False,
            max_trials=PLAIN_TRIALS,
        ),
    ]


def _aggregation_cases() -> list[AuditCase]:
    eps, delta = 1.0, 1e-6
    d0, d1 = neighbouring_tables()
    s0, s1 = neighbouring_tables(new_page=True)
    common: dict[str, Any] = {"by": "page", "privacy_unit": "user_id", "epsilon": eps}
    heavy = f"plus one user with {_HEAVY_ROWS} rows"
    cases = [
        AuditCase(
            "aggregate_count (public groups)",
            aggregation_trials(
                aggregate.aggregate_count, public_groups=_PAGES, **common
            ),
            d0,
            d1,
            eps,
            description=f"rows per page, L0 = L∞ = 1; {heavy} on page 'a'",
        ),
        AuditCase(
            "aggregate_count distinct (public groups)",
            aggregation_trials(
                aggregate.aggregate_count,
                distinct=True,
                max_partitions_per_user=2,
                public_groups=_PAGES,
                **common,
            ),
            s0,
            s1,
            eps,
            description=f"distinct users per page, L0 = 2; {heavy} on 'a' and 'new'",
        ),
        AuditCase(
            "aggregate_count (total, Gaussian)",
            aggregation_trials(
                aggregate.aggregate_count,
                privacy_unit="user_id",
                epsilon=eps,
                delta=delta,
                mechanism="gaussian",
                max_contributions_per_partition=3,
            ),
            d0,
            d1,
            eps,
            delta,
            description=f"one total, L∞ = 3, discrete Gaussian; {heavy}",
        ),
        AuditCase(
            "aggregate_sum (public groups)",
            aggregation_trials(
                aggregate.aggregate_sum,
                column="minutes",
                bounds=(0.0, 12.0),
                max_contributions_per_partition=2,
                public_groups=_PAGES,
                **common,
            ),
            d0,
            d1,
            eps,
            description=f"minutes clamped to [0, 12], L∞ = 2; {heavy} of 1000 minutes",
        ),
        AuditCase(
            "aggregate_average (public groups)",
            aggregation_trials(
                aggregate.aggregate_average,
                column="minutes",
                bounds=(0.0, 12.0),
                public_groups=_PAGES,
                **common,
            ),
            d0,
            d1,
            eps,
            description=f"average minutes in [0, 12]; {heavy} of 1000 minutes",
        ),
        AuditCase(
            "aggregate_count (partition selection)",
            aggregation_trials(
                aggregate.aggregate_count,
                delta=delta,
                max_partitions_per_user=2,
                **common,
            ),
            s0,
            s1,
            eps,
            delta,
            description=f"pages from the data, L0 = 2; {heavy}, half on a page "
            "'new' only this user visits",
        ),
        AuditCase(
            "aggregate_sum (partition selection)",
            aggregation_trials(
                aggregate.aggregate_sum,
                column="minutes",
                bounds=(0.0, 12.0),
                delta=delta,
                max_partitions_per_user=2,
                max_contributions_per_partition=2,
                **common,
            ),
            s0,
            s1,
            eps,
            delta,
            description=f"pages from the data, L0 = L∞ = 2; {heavy} on 'a' and 'new'",
        ),
        AuditCase(
            "aggregate_average (partition selection)",
            aggregation_trials(
                aggregate.aggregate_average,
                column="minutes",
                bounds=(0.0, 12.0),
                delta=delta,
                max_partitions_per_user=2,
                **common,
            ),
            s0,
            s1,
            eps,
            delta,
            description=f"pages from the data, L0 = 2; {heavy} on 'a' and 'new'",
        ),
        AuditCase(
            "aggregate_top_n (partition selection)",
            aggregation_trials(
                aggregate.aggregate_top_n,
                column="page",
                n=3,
                privacy_unit="user_id",
                epsilon=eps,
                delta=delta,
                max_partitions_per_user=2,
            ),
            s0,
            s1,
            eps,
            delta,
            description=f"top 3 pages by distinct users, L0 = 2; {heavy}",
        ),
    ]
    return cases


def _quantile_cases() -> list[AuditCase]:
    """aggregate_quantiles, aggregate_variance and aggregate_std on the built-in pair."""
    eps, delta = 1.0, 1e-6
    d0, d1 = neighbouring_tables()
    s0, s1 = neighbouring_tables(new_page=True)
    common: dict[str, Any] = {
        "by": "page",
        "privacy_unit": "user_id",
        "epsilon": eps,
        "column": "minutes",
        "bounds": (0.0, 12.0),
    }
    heavy = f"plus one user with {_HEAVY_ROWS} rows of 1000 minutes"
    return [
        AuditCase(
            "aggregate_quantiles (public groups)",
            aggregation_trials(
                quantiles.aggregate_quantiles,
                quantiles=[0.25, 0.5, 0.9],
                bins=32,
                max_contributions_per_partition=2,
                public_groups=_PAGES,
                **common,
            ),
            d0,
            d1,
            eps,
            description=f"quartile, median and p90 of minutes in [0, 12] on a "
            f"32-bin grid (estimates and interval ends), L∞ = 2; {heavy} on page 'a'",
        ),
        AuditCase(
            "aggregate_quantiles (partition selection)",
            aggregation_trials(
                quantiles.aggregate_quantiles,
                # Two quantiles: with the estimate and both interval ends as
                # keys, both inputs have more than 16 value columns, so the
                # auditor treats them alike (low-bit features are dropped
                # above 16 columns, per input).
                quantiles=[0.5, 0.9],
                bins=16,
                delta=delta,
                max_partitions_per_user=2,
                **common,
            ),
            s0,
            s1,
            eps,
            delta,
            description=f"median and p90 per page from the data, 16 bins, L0 = 2; {heavy}, "
            "half on a page 'new' only this user visits",
        ),
        AuditCase(
            "aggregate_variance (public groups)",
            aggregation_trials(
                quantiles.aggregate_variance,
                max_contributions_per_partition=2,
                public_groups=_PAGES,
                **common,
            ),
            d0,
            d1,
            eps,
            description=f"variance of minutes in [0, 12], L∞ = 2; {heavy} on page 'a'",
        ),
        AuditCase(
            "aggregate_std (partition selection)",
            aggregation_trials(
                quantiles.aggregate_std,
                delta=delta,
                max_partitions_per_user=2,
                **common,
            ),
            s0,
            s1,
            eps,
            delta,
            description=f"standard deviation per page from the data, L0 = 2; {heavy} "
            "on 'a' and 'new'",
        ),
    ]


def _cohort_cases() -> list[AuditCase]:
    try:
        from loopkit_privacy import cohorts  # noqa: F401
    except ImportError:  # pragma: no cover - cohorts not available
        return []
    import datetime as dt

    eps = 1.0
    # 200 users with first events in January-March 2026 and a few later events.
    gen = np.random.default_rng(7)
    start = dt.date(2026, 1, 1)
    users, days = [], []
    for u in range(200):
        first = int(gen.integers(0, 90))
        for k in range(int(gen.integers(1, 4))):
            users.append(u)
            days.append(start + dt.timedelta(days=first + 30 * k))
    d0 = pa.table({"user_id": pa.array(users, pa.int64()), "at": pa.array(days)})
    # The extra user: first event in January, active in every later month.
    extra_days = [start + dt.timedelta(days=3 + 30 * k) for k in range(6)] * 50
    extra = pa.table(
        {
            "user_id": pa.array([200] * len(extra_days), pa.int64()),
            "at": pa.array(extra_days),
        }
    )
    d1 = pa.concat_tables([d0, extra])
    fn = cohort_trials(
        privacy_unit="user_id",
        time="at",
        start="2026-01-01",
        end="2026-04-01",
        period="month",
        n_periods=4,
        max_active_periods=2,
        epsilon=eps,
    )
    return [
        AuditCase(
            "cohort_retention",
            fn,
            d0,
            d1,
            eps,
            description="3 monthly cohorts x 4 periods, max_active_periods = 2; "
            "plus one user with 300 events in 6 months",
        )
    ]


def _histogram_cases() -> list[AuditCase]:
    from loopkit_privacy.histogram import aggregate_histogram

    eps, delta = 1.0, 1e-6
    d0, d1 = neighbouring_tables()
    s0, s1 = neighbouring_tables(new_page=True)
    bins = [0.0, 3.0, 6.0, 9.0, 12.0]
    common: dict[str, Any] = {
        "column": "minutes",
        "bins": bins,
        "by": "page",
        "privacy_unit": "user_id",
        "epsilon": eps,
        "max_partitions_per_user": 2,
        "max_contributions_per_partition": 2,
    }
    heavy = f"plus one user with {_HEAVY_ROWS} rows of 1000 minutes (clipped into the last bin)"
    return [
        AuditCase(
            "aggregate_histogram (public groups)",
            aggregation_trials(aggregate_histogram, public_groups=_PAGES, **common),
            d0,
            d1,
            eps,
            description=f"5 pages x 4 bins, L0 = L∞ = 2; {heavy} on page 'a'",
        ),
        AuditCase(
            "aggregate_histogram (partition selection)",
            aggregation_trials(aggregate_histogram, delta=delta, **common),
            s0,
            s1,
            eps,
            delta,
            description=f"pages from the data, 4 bins, L0 = L∞ = 2; {heavy}, half "
            "on a page 'new' only this user visits",
        ),
    ]


def funnel_tables() -> tuple[pa.Table, pa.Table]:
    """The funnel audit's pair: 300 users part-way through a 3-step funnel, plus one.

    The extra user (appended at the end, on the plan ``"pro"``) reaches every
    step, with 200 repeats of each event.

    Returns
    -------
    (pyarrow.Table, pyarrow.Table)
        Columns ``user_id`` (int64), ``step`` (string), ``at`` (timestamp[s]),
        ``plan`` (string).

    Examples
    --------
    >>> d0, d1 = funnel_tables()
    >>> d1.num_rows - d0.num_rows
    600
    """
    import datetime as dt

    gen = np.random.default_rng(20260301)
    start = dt.datetime(2026, 3, 1)
    users, steps, times, plans = [], [], [], []
    for u in range(300):
        reach = int(gen.integers(0, 4))
        hours = np.cumsum(gen.integers(0, 72, size=3))
        for k, name in enumerate(["signup", "activate", "buy"][:reach]):
            users.append(u)
            steps.append(name)
            times.append(start + dt.timedelta(hours=int(hours[k])))
            plans.append("free" if u % 3 else "pro")
        users.append(u)
        steps.append("view")
        times.append(start)
        plans.append("free" if u % 3 else "pro")
    d0 = pa.table(
        {
            "user_id": pa.array(users, pa.int64()),
            "step": pa.array(steps, pa.string()),
            "at": pa.array(times, pa.timestamp("s")),
            "plan": pa.array(plans, pa.string()),
        }
    )
    extra = [
        (name, start + dt.timedelta(hours=k))
        for k, name in enumerate(["signup", "activate", "buy"])
    ]
    extra = extra * 200
    d1 = pa.concat_tables(
        [
            d0,
            pa.table(
                {
                    "user_id": pa.array([300] * len(extra), pa.int64()),
                    "step": pa.array([e[0] for e in extra], pa.string()),
                    "at": pa.array([e[1] for e in extra], pa.timestamp("s")),
                    "plan": pa.array(["pro"] * len(extra), pa.string()),
                }
            ),
        ]
    )
    return d0, d1


def _funnel_cases() -> list[AuditCase]:
    eps, delta = 1.0, 1e-6
    d0, d1 = funnel_tables()
    common: dict[str, Any] = {
        "privacy_unit": "user_id",
        "step": "step",
        "steps": ["signup", "activate", "buy"],
        "time": "at",
        "within": "7d",
        "epsilon": eps,
    }
    extra = "plus one user reaching every step (600 events)"
    return [
        AuditCase(
            "funnel",
            funnel_trials(**common),
            d0,
            d1,
            eps,
            description=f"3 steps, users per furthest step (L1 = 1); {extra}",
        ),
        AuditCase(
            "funnel (by plan, partition selection)",
            funnel_trials(by="plan", delta=delta, **common),
            d0,
            d1,
            eps,
            delta,
            description=f"3 steps by plan, plans from the data; {extra}",
        ),
    ]


def builtin_cases() -> list[AuditCase]:
    """Every mechanism and aggregation of the library as an audit case.

    Examples
    --------
    >>> names = [c.name for c in builtin_cases()]
    >>> "LaplaceMechanism" in names and "aggregate_top_n (partition selection)" in names
    True
    """
    return [
        *_mechanism_cases(),
        *_aggregation_cases(),
        *_quantile_cases(),
        *_cohort_cases(),
        *_histogram_cases(),
        *_funnel_cases(),
    ]


def _check_cases(cases: Any) -> list[AuditCase]:
    listed: list[Any] | None = None
    if not isinstance(cases, str | bytes | AuditCase):
        try:
            listed = list(cases)
        except TypeError:
            listed = None
    if listed is None or not all(isinstance(c, AuditCase) for c in listed):
        what = (
            f"an object of type {type(cases).__name__}"
            if listed is None
            else "a list holding "
            + ", ".join(
                sorted(
                    {type(c).__name__ for c in listed if not isinstance(c, AuditCase)}
                )
            )
        )
        raise InvalidParameterError(
            f"`cases` must be None (the built-in cases) or a list of AuditCase, got "
            f"{what}; pass e.g. cases=builtin_cases() or "
            'cases=[AuditCase("geometric", mech.randomize, 0, 1, epsilon=1.0)]',
            parameter="cases",
            value=None,
        )
    return listed


def run_audit(
    cases: Iterable[AuditCase] | None = None,
    *,
    trials: int = 100_000,
    confidence: float = DEFAULT_CONFIDENCE,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> AuditReport:
    """Run audit cases (the built-in ones by default) and collect a report.

    Parameters
    ----------
    cases : iterable of AuditCase, optional
        Defaults to :func:`builtin_cases`.
    trials : int
        Trials per input of each case (at least 4; raised to a case's
        ``min_trials``, capped by its ``max_trials``).
    confidence : float
        Confidence of each bound, strictly between 0 and 1; a correct case
        fails with probability at most ``1 - confidence``.
    progress : callable, optional
        ``progress(name, total)`` returns a callback that receives the
        number of trials just finished (``total`` counts both inputs).

    Returns
    -------
    AuditReport

    Raises
    ------
    InvalidParameterError
        For a bad argument, before any case is run.

    Examples
    --------
    >>> import loopkit_privacy as lp
    >>> m = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
    >>> report = run_audit([AuditCase("geometric", m.randomize, 0, 1, 1.0)], trials=10_000)
    >>> report.passed, len(report.results)
    (True, 1)
    """
    n_trials = check_trials(trials)
    conf = check_level(confidence, "confidence")
    check_optional_callable(progress, "progress", example="make_bar")
    chosen: Sequence[AuditCase] = (
        builtin_cases() if cases is None else _check_cases(cases)
    )
    results = []
    start = time.perf_counter()
    for case in chosen:
        n = n_trials if case.min_trials is None else max(n_trials, case.min_trials)
        n = n if case.max_trials is None else min(n, case.max_trials)
        callback = None if progress is None else progress(case.name, 2 * n)
        results.append(
            estimate_epsilon(
                case.fn,
                case.d0,
                case.d1,
                trials=n,
                delta=case.delta,
                confidence=conf,
                vectorized=case.vectorized,
                claimed_epsilon=case.epsilon,
                name=case.name,
                progress=callback,
            )
        )
    return AuditReport(
        results,
        trials=n_trials,
        confidence=conf,
        cases=list(chosen),
        seconds=time.perf_counter() - start,
    )
