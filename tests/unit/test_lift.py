"""Lift against the holdout, the experiment check, and a simulated store with a known effect."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from recoverykit.engine.events import CheckoutAbandoned, Event, OrderPlaced
from recoverykit.engine.policy import RecoveryPolicy, Variant
from recoverykit.errors import ExperimentError, InvalidInputError
from recoverykit.metrics import Lift, Scorecard, check_variants, compare_variants
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.sequence import DelayWindow, RecoverySequence, Touch
from recoverykit.presets import get as preset
from recoverykit.protocols import LogRecord
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def arm_log(
    messaged: tuple[int, int], holdout: tuple[int, int], *, variant: str | None = None
) -> list[LogRecord]:
    """A log with ``(n, ordered)`` checkouts per arm; every messaged checkout got one send."""
    log: list[LogRecord] = []
    for arm, (n, ordered) in (("messaged", messaged), ("holdout", holdout)):
        for i in range(n):
            cid = f"{arm}-{variant}-{i}"
            data: dict[str, Any] = {
                "type": "CheckoutAbandoned",
                "total": {"amount": "50.00", "currency": "EUR"},
                "arm": arm,
                "variant": variant,
            }
            log.append(LogRecord(T0, "event", cid, f"cu-{cid}", data))
            if arm == "messaged":
                log.append(LogRecord(T0 + HOUR, "send", cid, f"cu-{cid}", {"touch": 1}))
            if i < ordered:
                order = {"type": "OrderPlaced", "id": f"o-{cid}"}
                log.append(LogRecord(T0 + 2 * HOUR, "event", cid, f"cu-{cid}", order))
    return sorted(log, key=lambda record: record.at)


def test_lift_reports_difference_with_newcombe_interval() -> None:
    """Intention to treat: 120/1000 against 80/1000 is 4 points with an interval around it."""
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((1000, 120), (1000, 80))))
    assert lift.difference is not None
    assert lift.ci is not None
    assert 0.04 == pytest.approx(lift.difference)
    assert lift.ci[0] < 0.04 < lift.ci[1]
    assert lift.verdict.startswith("messages add 4.0 points (95 % CI ")
    assert 0.5 == pytest.approx(lift.relative)


def test_lift_incremental_orders_and_revenue_scale_the_difference() -> None:
    """Incremental orders are the difference times the messaged arm; revenue uses order value."""
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((1000, 120), (1000, 80))))
    assert lift.incremental_orders is not None
    assert 40.0 == pytest.approx(lift.incremental_orders[0])
    assert Decimal("2000.00") == lift.incremental_revenue["EUR"][0]
    assert {"EUR": Decimal("6000.00")} == lift.attributed_revenue


def test_small_samples_say_how_much_more_data_is_needed() -> None:
    """Equal small arms: the checkouts still needed per arm for a 5-point lift, no verdict."""
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((50, 6), (50, 5))))
    assert lift.missing is not None
    assert lift.required is not None
    # 10 % baseline against 15 %: 686 per arm, 636 missing, said as "about 640".
    assert {"messaged": 686, "holdout": 686} == lift.required
    assert {"messaged": 636, "holdout": 636} == lift.missing
    assert not lift.enough
    assert lift.verdict.startswith(
        "not enough data yet: about 640 more checkouts per arm for a 5-point difference; "
        "so far +2.0 points (95 % CI "
    )
    assert {} == lift.incremental_revenue


def test_a_clear_interval_from_a_tiny_holdout_gets_no_verdict() -> None:
    """The issue's demo: 1 held-out checkout that ordered; the interval excludes zero, no verdict.

    Newcombe's interval is honest about n = 1 yet still excludes zero here, so the
    verdict must come from the required sample, never from the interval alone.
    """
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((9, 1), (1, 1))))
    assert lift.ci is not None
    assert lift.ci[1] < 0
    assert not lift.enough
    assert lift.verdict.startswith("not enough data yet: about ")
    assert "held-out checkouts and" in lift.verdict
    assert "lower" not in lift.verdict
    assert {} == lift.incremental_revenue


def test_an_unequal_split_asks_each_arm_for_its_own_size() -> None:
    """A 10 % holdout is sized for the 9:1 split, not for two equal arms."""
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((2700, 400), (300, 12))))
    assert lift.required is not None
    # 4 % baseline, 9 % alternative, nine messaged per held-out checkout.
    assert {"holdout": 231, "messaged": 2079} == lift.required
    assert lift.enough
    assert lift.verdict.startswith("messages add 10.8 points")


def test_enough_data_and_an_interval_through_zero_says_no_difference() -> None:
    """Both arms past the required sample and an interval through zero: no difference detected."""
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((1000, 100), (1000, 98))))
    assert lift.enough
    assert lift.verdict.startswith("no difference detected: +0.2 points (95 % CI ")


def test_min_effect_must_be_a_share() -> None:
    """A lift of '5' (meant as points) is refused with the spelling that works."""
    card = Scorecard.from_events(arm_log((10, 1), (10, 1)))
    with pytest.raises(InvalidInputError, match=r"write 0\.05 for a 5-point lift"):
        Lift.from_scorecard(card, min_effect=5)


def test_no_holdout_says_how_to_get_one() -> None:
    """Without holdout checkouts the verdict names the policy setting to use."""
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((10, 1), (0, 0))))
    assert (None, None) == (lift.difference, lift.ci)
    assert "holdout=0.1" in lift.verdict


def test_lowered_recovery_is_said_plainly() -> None:
    """A messaged arm clearly below the holdout is reported as lowering recovery."""
    lift = Lift.from_scorecard(Scorecard.from_events(arm_log((1000, 50), (1000, 150))))
    assert lift.verdict.startswith("messages lower recovery by 10.0 points")


def _variant_sequence(delay: timedelta, channel: Channel | None = None) -> RecoverySequence:
    base = preset("three-touch")
    first = base.touches[0]
    touch = Touch(DelayWindow(delay, delay), first.purpose, first.message, channel)
    return RecoverySequence(name="custom", touches=(touch, *base.touches[1:]))


def test_check_variants_names_the_one_variable() -> None:
    """Variants that differ only in touch 1's delay name that variable."""
    policy = RecoveryPolicy(
        store_name="Shop",
        variants=(
            Variant("control", sequence=_variant_sequence(30 * timedelta(minutes=1))),
            Variant("late", sequence=_variant_sequence(2 * HOUR)),
        ),
    )
    assert "touch-1 delay" == check_variants(policy)


def test_check_variants_names_a_preset_swap() -> None:
    """Two built-in presets compared whole are one variable: the sequence preset."""
    policy = RecoveryPolicy(
        store_name="Shop",
        variants=(Variant("a"), Variant("b", sequence=preset("messenger-escalation"))),
    )
    assert "sequence preset" == check_variants(policy)


def test_two_differences_are_an_error_naming_both() -> None:
    """A variant changing delay and channel together is refused, naming both variables."""
    policy = RecoveryPolicy(
        store_name="Shop",
        variants=(
            Variant("control", sequence=_variant_sequence(30 * timedelta(minutes=1))),
            Variant("both", sequence=_variant_sequence(2 * HOUR, Channel.WHATSAPP)),
        ),
    )
    with pytest.raises(ExperimentError) as caught:
        check_variants(policy)
    assert ("touch-1 delay", "touch-1 channel") == caught.value.variables
    assert "'touch-1 delay' and 'touch-1 channel'" in str(caught.value)


def test_identical_variants_are_refused() -> None:
    """Two variants with nothing different cannot teach anything and are refused."""
    policy = RecoveryPolicy(store_name="Shop", variants=(Variant("a"), Variant("b")))
    with pytest.raises(InvalidInputError, match="identical"):
        check_variants(policy)


def test_no_experiment_has_no_variable() -> None:
    """A policy without variants has nothing to check."""
    assert None is check_variants(RecoveryPolicy(store_name="Shop"))


def test_compare_variants_warns_before_the_planned_sample() -> None:
    """Variant results read before the planned sample size are flagged as early."""
    log = arm_log((40, 4), (0, 0), variant="a") + arm_log((40, 8), (0, 0), variant="b")
    (comparison,) = compare_variants(Scorecard.from_events(log))
    assert ("a", "b", True) == (comparison.control, comparison.treatment, comparison.early)
    assert 0.1 == pytest.approx(comparison.difference)


# -- a simulated store with a known true effect --------------------------------------------------
BASELINE = 0.10
EFFECT = 0.10


def _simulate(seed: int, n: int) -> Lift:
    """Seeded customers through the real runner: the holdout orders at 10 %, messaged at 20 %."""
    rng = random.Random(seed)
    policy = RecoveryPolicy(store_name="Sim Shop", holdout=0.5, experiment=f"sim-{seed}")
    store = MemoryStore()
    clock = FakeClock(T0)
    runner = Runner(policy, store, {Channel.SMS: FakeChannel(Channel.SMS, clock=clock)}, clock)
    price = Money("40.00", "GBP")
    timeline: list[tuple[datetime, int, Event]] = []
    with store.transaction() as tx:
        for i in range(n):
            who = Customer(
                id=f"s{seed}-c{i}",
                phone=f"+447400{i:06d}",
                timezone="Europe/London",
                country="GB",
            )
            tx.save_customer(who)
            tx.append_consent(
                ConsentEvent(who.id, Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED,
                             T0 - HOUR, source="checkout_checkbox", text="Remind me.",
                             version="1")
            )  # fmt: skip
            at = T0 + i * timedelta(seconds=20)
            cart = Checkout(
                id=f"s{seed}-k{i}", customer=who, items=(LineItem("SKU", "Mug", 1, price),),
                total=price, stage=Stage.PAYMENT, abandoned_at=at,
                link=f"https://shop.example/r/{i}",
            )  # fmt: skip
            timeline.append((at, 0, CheckoutAbandoned(cart, at=at)))
            chance = BASELINE if policy.in_holdout(cart.id) else BASELINE + EFFECT
            if rng.random() < chance:
                ordered = at + 6 * HOUR
                timeline.append((ordered, 1, OrderPlaced(cart.id, at=ordered, customer_id=who.id)))
    timeline.sort(key=lambda item: (item[0], item[1]))
    for at, _, event in timeline:
        due = store.next_due()
        while due is not None and due < at:
            clock.set(max(due, clock.now()))
            runner.run_due()
            due = store.next_due()
        clock.set(max(at, clock.now()))
        runner.handle(event)
    return Lift.from_scorecard(Scorecard.from_events(store.events()))


def test_simulated_store_recovers_the_true_effect_in_most_seeds() -> None:
    """Over seeded runs, the Newcombe interval holds the true 10-point effect in most seeds."""
    lifts = [_simulate(seed, 500) for seed in range(5)]
    covered = [lift.ci is not None and lift.ci[0] <= EFFECT <= lift.ci[1] for lift in lifts]
    assert sum(covered) >= 4, [lift.verdict for lift in lifts]
    assert all(lift.holdout.n > 150 and lift.messaged.n > 150 for lift in lifts)
