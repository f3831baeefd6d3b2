import pytest
from contract import AccountantContract

from loopkit_privacy.accounting import Accountant
from loopkit_privacy.errors import InvalidParameterError
from loopkit_privacy.loss import ZCDP, PureDP


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


def test_a_rho_budget_implies_zcdp_accounting():
    acc = Accountant(rho=0.5)
    assert acc.accounting == "zcdp"
    assert acc.budget == ZCDP(0.5)
    assert Accountant(rho=0.5, accounting="zcdp").budget == acc.budget


@pytest.mark.parametrize("accounting", ["basic", "rdp"])
def test_a_rho_budget_with_another_accounting_is_refused(accounting):
    with pytest.raises(
        InvalidParameterError,
        match=rf"a `rho` budget needs accounting='zcdp', got accounting='{accounting}'",
    ) as info:
        Accountant(rho=0.5, accounting=accounting)
    assert info.value.parameter == "rho"


def test_rho_with_epsilon_is_refused():
    with pytest.raises(
        InvalidParameterError,
        match=r"give either `rho` \(zCDP\) or `epsilon`/`delta`, not both",
    ):
        Accountant(rho=0.5, epsilon=1.0)
