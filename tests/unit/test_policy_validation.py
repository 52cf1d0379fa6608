"""Policy values refuse nonsense when built, naming the field, the value and the fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from recoverykit import (
    Channel,
    ContactHours,
    DelayWindow,
    DiscountPolicy,
    FrequencyCap,
    GuardPolicy,
    RecoveryPolicy,
    RecoverySequence,
    TimingScale,
    Touch,
    TouchPurpose,
    Variant,
    presets,
)
from recoverykit.errors import DefinitionError, InvalidInputError, InvalidPolicy

H = timedelta(hours=1)
D = timedelta(days=1)


def _policy(**kwargs: object) -> Callable[[], object]:
    return lambda: RecoveryPolicy(store_name="Shop", **kwargs)  # type: ignore[arg-type]


def _one_touch(earliest: timedelta, latest: timedelta, **kwargs: object) -> RecoverySequence:
    return RecoverySequence(
        "one", (Touch(DelayWindow(earliest, latest), TouchPurpose.REMIND, "remind"),)
    )


BAD: dict[str, tuple[Callable[[], object], str]] = {
    "timing low factor negative": (lambda: TimingScale(low_factor=-1), "low_factor"),
    "timing low factor NaN": (lambda: TimingScale(low_factor=float("nan")), "low_factor"),
    "timing low factor above 1": (lambda: TimingScale(low_factor=1.5), "between 0.25 and 1"),
    "timing high factor below 1": (lambda: TimingScale(high_factor=0.5), "high_factor"),
    "timing high factor infinite": (lambda: TimingScale(high_factor=float("inf")), "high_factor"),
    "timing factor a bool": (lambda: TimingScale(high_factor=True), "high_factor"),
    "timing threshold NaN": (
        lambda: TimingScale(low_below={"USD": Decimal("NaN")}),
        "low_below['USD']",
    ),
    "timing threshold negative": (lambda: TimingScale(high_above={"EUR": -5}), "high_above"),
    "timing threshold bad currency": (lambda: TimingScale(low_below={"dollars": 5}), "ISO 4217"),
    "timing cheap above expensive": (
        lambda: TimingScale(low_below={"USD": 900}, high_above={"USD": 100}),
        "both cheap and expensive",
    ),
    "guard negative details": (lambda: GuardPolicy(max_personal_details_sms=-1), "0 or more"),
    "guard zero segments": (lambda: GuardPolicy(max_sms_segments=0), "max_sms_segments"),
    "guard huge whatsapp body": (lambda: GuardPolicy(max_whatsapp_body=5000), "at most 1024"),
    "guard zero link": (lambda: GuardPolicy(max_sms_link=0), "max_sms_link"),
    "guard unknown code": (lambda: GuardPolicy(ignore={"RK999"}), "RK999"),
    "cap zero limit": (lambda: FrequencyCap(0, H), "FrequencyCap.limit"),
    "cap bool limit": (lambda: FrequencyCap(True, H), "FrequencyCap.limit"),
    "cap zero period": (lambda: FrequencyCap(1, timedelta(0)), "FrequencyCap.per"),
    "cap endless period": (lambda: FrequencyCap(1, timedelta(days=10_000)), "366 days"),
    "cap counts no channel": (lambda: FrequencyCap(1, H, channels=set()), "count nothing"),
    "cap applies to no channel": (
        lambda: FrequencyCap(1, H, applies_to=frozenset()),
        "hold back nothing",
    ),
    "policy reads from sms": (
        _policy(read_signals={Channel.SMS, Channel.EMAIL}),
        "read_signals names sms, which never report",
    ),
    "policy reads from telegram": (
        _policy(read_signals={Channel.TELEGRAM}),
        "telegram",
    ),
    "policy negative channel gap": (_policy(channel_gap=-H), "channel_gap"),
    "policy channel gap of a week and more": (_policy(channel_gap=8 * D), "at most 7 days"),
    "window ends before it starts": (lambda: DelayWindow(2 * H, H), "not end before"),
    "window not durations": (lambda: DelayWindow(30, 60), "two timedeltas"),  # type: ignore[arg-type]
    "touch without message": (
        lambda: Touch(DelayWindow(H, H), TouchPurpose.REMIND, " "),
        "Touch.message",
    ),
    "touch delay not a window": (
        lambda: Touch(H, TouchPurpose.REMIND, "remind"),  # type: ignore[arg-type]
        "DelayWindow",
    ),
    "sequence without name": (
        lambda: RecoverySequence("", (Touch(DelayWindow(H, H), TouchPurpose.REMIND, "remind"),)),
        "RecoverySequence.name",
    ),
    "first touch waits on a previous one": (
        lambda: RecoverySequence(
            "s",
            (Touch(DelayWindow(H, H), TouchPurpose.REMIND, "remind", condition="previous_unread"),),
        ),
        "previous_unread",
    ),
    "discount empty categories": (lambda: DiscountPolicy(categories=[]), "categories is empty"),
    "discount NaN minimum": (lambda: DiscountPolicy(min_cart={"PLN": "NaN"}), "min_cart['PLN']"),
    "discount zero abandon limit": (lambda: DiscountPolicy(abandon_limit=0), "abandon_limit"),
    "discount zero once_per": (lambda: DiscountPolicy(once_per=timedelta(0)), "once_per"),
    "variant zero weight": (lambda: Variant("a", weight=0), "weight"),
    "variant NaN weight": (lambda: Variant("a", weight=float("nan")), "weight"),
    "variant without name": (lambda: Variant(""), "Variant.name"),
    "policy without store name": (lambda: RecoveryPolicy(store_name="  "), "store_name"),
    "policy no channels": (_policy(channels=()), "channels is empty"),
    "policy channel twice": (_policy(channels=(Channel.SMS, Channel.SMS)), "twice"),
    "policy region order empty": (_policy(channels_by_region={"PL": ()}), "['PL'] is empty"),
    "policy lower-case region": (
        _policy(channels_by_region={"pl": (Channel.WHATSAPP,)}),
        "write 'PL'",
    ),
    "policy region not a region": (
        _policy(channels_by_region={"Poland": (Channel.WHATSAPP,)}),
        "ISO 3166",
    ),
    "policy hours never open": (
        _policy(contact_hours=ContactHours(week=[[]] * 7)),
        "allow no time",
    ),
    "policy unknown jurisdiction": (_policy(jurisdiction="strict"), "jurisdiction"),
    "policy zero retention": (_policy(retention=timedelta(0)), "retention"),
    "policy retention shorter than sequence": (
        _policy(retention=timedelta(days=2)),
        "before the last touch",
    ),
    "policy negative grace": (_policy(grace=-H), "grace"),
    "policy zero backoff": (_policy(retry_backoff=(timedelta(0),)), "retry_backoff[0]"),
    "policy negative stock level": (_policy(low_stock_at_most=-1), "low_stock_at_most"),
    "policy empty campaign": (_policy(utm_campaign=""), "utm_campaign"),
    "policy NaN holdout": (_policy(holdout=float("nan")), "holdout"),
    "policy variants share a name": (
        _policy(variants=(Variant("a"), Variant("a"))),
        "more than once",
    ),
    "policy cap blocks the sequence": (
        _policy(caps=(FrequencyCap(1, timedelta(days=8)),)),
        "lets at most 1 of the 3 touches",
    ),
    "policy timing folds two touches together": (
        _policy(
            sequence=RecoverySequence(
                "late",
                (
                    Touch(DelayWindow(H, 2 * H), TouchPurpose.REMIND, "remind"),
                    Touch(DelayWindow(3 * D, 4 * D), TouchPurpose.HELP, "help"),
                    Touch(DelayWindow(5 * D, 6 * D), TouchPurpose.FINAL, "final"),
                ),
            ),
            timing=TimingScale(high_factor=2),
        ),
        "puts touch 3 (5d–6d) no later than touch 2",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_nonsense_is_refused_with_a_message_naming_it(name: str) -> None:
    """Each value no store could run is refused, and the message names the offending field
    (a whole sequence reports its problems together, as a DefinitionError)."""
    build, fragment = BAD[name]
    with pytest.raises((InvalidInputError, DefinitionError)) as caught:
        build()
    assert fragment in str(caught.value)


def test_the_policy_errors_are_invalid_policy() -> None:
    """The new checks raise InvalidPolicy, so a caller can catch policy mistakes alone."""
    with pytest.raises(InvalidPolicy):
        TimingScale(low_factor=-1)
    with pytest.raises(InvalidPolicy):
        RecoveryPolicy(store_name="Shop", channels=())


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_is_a_valid_policy(name: str) -> None:
    """The built-in sequences pass every policy check with the default timing scale and caps."""
    policy = RecoveryPolicy(store_name="Shop", sequence=presets.get(name))
    assert presets.get(name) == policy.sequence


def test_sensible_edges_are_accepted() -> None:
    """The edges of each range are values a store may really choose."""
    scale = TimingScale(low_factor=0.25, high_factor=4, low_below={"usd": 10}, high_above={})
    assert (0.25, 1.0, 4.0) == scale.factors()
    assert {"USD": Decimal(10)} == scale.low_below
    assert GuardPolicy(max_personal_details_sms=0, max_whatsapp_body=1024).max_sms_segments == 2
    assert FrequencyCap(1, timedelta(days=366)).limit == 1
    policy = RecoveryPolicy(
        store_name="Shop",
        sequence=_one_touch(timedelta(minutes=5), timedelta(minutes=5)),
        caps=(FrequencyCap(1, timedelta(days=30)),),
        retention=timedelta(days=1),
        grace=timedelta(0),
        timing=None,
    )
    assert timedelta(0) == policy.grace
