import pytest
from contract import AccountantContract

from loopkit_privacy.accounting import Accountant
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import PureDP


class TestInMemoryAccountant(AccountantContract):
    def make(self, **kwargs):
        return Accountant(**kwargs)


def test_repr_and_budget():
    acc = Accountant(epsilon=2.0, delta=1e-6, dataset="events")
    assert acc.budget.epsilon == 2.0
    assert "events" in repr(acc)
    assert acc.accounting == "basic"


def test_dataset_must_be_a_name():
    with pytest.raises(InvalidParameterError, match=r"dataset"):
        Accountant(epsilon=1.0, dataset="")


def test_used_fraction():
    acc = Accountant(epsilon=1.0, delta=1e-6)
    acc.spend(PureDP(0.25))
    assert acc.used_fraction == 0.25
