"""Hypothesis: no spend sequence overspends, and refused spends change nothing."""

import tempfile
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopkit_privacy.accounting import Accountant, verify_ledger
from loopkit_privacy.errors import BudgetExceededError
from loopkit_privacy.loss import ZCDP, ApproxDP, NoiseEvent, PureDP


def dec(x):
    return Fraction(repr(x))


epsilons = st.floats(min_value=1e-6, max_value=2.0, allow_nan=False)
deltas = st.floats(min_value=0.0, max_value=1e-4, allow_nan=False)
basic_costs = st.one_of(
    epsilons.map(PureDP),
    st.tuples(epsilons, deltas).map(lambda t: ApproxDP(*t)),
)
budgets = st.tuples(
    st.floats(min_value=1e-3, max_value=10.0), st.sampled_from([0.0, 1e-6, 1e-4])
)


def _check_sequence(acc, costs, budget_eps, budget_delta):
    """Spend ``costs`` in order on a basic accountant, checking each step."""
    spent_eps = Fraction(0)
    spent_delta = Fraction(0)
    for i, cost in enumerate(costs):
        before = (acc.spent, acc.remaining, acc.receipts)
        could = acc.can_spend(cost)
        try:
            acc.spend(cost, label=f"s{i}")
        except BudgetExceededError:
            # refused: the dry run agreed, and nothing changed
            assert not could
            assert (acc.spent, acc.remaining, acc.receipts) == before
            continue
        assert could
        spent_eps += dec(cost.epsilon)
        spent_delta += dec(cost.delta)
        # spent <= total, exactly, after every admitted spend
        assert spent_eps <= dec(budget_eps)
        assert spent_delta <= dec(budget_delta)
    return spent_eps, spent_delta


@settings(max_examples=100, deadline=None)
@given(budget=budgets, costs=st.lists(basic_costs, max_size=40))
def test_basic_accountant_never_exceeds_its_budget(budget, costs):
    eps, delta = budget
    acc = Accountant(epsilon=eps, delta=delta)
    spent_eps, _spent_delta = _check_sequence(acc, costs, eps, delta)
    assert dec(acc.spent.epsilon) >= spent_eps  # rounded up
    assert dec(acc.remaining.epsilon) <= dec(eps) - spent_eps  # rounded down
    assert len(acc.receipts) <= len(costs)


zcdp_costs = st.one_of(
    st.floats(min_value=1e-6, max_value=0.5).map(ZCDP),
    st.floats(min_value=1e-3, max_value=1.0).map(PureDP),
)


@settings(max_examples=60, deadline=None)
@given(
    rho=st.floats(min_value=1e-3, max_value=2.0),
    costs=st.lists(zcdp_costs, max_size=30),
)
def test_zcdp_accountant_never_exceeds_rho(rho, costs):
    acc = Accountant(rho=rho, accounting="zcdp")
    total = Fraction(0)
    for cost in costs:
        before = (acc.spent, acc.receipts)
        try:
            acc.spend(cost)
        except BudgetExceededError:
            assert (acc.spent, acc.receipts) == before
            continue
        total += dec(cost.rho) if isinstance(cost, ZCDP) else dec(cost.epsilon) ** 2 / 2
        assert total <= dec(rho)
    assert dec(acc.spent.rho) >= total


@settings(max_examples=40, deadline=None)
@given(
    eps=st.floats(min_value=0.5, max_value=10.0),
    multipliers=st.lists(
        st.tuples(st.sampled_from(["gaussian", "laplace"]), st.floats(0.5, 50.0)),
        max_size=25,
    ),
)
def test_rdp_accountant_never_exceeds_its_budget(eps, multipliers):
    acc = Accountant(epsilon=eps, delta=1e-6, accounting="rdp")
    for kind, m in multipliers:
        event = NoiseEvent(kind, m)
        cost = PureDP(1.0 / m) if kind == "laplace" else ZCDP(1.0 / (2 * m * m))
        before = (acc.spent, acc.receipts)
        try:
            acc.spend(cost, event=event)
        except BudgetExceededError:
            assert (acc.spent, acc.receipts) == before
            continue
        assert acc.spent.epsilon <= eps


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(budget=budgets, costs=st.lists(basic_costs, max_size=15))
def test_sqlite_ledger_never_exceeds_and_always_verifies(budget, costs):
    eps, delta = budget
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.ledger"
        with Accountant.open(
            path, dataset="d", epsilon=eps, delta=delta, synchronous="normal"
        ) as acc:
            spent_eps, spent_delta = _check_sequence(acc, costs, eps, delta)
            n = len(acc.receipts)
        report = verify_ledger(path)
        assert report.ok
        assert report.datasets[0].receipts == n
        assert dec(report.datasets[0].spent.epsilon) >= spent_eps
        assert spent_eps <= dec(eps)
        assert spent_delta <= dec(delta)
