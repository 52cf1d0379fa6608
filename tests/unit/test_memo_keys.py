"""Memoized helpers on the decision path never answer one question with another's answer.

Each cache added for speed is keyed on values; these tests pick inputs that are equal
as keys but could differ in meaning (a fold hour, a string for an enum, an amount
written two ways) and compare with the uncached computation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from recoverykit.engine.compose import _tagged, channel_programs
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.links import utm_tags, with_query
from recoverykit.messages.packs import _amounts, _format_hold_until, default_pack, format_hold_until
from recoverykit.programs import programs_for
from recoverykit.values.model import Channel, Customer
from recoverykit.values.money import Money
from recoverykit.values.zones import get_zone


def test_a_fold_hour_is_two_instants_to_the_deadline_cache() -> None:
    """02:30 twice on the autumn night in Warsaw are an hour apart, whatever compares equal."""
    warsaw = get_zone("Europe/Warsaw")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=warsaw)
    second = first.replace(fold=1)
    assert first == second  # same zone: compared by wall time
    assert first.astimezone(UTC) != second.astimezone(UTC)
    for when in (first, second, first):
        assert format_hold_until(when, "UTC", "en") == _format_hold_until(when, "UTC", "en", False)
    assert format_hold_until(first, "UTC", "en") != format_hold_until(second, "UTC", "en")


def test_one_instant_in_two_zones_reads_the_same() -> None:
    """The same instant written in two zones is one deadline."""
    at = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    there = at.astimezone(get_zone("America/Denver"))
    assert format_hold_until(there, "Europe/Warsaw", "pl", plain_spaces=True) == (
        format_hold_until(at, "Europe/Warsaw", "pl", plain_spaces=True)
    )


def test_a_naive_deadline_is_never_memoized() -> None:
    """A naive time means the host's local time, so it is worked out every time."""
    naive = datetime(2026, 11, 27, 18, 0)  # the case under test
    assert format_hold_until(naive, "UTC", "en") == _format_hold_until(naive, "UTC", "en", False)


def test_amounts_written_two_ways_format_alike() -> None:
    """84.0 and 84.00 are one key, and their texts are indeed the same."""
    short, long = Money(Decimal("84.0"), "PLN"), Money(Decimal("84.00"), "PLN")
    for money in (short, long, short):
        expected = (
            money.format("pl", plain_spaces=True),
            money.approximate("pl", plain_spaces=True),
        )
        assert _amounts(money, "pl", True) == expected


def test_a_pack_answers_a_string_channel_like_the_enum() -> None:
    """``"whatsapp"`` and ``Channel.WHATSAPP`` find the same template, before and after."""
    pack = default_pack()
    by_enum = pack.find("remind", Channel.TELEGRAM, "pl")
    assert pack.find("remind", "telegram", "pl") == by_enum  # type: ignore[arg-type]
    assert by_enum.channel is Channel.TELEGRAM
    assert pack.find("remind", Channel.WHATSAPP, "pl").channel is Channel.WHATSAPP


def test_program_rules_follow_the_policy_and_the_number() -> None:
    """The memoized rules equal ``programs_for`` for each policy switch and recipient."""
    customers = [
        Customer(id="c1", phone="+12125551234"),
        Customer(id="c2", phone="+14165551234", country="US"),
        Customer(id="c3", country="US"),
        Customer(id="c4", phone="+48601234567"),
    ]
    policies = [
        RecoveryPolicy(store_name="S"),
        RecoveryPolicy(store_name="S", programs_treat_as_us=True),
        RecoveryPolicy(store_name="S", disabled_rules={"CP-1"}),
    ]
    for customer in customers:
        for policy in policies:
            for channel in Channel:
                assert channel_programs(customer, channel, policy) == programs_for(
                    channel,
                    customer.phone_number,
                    country=customer.country,
                    treat_as_us=policy.programs_treat_as_us,
                    disabled=policy.disabled_rules,
                )


def test_tagged_links_follow_every_argument() -> None:
    """A link is tagged for its own touch, channel and campaign."""
    link = "https://shop.example/c/1?utm_source=mine"
    for touch in (1, 2):
        for channel in (Channel.EMAIL, Channel.WHATSAPP):
            for campaign in ("spring", "checkout-recovery"):
                assert _tagged(link, channel, touch, campaign) == with_query(
                    link, utm_tags(touch, channel, campaign=campaign)
                )
