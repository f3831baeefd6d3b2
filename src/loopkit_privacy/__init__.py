"""loopkit_privacy: differentially private statistics for product analytics.

Noisy counts, sums, averages, top-N lists and cohort curves with a formal
differential-privacy guarantee, built on exact discrete noise drawn from a
secure source, with a privacy-budget accountant.

Examples
--------
>>> import loopkit_privacy as lp
>>> lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0).cost
PureDP(epsilon=1.0)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from loopkit_privacy import accounting, audit, controls, kanon, loss, noise, random
from loopkit_privacy._info import NoiseInfo, ReleaseInfo
from loopkit_privacy.accounting import Accountant, Receipt, verify_ledger
from loopkit_privacy.aggregate import (
    aggregate_average,
    aggregate_count,
    aggregate_sum,
    aggregate_top_n,
    privacy_info,
)
from loopkit_privacy.bounding import ContributionBounds
from loopkit_privacy.cohorts import cohort_retention, plot_retention
from loopkit_privacy.controls import (
    PrivacySettings,
    PseudonymKey,
    apply_consent,
    apply_retention,
    erase_users,
    export_user_data,
    make_key,
    pseudonymize,
    withdraw_consent,
)
from loopkit_privacy.display import ResultView, plot, show
from loopkit_privacy.errors import (
    BudgetExceededError,
    ColumnNotFoundError,
    ColumnTypeError,
    DuplicateUnitError,
    InsecureRandomnessError,
    InsecureRandomnessWarning,
    InvalidParameterError,
    InvalidRandomSourceError,
    KeyExposureError,
    LedgerError,
    LedgerIntegrityError,
    MissingKeyError,
    NonFiniteValueError,
    OptionalDependencyError,
    PrivacyError,
    PrivacyWarning,
    SchemaError,
    UnknownPurposeError,
    UnsupportedCompositionError,
)
from loopkit_privacy.funnel import funnel, plot_funnel
from loopkit_privacy.histogram import aggregate_histogram, plot_histogram
from loopkit_privacy.kanon import (
    KAnonymityResult,
    SuppressionReport,
    ensure_k_anonymity,
    filter_groups,
    generalize_dates,
    generalize_numbers,
    generalize_rare,
    k_anonymity,
    l_diversity,
    top_code,
)
from loopkit_privacy.loss import ZCDP, ApproxDP, PureDP
from loopkit_privacy.mechanisms import (
    DiscreteGaussianMechanism,
    ExponentialMechanism,
    GaussianMechanism,
    GeometricMechanism,
    LaplaceMechanism,
    Release,
    Selection,
    add_noise,
    analytic_gaussian_sigma,
    gaussian_sigma,
    laplace_scale,
    report_noisy_max,
)
from loopkit_privacy.quantiles import (
    aggregate_quantiles,
    aggregate_std,
    aggregate_variance,
)
from loopkit_privacy.random import InsecureSeededRandom, SecureRandom
from loopkit_privacy.selection import PartitionSelection, partition_selection

try:
    __version__ = version("loopkit_privacy")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ZCDP",
    "Accountant",
    "ApproxDP",
    "BudgetExceededError",
    "ColumnNotFoundError",
    "ColumnTypeError",
    "ContributionBounds",
    "DiscreteGaussianMechanism",
    "DuplicateUnitError",
    "ExponentialMechanism",
    "GaussianMechanism",
    "GeometricMechanism",
    "InsecureRandomnessError",
    "InsecureRandomnessWarning",
    "InsecureSeededRandom",
    "InvalidParameterError",
    "InvalidRandomSourceError",
    "KAnonymityResult",
    "KeyExposureError",
    "LaplaceMechanism",
    "LedgerError",
    "LedgerIntegrityError",
    "MissingKeyError",
    "NoiseInfo",
    "NonFiniteValueError",
    "OptionalDependencyError",
    "PartitionSelection",
    "PrivacyError",
    "PrivacySettings",
    "PrivacyWarning",
    "PseudonymKey",
    "PureDP",
    "Receipt",
    "Release",
    "ReleaseInfo",
    "ResultView",
    "SchemaError",
    "SecureRandom",
    "Selection",
    "SuppressionReport",
    "UnknownPurposeError",
    "UnsupportedCompositionError",
    "__version__",
    "accounting",
    "add_noise",
    "aggregate_average",
    "aggregate_count",
    "aggregate_histogram",
    "aggregate_quantiles",
    "aggregate_std",
    "aggregate_sum",
    "aggregate_top_n",
    "aggregate_variance",
    "analytic_gaussian_sigma",
    "apply_consent",
    "apply_retention",
    "audit",
    "cohort_retention",
    "controls",
    "ensure_k_anonymity",
    "erase_users",
    "export_user_data",
    "filter_groups",
    "funnel",
    "gaussian_sigma",
    "generalize_dates",
    "generalize_numbers",
    "generalize_rare",
    "k_anonymity",
    "kanon",
    "l_diversity",
    "laplace_scale",
    "loss",
    "make_key",
    "noise",
    "partition_selection",
    "plot",
    "plot_funnel",
    "plot_histogram",
    "plot_retention",
    "privacy_info",
    "pseudonymize",
    "random",
    "report_noisy_max",
    "show",
    "top_code",
    "verify_ledger",
    "withdraw_consent",
]
