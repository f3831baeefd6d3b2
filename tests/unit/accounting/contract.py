"""AccountantContract: behaviour every accountant must have.

Not collected on its own (its name does not start with ``Test``); each
accountant flavour subclasses it and implements ``make``.
"""

from __future__ import annotations

import itertools
import math
import threading
from fractions import Fraction

import pytest

from loopkit_privacy.accounting import (
    BudgetRefused,
    BudgetThresholdCrossed,
    zcdp_rho_for,
    zcdp_to_approx_dp,
)
from loopkit_privacy.accounting.composition import rho_limit
from loopkit_privacy.errors import (
    BudgetExceededError,
    InsecureRandomnessError,
    InvalidParameterError,
    UnsupportedCompositionError,
)
from loopkit_privacy.loss import ZCDP, ApproxDP, ApproxZCDP, NoiseEvent, PureDP


def dec(x: float) -> Fraction:
    return Fraction(repr(x))


class AccountantContract:
    """Subclasses implement ``make(**kwargs) -> Accountant``."""

    def make(self, **kwargs):  # pragma: no cover - overridden
        raise NotImplementedError

    # ------------------------------------------------------------- exactness
    def test_thousand_small_spends_fill_the_budget_exactly(self):
        acc = self.make(epsilon=1.0)
        for _ in range(1000):
            acc.spend(PureDP(0.001))
        assert acc.spent == PureDP(1.0)
        assert acc.remaining.epsilon == 0.0
        assert not acc.can_spend(PureDP(0.001))
        with pytest.raises(BudgetExceededError, match=r"nothing was spent"):
            acc.spend(PureDP(0.001))
        assert len(acc.receipts) == 1000

    def test_tenths_fill_one(self):
        acc = self.make(epsilon=1.0)
        for _ in range(10):
            acc.spend(PureDP(0.1))
        assert acc.spent == PureDP(1.0)
        assert not acc.can_spend(PureDP(5e-324))

    def test_spent_rounds_up_and_remaining_rounds_down(self):
        acc = self.make(epsilon=1.0)
        acc.spend(PureDP(0.1))
        acc.spend(PureDP(0.2))
        acc.spend(PureDP(1e-17))
        # floats are read as the decimals they print as: the exact total is
        # 3/10 + 1e-17, which no float near 0.3 prints as; spent is the next
        # float above (read as a decimal) and remaining the next one below.
        exact = Fraction(3, 10) + Fraction(1, 10**17)
        assert dec(acc.spent.epsilon) >= exact
        assert dec(acc.remaining.epsilon) <= 1 - exact
        assert acc.spent.epsilon == math.nextafter(0.3, 1.0)
        assert acc.remaining.epsilon == math.nextafter(0.7, 0.0)
        # spending exactly the reported remainder is admitted
        acc.spend(acc.remaining)
        assert not acc.can_spend(PureDP(1e-15))

    # ------------------------------------------------------------- refusals
    def test_refusal_message_and_attributes(self):
        acc = self.make(epsilon=1.0)
        acc.spend(PureDP(0.8), label="warmup")
        expected = (
            "release 'daily_active' needs PureDP(epsilon=0.5) but only "
            "PureDP(epsilon=0.2) remains; nothing was spent"
        )
        with pytest.raises(
            BudgetExceededError, match=r"needs PureDP\(epsilon=0.5\)"
        ) as info:
            acc.spend(PureDP(0.5), label="daily_active")
        assert str(info.value) == expected
        assert info.value.requested == PureDP(0.5)
        assert info.value.remaining == PureDP(0.2)
        assert info.value.label == "daily_active"

    def test_refused_spend_changes_nothing(self):
        acc = self.make(epsilon=1.0, delta=1e-6)
        acc.spend(ApproxDP(0.5, 5e-7), label="a")
        before = (acc.spent, acc.remaining, acc.receipts)
        for cost in (PureDP(0.6), ApproxDP(0.1, 6e-7), ApproxDP(0.6, 1e-7)):
            with pytest.raises(
                BudgetExceededError,
                match=r"release 'too much' needs .* remains; nothing was spent",
            ):
                acc.spend(cost, label="too much")
        assert (acc.spent, acc.remaining, acc.receipts) == before

    def test_epsilon_and_delta_are_checked_jointly(self):
        acc = self.make(epsilon=1.0, delta=1e-6)
        acc.spend(ApproxDP(0.1, 1e-6))
        with pytest.raises(BudgetExceededError, match=r"delta"):
            acc.spend(ApproxDP(0.1, 1e-12))
        acc.spend(PureDP(0.9))  # pure epsilon still fits: delta is not needed
        assert acc.spent == ApproxDP(1.0, 1e-6)
        with pytest.raises(
            BudgetExceededError, match=r"needs PureDP\(epsilon=0.01\) but only ApproxDP"
        ):
            acc.spend(PureDP(0.01))

    def test_pure_budget_refuses_any_delta(self):
        acc = self.make(epsilon=1.0)
        with pytest.raises(
            BudgetExceededError,
            match=r"needs ApproxDP\(epsilon=0.1, delta=1e-09\) but only PureDP",
        ):
            acc.spend(ApproxDP(0.1, 1e-9))
        assert acc.receipts == ()

    def test_can_spend_is_a_dry_run(self):
        acc = self.make(epsilon=1.0)
        assert acc.can_spend(PureDP(1.0))
        assert not acc.can_spend(PureDP(1.5))
        assert not acc.can_spend(ZCDP(0.1))  # basic cannot compose zCDP
        assert acc.receipts == ()
        assert acc.spent.epsilon == 0.0

    # --------------------------------------------------------------- receipts
    def test_receipts_form_a_hash_chain(self):
        acc = self.make(epsilon=1.0)
        for i in range(5):
            acc.spend(
                PureDP(0.1),
                label=f"q{i}",
                mechanism="laplace",
                parameters={"sensitivity": 1.0, "scale": 10.0},
                privacy_unit="user_id",
            )
        receipts = acc.receipts
        assert [r.index for r in receipts] == list(range(5))
        for prev, cur in itertools.pairwise(receipts):
            assert cur.prev_hash == prev.hash
        assert all(r.hash == r.compute_hash() for r in receipts)
        assert len({r.id for r in receipts}) == 5
        r = receipts[2]
        assert (r.label, r.mechanism, r.privacy_unit) == ("q2", "laplace", "user_id")
        assert r.parameters == {"sensitivity": 1.0, "scale": 10.0}
        assert r.cost == PureDP(0.1)
        assert r.insecure is False
        assert r.dataset == acc.dataset
        assert "q2" in repr(r)

    def test_non_json_parameters_are_refused_before_charging(self):
        acc = self.make(epsilon=1.0)
        with pytest.raises(InvalidParameterError, match=r"parameters"):
            acc.spend(PureDP(0.1), parameters={"x": object()})
        with pytest.raises(InvalidParameterError, match=r"parameters"):
            acc.spend(PureDP(0.1), parameters={"x": float("nan")})
        with pytest.raises(InvalidParameterError, match=r"cost"):
            acc.spend(0.1)
        assert acc.receipts == ()

    def test_insecure_randomness(self):
        strict = self.make(epsilon=1.0, allow_insecure=False)
        with pytest.raises(InsecureRandomnessError, match=r"nothing was spent"):
            strict.spend(PureDP(0.1), insecure=True)
        assert strict.receipts == ()
        lax = self.make(epsilon=1.0)
        receipt = lax.spend(PureDP(0.1), insecure=True)
        assert receipt.insecure is True
        assert "INSECURE" in repr(receipt)

    # ------------------------------------------------------------ transaction
    def test_transaction_commits_on_success(self):
        acc = self.make(epsilon=1.0)
        with acc.transaction(PureDP(0.5), label="t") as receipt:
            # the reservation is already charged inside the block
            assert acc.spent == PureDP(0.5)
            assert not acc.can_spend(PureDP(0.6))
        assert acc.receipts == (receipt,)
        assert acc.spent == PureDP(0.5)

    def test_transaction_gives_back_on_exception(self):
        acc = self.make(epsilon=1.0)
        acc.spend(PureDP(0.25), label="kept")
        with pytest.raises(RuntimeError, match="boom"), acc.transaction(PureDP(0.5)):
            raise RuntimeError("boom")
        assert acc.spent == PureDP(0.25)
        assert [r.label for r in acc.receipts] == ["kept"]
        # the freed budget is usable again
        acc.spend(PureDP(0.75))
        assert acc.spent == PureDP(1.0)

    def test_refused_transaction_does_not_run_the_block(self):
        acc = self.make(epsilon=1.0)
        ran = []
        with (
            pytest.raises(BudgetExceededError, match=r"needs PureDP\(epsilon=2.0\)"),
            acc.transaction(PureDP(2.0)),
        ):
            ran.append(True)
        assert ran == []
        assert acc.receipts == ()

    # -------------------------------------------------------------- idempotency
    def test_request_id_makes_a_retry_idempotent(self):
        acc = self.make(epsilon=1.0)
        first = acc.spend(PureDP(0.5), label="q", request_id="req-1")
        again = acc.spend(PureDP(0.5), label="q", request_id="req-1")
        assert again == first
        assert acc.spent == PureDP(0.5)
        with pytest.raises(InvalidParameterError, match=r"request_id"):
            acc.spend(PureDP(0.25), request_id="req-1")
        assert acc.spent == PureDP(0.5)

    def test_released_request_id_can_be_retried(self):
        acc = self.make(epsilon=1.0)
        with (
            pytest.raises(KeyError, match="failed before output"),
            acc.transaction(PureDP(0.5), request_id="r"),
        ):
            raise KeyError("failed before output")
        receipt = acc.spend(PureDP(0.5), request_id="r")
        assert acc.receipts == (receipt,)
        assert acc.spent == PureDP(0.5)

    # ------------------------------------------------------------------ events
    def test_events_for_refusal_and_threshold(self):
        events = []
        acc = self.make(epsilon=1.0, on_event=events.append, warn_fraction=0.8)
        acc.spend(PureDP(0.5), label="a")
        assert events == []
        acc.spend(PureDP(0.375), label="b")  # 0.875 >= 0.8
        acc.spend(PureDP(0.0625), label="c")  # already past: no second event
        assert events == [BudgetThresholdCrossed(acc.dataset, 0.8, 0.875, "b")]
        with pytest.raises(
            BudgetExceededError, match=r"release 'd' needs PureDP\(epsilon=0.5\)"
        ):
            acc.spend(PureDP(0.5), label="d")
        assert isinstance(events[-1], BudgetRefused)
        assert events[-1].label == "d"
        assert events[-1].requested == PureDP(0.5)

    def test_failing_callback_becomes_a_warning_and_keeps_the_charge(self):
        def bad(event):
            raise RuntimeError("callback bug")

        acc = self.make(epsilon=1.0, on_event=bad, warn_fraction=0.5)
        with pytest.warns(UserWarning, match=r"callback bug"):
            acc.spend(PureDP(0.75))
        assert acc.spent == PureDP(0.75)

    # -------------------------------------------------------------- threading
    def test_threads_never_overspend(self):
        m = 120
        acc = self.make(epsilon=m * 0.001)
        wins = []
        lock = threading.Lock()

        def worker():
            n = 0
            while True:
                try:
                    acc.spend(PureDP(0.001))
                except BudgetExceededError:
                    break
                n += 1
            with lock:
                wins.append(n)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(wins) == m
        assert len(acc.receipts) == m
        assert acc.spent == PureDP(m * 0.001)

    # ------------------------------------------------------------------- zCDP
    def test_zcdp_counts_pure_epsilon_as_half_its_square(self):
        acc = self.make(rho=0.5, accounting="zcdp")
        acc.spend(PureDP(0.5))  # rho 0.125
        acc.spend(ZCDP(0.25))
        assert acc.spent == ZCDP(0.375)
        assert acc.remaining == ZCDP(0.125)
        acc.spend(PureDP(0.5))
        assert acc.spent == ZCDP(0.5)
        with pytest.raises(BudgetExceededError, match=r"needs ZCDP\(rho=1e-09\)"):
            acc.spend(ZCDP(1e-9))

    def test_zcdp_with_epsilon_delta_budget_uses_the_cks_conversion(self):
        limit = zcdp_rho_for(1.0, 1e-6).rho
        acc = self.make(epsilon=1.0, delta=1e-6, accounting="zcdp")
        acc.spend(ZCDP(limit))
        assert acc.remaining.rho == 0.0
        with pytest.raises(BudgetExceededError, match=r"needs ZCDP\(rho=1e-12\)"):
            acc.spend(ZCDP(1e-12))

    def test_zcdp_needs_an_event_for_approx_dp(self):
        acc = self.make(rho=1.0, accounting="zcdp")
        with pytest.raises(UnsupportedCompositionError, match=r"event"):
            acc.spend(ApproxDP(0.5, 1e-6))
        # sigma = 10 sensitivities is (0.5, 1e-6)-DP, and 1/200-zCDP
        acc.spend(ApproxDP(0.5, 1e-6), event=NoiseEvent("gaussian", 10.0))
        assert acc.spent == ZCDP(0.005)

    # ------------------------------------------------------ approximate zCDP
    def reopen(self, acc):
        """Another accountant on ``acc``'s ledger and dataset (None in memory)."""
        return None

    def test_zcdp_composes_approx_dp_as_approximate_zcdp(self):
        # An (eps, delta) cost (partition selection) is delta-approximately
        # eps^2/2-zCDP: rho's add, delta's add.
        acc = self.make(epsilon=1.0, delta=1e-5, accounting="zcdp")
        acc.spend(ApproxDP(0.1, 1e-6), label="selection")
        assert acc.spent == ApproxZCDP(0.005, 1e-06)
        acc.spend(ZCDP(0.01), label="values")
        acc.spend(ApproxZCDP(0.001, 2e-6), label="both")
        assert acc.spent == ApproxZCDP(0.016, 3e-06)
        # the rest of rho is what converts within eps=1 at delta 1e-5 - 3e-6
        # (the delta left is rounded down to a multiple of delta / 2**20)
        limit = rho_limit(1.0, 7e-6)
        assert limit - 0.016 >= acc.remaining.rho
        assert acc.remaining.rho == pytest.approx(limit - 0.016, rel=1e-4)
        assert acc.remaining.rho < zcdp_rho_for(1.0, 1e-5).rho - 0.016
        acc.spend(acc.remaining, label="rest")
        with pytest.raises(BudgetExceededError, match=r"nothing was spent"):
            acc.spend(ZCDP(1e-9))
        assert zcdp_to_approx_dp(acc.spent.rho, 7e-6).epsilon <= 1.0
        assert acc.epsilon_at(1e-5) <= 1.0

    def test_zcdp_delta_parts_cannot_exceed_the_budget_delta(self):
        acc = self.make(epsilon=10.0, delta=1e-5, accounting="zcdp")
        acc.spend(ApproxDP(0.1, 6e-6))
        assert not acc.can_spend(ApproxDP(0.1, 4e-6))  # no delta left for rho
        with pytest.raises(BudgetExceededError):
            acc.spend(ApproxDP(0.1, 5e-6))
        acc.spend(ApproxDP(0.1, 3e-6))
        assert acc.spent == ApproxZCDP(0.01, 9e-6)

    def test_approx_zcdp_cost_is_stored_and_replayed(self):
        acc = self.make(epsilon=1.0, delta=1e-5, accounting="zcdp")
        r = acc.spend(ApproxZCDP(0.01, 1e-7), label="a")
        with acc.transaction(ApproxDP(0.2, 1e-7), label="b"):
            pass
        assert r.cost == ApproxZCDP(0.01, 1e-7)
        assert r.to_dict()["cost"] == {"type": "ApproxZCDP", "rho": 0.01, "delta": 1e-7}
        other = self.reopen(acc)
        if other is not None:
            assert [x.cost for x in other.receipts] == [
                ApproxZCDP(0.01, 1e-7),
                ApproxDP(0.2, 1e-7),
            ]
            assert other.spent == acc.spent == ApproxZCDP(0.03, 2e-7)
            other.close()

    def test_a_rho_budget_refuses_delta_parts(self):
        acc = self.make(rho=1.0)
        with pytest.raises(UnsupportedCompositionError, match=r"delta"):
            acc.spend(ApproxZCDP(0.1, 1e-6))
        acc.spend(ApproxZCDP(0.1, 0.0))
        assert acc.spent == ZCDP(0.1)

    def test_basic_and_rdp_refuse_approximate_zcdp(self):
        with pytest.raises(UnsupportedCompositionError):
            self.make(epsilon=1.0).spend(ApproxZCDP(0.1, 1e-6))
        rdp = self.make(epsilon=1.0, delta=1e-6, accounting="rdp")
        with pytest.raises(UnsupportedCompositionError):
            rdp.spend(ApproxZCDP(0.01, 1e-7))
        rdp.spend(ApproxZCDP(0.01, 0.0))  # no delta part: plain zCDP

    def test_basic_refuses_zcdp_costs(self):
        acc = self.make(epsilon=1.0)
        with pytest.raises(UnsupportedCompositionError, match=r"zcdp"):
            acc.spend(ZCDP(0.1))
        assert acc.receipts == ()

    # -------------------------------------------------------------------- RDP
    def test_rdp_composes_gaussian_events(self):
        from loopkit_privacy.accounting import gaussian_rdp, rdp_to_approx_dp
        from loopkit_privacy.accounting.composition import DEFAULT_ORDERS

        acc = self.make(epsilon=4.0, delta=1e-5, accounting="rdp")
        event = NoiseEvent("gaussian", 5.0)
        n = 0
        while acc.can_spend(ApproxDP(1.0, 1e-6), event=event):
            acc.spend(ApproxDP(1.0, 1e-6), event=event)
            n += 1
        # far more than basic composition of (1.0, 1e-6) would allow (4)
        assert n > 4
        per = gaussian_rdp(5.0)
        eps_n = rdp_to_approx_dp(DEFAULT_ORDERS, [n * r for r in per], 1e-5).epsilon
        eps_n1 = rdp_to_approx_dp(
            DEFAULT_ORDERS, [(n + 1) * r for r in per], 1e-5
        ).epsilon
        assert eps_n <= 4.0 < eps_n1
        assert acc.spent.epsilon == pytest.approx(eps_n, rel=1e-9)
        with pytest.raises(UnsupportedCompositionError, match=r"event"):
            acc.spend(ApproxDP(0.01, 1e-9))

    def test_rdp_accepts_pure_and_zcdp_costs_without_event(self):
        acc = self.make(epsilon=2.0, delta=1e-6, accounting="rdp")
        acc.spend(PureDP(0.1))
        acc.spend(ZCDP(0.01))
        assert 0 < acc.spent.epsilon < 2.0

    # -------------------------------------------------------------- bad input
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"epsilon": -1.0}, r"epsilon"),
            ({"epsilon": float("nan")}, r"epsilon"),
            ({"epsilon": float("inf")}, r"epsilon"),
            ({"epsilon": 0.0}, r"epsilon"),
            ({"epsilon": 1.0, "delta": 1.0}, r"delta"),
            ({"epsilon": 1.0, "delta": -1e-9}, r"delta"),
            ({"epsilon": 1.0, "delta": float("nan")}, r"delta"),
            ({"epsilon": 1.0, "accounting": "fancy"}, r"accounting"),
            ({"epsilon": 1.0, "accounting": "zcdp"}, r"delta > 0"),
            ({"epsilon": 1.0, "accounting": "rdp"}, r"delta > 0"),
            ({"rho": 1.0, "accounting": "basic"}, r"accounting='zcdp'"),
            ({"rho": 1.0, "accounting": "rdp"}, r"accounting='zcdp'"),
            ({"rho": "1.0"}, r"rho"),
            ({"rho": True}, r"rho"),
            ({"epsilon": "1.0"}, r"epsilon"),
            ({"epsilon": None, "delta": 1e-6}, r"budget is required"),
            ({"epsilon": 1.0, "delta": None, "accounting": "zcdp"}, r"delta > 0"),
            (
                {"epsilon": 1.0, "delta": 1e-6, "accounting": "rdp", "orders": "abc"},
                r"orders",
            ),
            (
                {"epsilon": 1.0, "delta": 1e-6, "accounting": "rdp", "orders": 5},
                r"orders",
            ),
            (
                {
                    "epsilon": 1.0,
                    "delta": 1e-6,
                    "accounting": "rdp",
                    "orders": [2, None],
                },
                r"orders",
            ),
            (
                {
                    "epsilon": 1.0,
                    "delta": 1e-6,
                    "accounting": "rdp",
                    "orders": [2, True],
                },
                r"orders",
            ),
            ({"epsilon": 1.0, "accounting": ["basic"]}, r"accounting"),
            ({"epsilon": 1.0, "dataset": 5}, r"dataset"),
            ({"epsilon": 1.0, "allow_insecure": "no"}, r"allow_insecure"),
            ({"epsilon": 1.0, "on_event": "print"}, r"on_event"),
            ({"epsilon": 1.0, "warn_fraction": "0.5"}, r"warn_fraction"),
            ({"epsilon": 1.0, "rho": 1.0, "accounting": "zcdp"}, r"not both"),
            ({}, r"budget is required"),
            ({"epsilon": 1.0, "warn_fraction": 1.5}, r"warn_fraction"),
        ],
    )
    def test_bad_budgets_are_refused(self, kwargs, match):
        with pytest.raises(InvalidParameterError, match=match):
            self.make(**kwargs)

    # --------------------------------------------------- a rho budget is zCDP
    def test_a_rho_budget_implies_zcdp_accounting(self):
        acc = self.make(rho=0.5)
        assert acc.accounting == "zcdp"
        assert acc.budget == ZCDP(0.5)
        acc.spend(ZCDP(0.25))
        acc.spend(PureDP(0.5))  # 0.125
        assert acc.spent == ZCDP(0.375)
        explicit = self.make(rho=0.5, accounting="zcdp")
        assert explicit.budget == acc.budget

    # ------------------------------------------------- every wrong argument
    @pytest.mark.parametrize(
        "cost",
        [
            "nonsense",
            "PureDP(0.5)",
            0.5,
            1,
            None,
            True,
            {"epsilon": 0.5},
            (0.5, 0.0),
            Fraction(1, 2),
            NoiseEvent("laplace", 2.0),
            PureDP,
        ],
        ids=repr,
    )
    def test_a_cost_that_is_not_a_privacy_loss_is_refused_everywhere(self, cost):
        acc = self.make(epsilon=1.0)
        acc.spend(PureDP(0.25))
        before = (acc.spent, acc.receipts)
        with pytest.raises(InvalidParameterError, match=r"`cost` must be") as info:
            acc.spend(cost)
        assert info.value.parameter == "cost"
        with pytest.raises(InvalidParameterError, match=r"`cost` must be") as info:
            acc.can_spend(cost)
        assert info.value.parameter == "cost"
        ran = []
        with (
            pytest.raises(InvalidParameterError, match=r"`cost` must be") as info,
            acc.transaction(cost),
        ):
            ran.append(True)  # pragma: no cover - must not run
        assert info.value.parameter == "cost"
        assert ran == []
        assert (acc.spent, acc.receipts) == before

    def test_an_exhausted_remaining_is_not_a_cost(self):
        # acc.remaining of an exhausted budget is a loss of exactly 0, which is
        # shown but is no cost: charging it would record an unreadable receipt
        for kwargs, cost in (
            ({"epsilon": 1.0}, PureDP(1.0)),
            ({"epsilon": 1.0, "delta": 1e-6}, ApproxDP(1.0, 1e-6)),
            ({"rho": 0.5}, ZCDP(0.5)),
        ):
            acc = self.make(**kwargs)
            acc.spend(cost)
            zero = acc.remaining
            for call in (acc.spend, acc.can_spend):
                with pytest.raises(InvalidParameterError, match=r"cost") as info:
                    call(zero)
                assert info.value.parameter == "cost"
            with (
                pytest.raises(InvalidParameterError, match=r"cost"),
                acc.transaction(zero),
            ):
                pass  # pragma: no cover
            assert len(acc.receipts) == 1

    @pytest.mark.parametrize(
        ("kwargs", "parameter"),
        [
            ({"label": True}, "label"),
            ({"label": 5}, "label"),
            ({"label": b"dau"}, "label"),
            ({"label": ["dau"]}, "label"),
            ({"mechanism": 1.5}, "mechanism"),
            ({"privacy_unit": False}, "privacy_unit"),
            ({"request_id": 7}, "request_id"),
            ({"request_id": True}, "request_id"),
            ({"insecure": "yes"}, "insecure"),
            ({"insecure": 1}, "insecure"),
            ({"insecure": None}, "insecure"),
            ({"parameters": [1, 2]}, "parameters"),
            ({"parameters": {"x": float("nan")}}, "parameters"),
            ({"parameters": {1: 2}}, "parameters"),
            ({"parameters": {"x": object()}}, "parameters"),
            ({"event": "laplace"}, "event"),
            ({"event": ("laplace", 2.0)}, "event"),
            ({"event": PureDP(0.5)}, "event"),
        ],
        ids=repr,
    )
    def test_wrong_keyword_arguments_are_refused_and_spend_nothing(
        self, kwargs, parameter
    ):
        acc = self.make(epsilon=1.0)
        with pytest.raises(InvalidParameterError, match=rf"`{parameter}`") as info:
            acc.spend(PureDP(0.5), **kwargs)
        assert info.value.parameter == parameter
        with (
            pytest.raises(InvalidParameterError, match=rf"`{parameter}`"),
            acc.transaction(PureDP(0.5), **kwargs),
        ):
            pass  # pragma: no cover
        if set(kwargs) == {"event"}:
            with pytest.raises(InvalidParameterError, match=r"`event`"):
                acc.can_spend(PureDP(0.5), event=kwargs["event"])
        assert acc.receipts == ()
        assert acc.spent.epsilon == 0.0

    def test_can_spend_still_answers_false_for_costs_it_cannot_compose(self):
        acc = self.make(epsilon=1.0)
        assert acc.can_spend(ZCDP(0.1)) is False
        rdp = self.make(epsilon=1.0, delta=1e-6, accounting="rdp")
        assert rdp.can_spend(ApproxDP(0.1, 1e-9)) is False

    # ------------------------------------------------ cost and event agree
    @pytest.mark.parametrize(
        ("cost", "event"),
        [
            # Laplace with multiplier m is (1/m)-DP
            (PureDP(0.01), NoiseEvent("laplace", 1.0)),
            (PureDP(0.5), NoiseEvent("laplace", 1.0)),
            (ApproxDP(0.5, 1e-3), NoiseEvent("laplace", 1.0)),
            (ZCDP(0.001), NoiseEvent("laplace", 1.0)),  # needs 1/2
            # a Gaussian is never pure DP
            (PureDP(5.0), NoiseEvent("gaussian", 10.0)),
            (ApproxDP(5.0, 0.0), NoiseEvent("gaussian", 10.0)),
            # Gaussian with multiplier m is 1/(2m^2)-zCDP
            (ZCDP(0.1), NoiseEvent("gaussian", 1.0)),  # needs 1/2
            (ApproxDP(0.1, 1e-6), NoiseEvent("gaussian", 1.0)),
            (ApproxDP(1.0, 1e-6), NoiseEvent("gaussian", 3.0)),  # needs m ~ 4.2
        ],
        ids=repr,
    )
    @pytest.mark.parametrize(
        "budget",
        [
            {"epsilon": 10.0, "delta": 1e-3},
            {"epsilon": 10.0, "delta": 1e-3, "accounting": "zcdp"},
            {"epsilon": 10.0, "delta": 1e-3, "accounting": "rdp"},
            {"rho": 10.0},
        ],
        ids=["basic", "zcdp", "rdp", "rho"],
    )
    def test_an_event_weaker_than_its_cost_is_refused(self, budget, cost, event):
        acc = self.make(**budget)
        with pytest.raises(InvalidParameterError, match=r"`event`") as info:
            acc.spend(cost, event=event)
        assert info.value.parameter == "event"
        with pytest.raises(InvalidParameterError, match=r"`event`"):
            acc.can_spend(cost, event=event)
        with (
            pytest.raises(InvalidParameterError, match=r"`event`"),
            acc.transaction(cost, event=event),
        ):
            pass  # pragma: no cover
        assert acc.receipts == ()

    @pytest.mark.parametrize(
        ("cost", "event"),
        [
            (PureDP(1.0), NoiseEvent("laplace", 1.0)),
            (PureDP(1.0), NoiseEvent("laplace", 10.0)),  # more noise than needed
            (ApproxDP(1.0, 1e-6), NoiseEvent("laplace", 1.0)),
            (ZCDP(0.5), NoiseEvent("laplace", 1.0)),
            (ZCDP(0.5), NoiseEvent("gaussian", 1.0)),
            (ApproxDP(1.0, 1e-5), NoiseEvent("gaussian", 3.7307)),  # analytic
            (ApproxDP(6.0, 1e-6), NoiseEvent("gaussian", 1.0)),  # from zCDP
        ],
        ids=repr,
    )
    def test_an_event_at_least_as_strong_as_its_cost_is_accepted(self, cost, event):
        for budget in (
            {"epsilon": 10.0, "delta": 1e-3},
            {"epsilon": 10.0, "delta": 1e-3, "accounting": "zcdp"},
            {"epsilon": 10.0, "delta": 1e-3, "accounting": "rdp"},
        ):
            if isinstance(cost, ZCDP) and "accounting" not in budget:
                continue  # basic accounting cannot compose zCDP at all
            acc = self.make(**budget)
            assert acc.can_spend(cost, event=event)
            acc.spend(cost, event=event)
            assert len(acc.receipts) == 1

    def test_the_library_mechanisms_costs_and_events_are_accepted(self):
        import warnings

        from loopkit_privacy import mechanisms as mech

        built = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # large epsilons warn
            for sens in (1, 3, 7.5, 100, 1e-3):
                for eps in (0.1, 1.0, 5.0):
                    built.append(mech.GeometricMechanism(sensitivity=sens, epsilon=eps))
                    built.append(mech.LaplaceMechanism(sensitivity=sens, epsilon=eps))
                    for delta in (1e-9, 1e-3, 0.1):
                        for cls in (
                            mech.GaussianMechanism,
                            mech.DiscreteGaussianMechanism,
                        ):
                            for dim in (1, 4):
                                built.append(
                                    cls(
                                        sensitivity=sens,
                                        epsilon=eps,
                                        delta=delta,
                                        dimension=dim,
                                    )
                                )
                for rho in (0.01, 0.3, 2.0):
                    built.append(mech.GaussianMechanism(sensitivity=sens, rho=rho))
                    built.append(
                        mech.DiscreteGaussianMechanism(sensitivity=sens, rho=rho)
                    )
        rdp = self.make(epsilon=1e6, delta=0.5, accounting="rdp")
        zcdp = self.make(rho=1e6)
        for m in built:
            for acc in (rdp, zcdp):
                assert acc.can_spend(m.cost, event=m.event), (m.cost, m.event)
            rdp.spend(m.cost, event=m.event)
