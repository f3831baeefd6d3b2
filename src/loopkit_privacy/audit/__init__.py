"""The auditor's toolkit: empirical privacy audits, checks and strategies.

* :func:`estimate_epsilon` / :func:`assert_dp`: run a randomised function on
  two neighbouring inputs many times and bound its ε from below with stated
  confidence (an audit can refute a privacy claim, never prove it);
* :func:`check_keys`: a released table holds only public or selected keys;
* :func:`check_sampler`: a noise sample against its exact pmf (chi-square);
* :func:`verify_ledger`: a persistent ledger's hash chains and totals;
* :func:`run_audit`: every mechanism and aggregation of the library (the
  cases of :func:`builtin_cases`), audited on built-in neighbouring inputs
  (``loopkit-privacy audit``), or cases of your own;
* :func:`sweep`: every built-in case rebuilt over a grid of ε, δ and
  sensitivities/bounds (:class:`CaseFactory`, :class:`SweepGrid`), flagging
  violations, crashes, hangs and data-dependent refusals
  (``loopkit-privacy audit --sweep``);
* :mod:`loopkit_privacy.audit.strategies`: hypothesis strategies for event
  tables and neighbouring pairs (needs ``hypothesis``).

Examples
--------
>>> import loopkit_privacy as lp
>>> from loopkit_privacy import audit
>>> mech = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
>>> audit.assert_dp(mech.randomize, 0, 1, epsilon=1.0, trials=20_000).passed
True
"""

from __future__ import annotations

from loopkit_privacy.accounting.ledger import verify_ledger
from loopkit_privacy.audit._features import KeyedOutputs
from loopkit_privacy.audit.auditor import (
    AuditResult,
    PrivacyViolationError,
    assert_dp,
    clopper_pearson,
    estimate_epsilon,
    is_vectorized,
)
from loopkit_privacy.audit.builtin import (
    AuditCase,
    AuditReport,
    builtin_cases,
    neighbouring_tables,
    run_audit,
)
from loopkit_privacy.audit.checks import (
    KeyLeakError,
    SamplerCheck,
    check_keys,
    check_sampler,
    chisquare_pvalue,
    discrete_gaussian_pmf,
    discrete_laplace_pmf,
)
from loopkit_privacy.audit.sweeps import (
    CaseFactory,
    SweepGrid,
    SweepPoint,
    SweepReport,
    builtin_factories,
    sweep,
)
from loopkit_privacy.audit.trials import (
    aggregation_trials,
    cohort_trials,
    funnel_trials,
)

__all__ = [
    "AuditCase",
    "AuditReport",
    "AuditResult",
    "CaseFactory",
    "KeyLeakError",
    "KeyedOutputs",
    "PrivacyViolationError",
    "SamplerCheck",
    "SweepGrid",
    "SweepPoint",
    "SweepReport",
    "aggregation_trials",
    "assert_dp",
    "builtin_cases",
    "builtin_factories",
    "check_keys",
    "check_sampler",
    "chisquare_pvalue",
    "clopper_pearson",
    "cohort_trials",
    "discrete_gaussian_pmf",
    "discrete_laplace_pmf",
    "estimate_epsilon",
    "funnel_trials",
    "is_vectorized",
    "neighbouring_tables",
    "run_audit",
    "sweep",
    "verify_ledger",
]
