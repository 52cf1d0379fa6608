"""Rules that once survived their own removal: each test here fails without its rule.

The sequence timing rules (a humane sequence waits 5 minutes, grows its delays, ends
within 7 days, has at most 5 touches, never discounts the first), the cart-value
timing scale, and the per-region channel order.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from recoverykit import (
    Channel,
    CheckoutAbandoned,
    Context,
    DelayWindow,
    RecoveryPolicy,
    RecoverySequence,
    SendMessage,
    TimingScale,
    Touch,
    TouchPurpose,
    WakeupDue,
    decide,
    presets,
)
from recoverykit.errors import DefinitionError
from recoverykit.policies.consent import ConsentLedger
from recoverykit.policies.sequence import FIRST_TOUCH_MIN, LAST_TOUCH_MAX
from tests.engine_helpers import T0, checkout, customer, grant

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


def _touch(earliest: timedelta, latest: timedelta | None = None, **kw: object) -> Touch:
    window = DelayWindow(earliest, earliest if latest is None else latest)
    return Touch(window, kw.pop("purpose", TouchPurpose.HELP), "help", **kw)  # type: ignore[arg-type]


# -- sequence timing rules -------------------------------------------------------------------
SEQUENCE_RULES = {
    "first touch sooner than 5 minutes": (
        [_touch(4 * M, purpose=TouchPurpose.REMIND)],
        "$.touches[0].delay",
        "at least 5m",
    ),
    "discount on the first touch": (
        [_touch(30 * M, purpose=TouchPurpose.REMIND, discount=True)],
        "$.touches[0].discount",
        "no discount on the first touch",
    ),
    "a touch after 7 days": (
        [_touch(30 * M), _touch(6 * D, 8 * D)],
        "$.touches[1].delay",
        "within 7d",
    ),
    "delays that do not grow": (
        [_touch(30 * M, 2 * H), _touch(H, 3 * H)],
        "$.touches[1].delay",
        "delays must grow",
    ),
    "six touches": (
        [_touch(k * H) for k in range(1, 7)],
        "$.touches",
        "at most 5",
    ),
    "no touch at all": ([], "$.touches", "at least one touch"),
}


@pytest.mark.parametrize("name", sorted(SEQUENCE_RULES))
def test_a_sequence_breaking_a_timing_rule_is_refused_with_its_path(name: str) -> None:
    """Each sequence rule refuses a sequence that breaks it, naming where."""
    touches, path, words = SEQUENCE_RULES[name]
    with pytest.raises(DefinitionError) as caught:
        RecoverySequence("custom", touches)
    assert [path] == [p.path for p in caught.value.problems if words in p.message]


def test_loading_reports_every_timing_problem_at_once() -> None:
    """from_dict lists each broken rule with its path, not only the first."""
    data = {
        "touches": [
            {"delay": "1m", "purpose": "remind", "discount": True},
            {"delay": "1m", "purpose": "help"},
            {"delay": "9d", "purpose": "final"},
        ]
    }
    with pytest.raises(DefinitionError) as caught:
        RecoverySequence.from_dict(data)
    paths = sorted(p.path for p in caught.value.problems)
    assert [
        "$.touches[0].delay",
        "$.touches[0].discount",
        "$.touches[1].delay",
        "$.touches[2].delay",
    ] == paths


def test_planned_times_stay_between_five_minutes_and_seven_days_whatever_the_scale() -> None:
    """A scaled plan is clamped: never sooner than 5 minutes, never later than 7 days."""
    sequence = RecoverySequence(
        "edges", [_touch(5 * M, 6 * M, purpose=TouchPurpose.REMIND), _touch(5 * D)]
    )
    assert T0 + FIRST_TOUCH_MIN == sequence.planned_at(0, T0, "chk-1", scale=0.25)
    assert T0 + LAST_TOUCH_MAX == sequence.planned_at(1, T0, "chk-1", scale=2.0)


def test_a_window_spreads_carts_but_each_cart_keeps_its_point() -> None:
    """Inside a 30-60 minute window the point depends on the checkout, the same every time."""
    window = DelayWindow(30 * M, 60 * M)
    points = {window.point(f"chk-{n}:0") for n in range(50)}
    assert len(points) > 10
    assert all(30 * M <= p <= 60 * M for p in points)
    assert window.point("chk-7:0") == window.point("chk-7:0")


def test_the_engine_schedules_the_first_touch_at_the_planned_point() -> None:
    """decide wakes the recovery when the sequence plans touch 1, not at a fixed delay."""
    policy = RecoveryPolicy(store_name="Sklep Ola", timing=None)
    cart = checkout(cid="chk-spread")
    decision = decide(
        None, CheckoutAbandoned(cart, T0), now=T0, policy=policy, context=_consent(cart)
    )
    assert policy.sequence.planned_at(0, T0, "chk-spread") == decision.state.wakeup_at


# -- the cart-value timing scale ---------------------------------------------------------------
def _consent(cart: object, *channels: Channel) -> Context:
    who = cart.customer  # type: ignore[attr-defined]
    return Context(consent=ConsentLedger(tuple(grant(who, c) for c in channels or (Channel.SMS,))))


def _first_wakeup(amount: str, policy: RecoveryPolicy) -> object:
    cart = checkout(cid="chk-same", currency="USD", amount=amount)
    decision = decide(
        None, CheckoutAbandoned(cart, T0), now=T0, policy=policy, context=_consent(cart)
    )
    return decision.state.wakeup_at


def test_cheap_carts_hear_sooner_and_dear_carts_later() -> None:
    """The default scale shortens the plan under USD 30 and lengthens it above USD 500."""
    policy = RecoveryPolicy(store_name="Kettle & Co")
    sequence = policy.sequence
    cheap, usual, dear = (_first_wakeup(a, policy) for a in ("12.00", "120.00", "900.00"))
    assert sequence.planned_at(0, T0, "chk-same", 0.75) == cheap
    assert sequence.planned_at(0, T0, "chk-same", 1.0) == usual
    assert sequence.planned_at(0, T0, "chk-same", 1.5) == dear
    assert cheap < usual < dear  # type: ignore[operator]


def test_without_a_scale_every_cart_keeps_the_plan() -> None:
    """timing=None plans every cart the same, whatever its value."""
    policy = RecoveryPolicy(store_name="Kettle & Co", timing=None)
    assert _first_wakeup("12.00", policy) == _first_wakeup("900.00", policy)


def test_the_scale_reads_thresholds_per_currency() -> None:
    """Thresholds apply to their own currency only; a currency without them keeps 1.0."""
    scale = TimingScale(low_below={"PLN": 100}, high_above={"PLN": 1000})
    assert 0.75 == scale.factor(checkout(amount="99.99").total)
    assert 1.0 == scale.factor(checkout(amount="100.00").total)
    assert 1.5 == scale.factor(checkout(amount="1000.01").total)
    assert 1.0 == scale.factor(checkout(currency="JPY", amount="5").total)


# -- the per-region channel order --------------------------------------------------------------
REGIONAL = RecoveryPolicy(
    store_name="Sklep Ola",
    sequence=presets.get("three-touch"),
    channels=(Channel.SMS, Channel.WHATSAPP, Channel.EMAIL),
    channels_by_region={"PL": (Channel.WHATSAPP, Channel.SMS, Channel.EMAIL)},
    timing=None,
)


def _first_channel(phone: str | None, country: str | None = None) -> Channel:
    who = customer(phone=phone, timezone="Europe/Warsaw")
    if country is not None:
        who = attrs.evolve(who, country=country)
    cart = checkout(who, cid="chk-region")
    context = _consent(cart, Channel.SMS, Channel.WHATSAPP, Channel.EMAIL)
    started = decide(None, CheckoutAbandoned(cart, T0), now=T0, policy=REGIONAL, context=context)
    due = started.state.wakeup_at
    assert due is not None

    woke = decide(
        started.state, WakeupDue("chk-region", due), now=due, policy=REGIONAL, context=context
    )
    sends = [c for c in woke.commands if isinstance(c, SendMessage)]
    assert len(sends) == 1, woke.notes
    return sends[0].channel


def test_a_polish_number_follows_the_polish_order() -> None:
    """channels_by_region puts WhatsApp first for a +48 number."""
    assert Channel.WHATSAPP == _first_channel("+48601234567")


def test_other_numbers_follow_the_policys_order() -> None:
    """A number from a region without its own order gets the policy's channels."""
    assert Channel.SMS == _first_channel("+447400123456")


def test_without_a_phone_the_country_picks_the_order() -> None:
    """No phone: the shipping country names the region, so a Polish address gets WhatsApp
    only where there is an address for it (here e-mail, as WhatsApp needs a number)."""
    assert Channel.EMAIL == _first_channel(None, "PL")
    assert Channel.WHATSAPP == REGIONAL.channel_order("PL")[0]
    assert Channel.SMS == REGIONAL.channel_order("GB")[0]
    assert Channel.SMS == REGIONAL.channel_order(None)[0]
