"""Program rules: looking them up per recipient, and a US recovery that obeys them.

CPU time, each figure beside its floor measured in the same run: a dict look-up for
the memoized rule look-ups, and for a whole recovery the decision floor of
``bench_engine`` times the decisions that recovery takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from benchmarks._timing import per_call, per_call_pair, report
from benchmarks.bench_engine import decision_floor
from recoverykit import Channel, Checkout, Customer, LineItem, Money, Stage, presets
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.programs import lint_sequence, programs_for
from recoverykit.testing import EngineDriver

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PHONE = "+12125551234"


def _us_recovery() -> EngineDriver:
    who = Customer(id="c1", first_name="Sam", phone=PHONE, email="sam@example.com", locale="en")
    price = Money("60.00", "USD")
    checkout = Checkout(
        id="chk-1",
        customer=who,
        items=(LineItem("s", "Lamp", 1, price),),
        total=price,
        stage=Stage.PAYMENT,
        abandoned_at=T0,
        link="https://shop.example/c/1",
    )
    consent = [
        ConsentEvent("c1", Channel.SMS, Purpose.RECOVERY, ConsentAction.CONFIRMED, T0, "form"),
        ConsentEvent("c1", Channel.EMAIL, Purpose.RECOVERY, ConsentAction.GRANTED, T0, "form"),
    ]
    policy = RecoveryPolicy(store_name="Lumen Goods", sequence=presets.get("sms-three-touch"))
    driver = EngineDriver(policy, consent=consent)
    driver.feed(CheckoutAbandoned(checkout, T0))
    driver.run_until(T0 + timedelta(days=40))
    return driver


def _decisions() -> int:
    return len(_us_recovery().decisions)


def main() -> None:
    """Print the figures; nothing here asserts on time."""
    sequence = presets.get("sms-three-touch")
    memo = {PHONE: sequence}
    lookup = ("one dict look-up", per_call(lambda: memo.get(PHONE), number=100_000))
    report(
        "programs_for(sms, US number, cached)",
        per_call(lambda: programs_for(Channel.SMS, PHONE), number=20_000),
        lookup,
    )
    report(
        "programs_for(whatsapp, None, country=CA)",
        per_call(lambda: programs_for(Channel.WHATSAPP, None, country="CA"), number=20_000),
        lookup,
    )
    report(
        "lint_sequence(sms-three-touch)",
        per_call(lambda: lint_sequence(sequence), number=20_000),
        lookup,
    )
    seconds, floor = per_call_pair(_us_recovery, decision_floor, number=200, floor_number=20_000)
    decisions = _decisions()
    report(
        f"US recovery, sms-three-touch, whole life ({decisions} decisions)",
        seconds,
        (f"decision floor x{decisions}", floor * decisions),
    )


if __name__ == "__main__":
    main()
