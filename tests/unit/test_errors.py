"""The exception hierarchy: builtin bases, structured attributes, messages."""

from __future__ import annotations

import pytest

import loopkit_privacy as lp
from loopkit_privacy import errors


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (lp.PrivacyError, (Exception,)),
        (lp.InvalidParameterError, (lp.PrivacyError, ValueError)),
        (lp.SchemaError, (lp.PrivacyError, ValueError)),
        (lp.ColumnNotFoundError, (lp.SchemaError,)),
        (lp.ColumnTypeError, (lp.SchemaError, TypeError)),
        (
            lp.NonFiniteValueError,
            (lp.SchemaError, lp.InvalidParameterError, ValueError),
        ),
        (lp.BudgetExceededError, (lp.PrivacyError,)),
        (lp.UnsupportedCompositionError, (lp.PrivacyError,)),
        (lp.InsecureRandomnessError, (lp.PrivacyError,)),
        (lp.LedgerError, (lp.PrivacyError,)),
        (lp.LedgerIntegrityError, (lp.LedgerError,)),
        (lp.OptionalDependencyError, (lp.PrivacyError, ImportError)),
        (lp.PrivacyWarning, (UserWarning,)),
        (lp.InsecureRandomnessWarning, (lp.PrivacyWarning,)),
    ],
)
def test_hierarchy(cls, bases):
    for base in bases:
        assert issubclass(cls, base), f"{cls.__name__} should subclass {base.__name__}"


def test_every_error_is_a_privacy_error_and_warnings_are_not():
    for name in errors.__all__:
        cls = getattr(errors, name)
        if name.endswith("Warning"):
            assert issubclass(cls, Warning)
            assert not issubclass(cls, lp.PrivacyError)
        else:
            assert issubclass(cls, lp.PrivacyError), name


def test_budget_errors_are_not_value_errors():
    # A refused release is not bad input: `except ValueError` must not swallow it.
    assert not issubclass(lp.BudgetExceededError, ValueError)
    assert not issubclass(lp.InsecureRandomnessError, ValueError)


def test_invalid_parameter_error_attributes():
    err = lp.InvalidParameterError(
        "`epsilon` must be > 0", parameter="epsilon", value=-1.0
    )
    assert err.parameter == "epsilon"
    assert err.value == -1.0
    assert str(err) == "`epsilon` must be > 0"
    with pytest.raises(ValueError, match=r"`epsilon` must be > 0"):
        raise err


def test_invalid_parameter_error_requires_parameter_name():
    with pytest.raises(
        TypeError, match=r"missing 1 required keyword-only argument: 'parameter'"
    ):
        lp.InvalidParameterError("message")  # type: ignore[call-arg]


def test_schema_errors_carry_column():
    err = lp.ColumnNotFoundError("no column `x`; available: a, b", column="x")
    assert err.column == "x"
    assert isinstance(err, ValueError)
    assert lp.SchemaError("bad").column is None
    type_err = lp.ColumnTypeError("`x` must be numeric", column="x")
    assert isinstance(type_err, TypeError)
    assert type_err.column == "x"


def test_non_finite_value_error_attributes():
    err = lp.NonFiniteValueError("2 NaN", column=None, count=2, first_index=5)
    assert (err.count, err.first_index) == (2, 5)
    assert err.column is None
    assert err.parameter == "value"
    named = lp.NonFiniteValueError("1 NaN", column="revenue", count=1, first_index=0)
    assert named.parameter == "revenue"
    assert named.column == "revenue"
    assert str(named) == "1 NaN"


def test_budget_exceeded_error_attributes():
    err = lp.BudgetExceededError(
        "release 'dau' needs PureDP(epsilon=0.5) but only PureDP(epsilon=0.2) remains",
        requested=lp.PureDP(0.5),
        remaining=lp.PureDP(0.2),
        label="dau",
    )
    assert err.requested == lp.PureDP(0.5)
    assert err.remaining == lp.PureDP(0.2)
    assert err.label == "dau"
    with pytest.raises(lp.PrivacyError, match=r"needs PureDP\(epsilon=0\.5\)"):
        raise err


def test_ledger_integrity_error_index():
    assert lp.LedgerIntegrityError("chain broken", index=3).index == 3
    assert lp.LedgerIntegrityError("chain broken").index is None


def test_optional_dependency_error_is_import_error():
    with pytest.raises(ImportError, match=r"install loopkit_privacy\[polars\]"):
        raise lp.OptionalDependencyError(
            "install loopkit_privacy[polars] to use polars tables"
        )


def test_library_raises_invalid_parameter_with_name_and_value():
    with pytest.raises(
        lp.InvalidParameterError,
        match=r"`epsilon` must be a finite number > 0, got -1\.0",
    ) as info:
        lp.add_noise(1.0, sensitivity=1.0, epsilon=-1.0)
    assert info.value.parameter == "epsilon"
    assert info.value.value == -1.0
    # Message style: says what to do.
    assert "pass e.g. epsilon=1.0" in str(info.value)
