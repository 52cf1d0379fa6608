"""The creepiness guard: lint on templates, guard on rendered messages."""

from __future__ import annotations

import pytest

from recoverykit.messages.lint import CODES, GuardPolicy, guard, lint
from recoverykit.messages.templates import Template, render
from recoverykit.values.model import Channel

OPTOUT = "\nReply STOP to opt out."


def _codes(body: str, *, key: str = "help", channel: Channel = Channel.SMS) -> list[str]:
    return [v.code for v in lint(Template(key, channel, "en", body))]


def test_clean_template_has_no_violations() -> None:
    """A calm SMS with the brand first and an opt-out line passes."""
    assert _codes("{store_name}: your checkout is saved: {link}" + OPTOUT) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{store_name}: hi {first_name}, {top_item} is saved" + OPTOUT, "RK101"),
        ("Your checkout is saved.\n{store_name}" + OPTOUT, "RK102"),
        ("{store_name}: your checkout is saved: {link}", "RK103"),
        ("{store_name}: hurry, your checkout is saved" + OPTOUT, "RK104"),
        ("{store_name}: we noticed you looked at this" + OPTOUT, "RK105"),
        ("{store_name}: мы заметили вашу корзину" + OPTOUT, "RK105"),
        ("{store_name}: you abandoned your cart" + OPTOUT, "RK106"),
        ("{store_name}: вы бросили корзину" + OPTOUT, "RK106"),
        ("{store_name}: buy now" + OPTOUT, "RK110"),
        ("{store_name}: your ORDER AWAITS" + OPTOUT, "RK112"),
        ("{store_name}: " + "saved " * 60 + OPTOUT, "RK108"),
    ],
)
def test_each_check_has_a_stable_code(body: str, code: str) -> None:
    """Every rule reports under its own code, whatever the language of the phrase."""
    assert code in _codes(body)


def test_urgency_allowed_with_a_real_hold_time() -> None:
    """Time words are fine when the message states the real hold time."""
    assert _codes("{store_name}: hurry, we hold it until {hold_until}" + OPTOUT) == []


def test_discount_never_on_first_touch() -> None:
    """A code or a discount phrase in `remind` (or touch 1) is refused; later it is allowed."""
    assert "RK107" in _codes("{store_name}: code {discount_code}" + OPTOUT, key="remind")
    body = "{store_name}: 10% off with a coupon" + OPTOUT
    assert "RK107" in [v.code for v in lint(Template("x", "sms", "en", body), touch_index=1)]
    assert "RK107" not in _codes(body, key="final")


def test_whatsapp_body_limit() -> None:
    """A WhatsApp body over 1 024 characters with typical values is refused."""
    body = "{store_name} " + "x" * 1000 + " Reply STOP."
    assert _codes(body, channel=Channel.WHATSAPP) == ["RK109"]


def test_optout_confirmation_needs_no_optout_line() -> None:
    """The opt-out confirmation is itself the way out; it carries START instead."""
    assert _codes("{store_name}: you will get no more messages.", key="optout_confirm") == []


def test_policy_can_allow_more_details_and_ignore_codes() -> None:
    """The limits are a policy; a store may raise them or accept a warning by code."""
    body = "{store_name}: hi {first_name}, {top_item} is saved" + OPTOUT
    template = Template("help", "sms", "en", body)
    assert lint(template, GuardPolicy(max_personal_details_sms=2)) == []
    assert lint(template, GuardPolicy(ignore={"RK101"})) == []


def test_codes_have_levels() -> None:
    """Every code is documented with a level; warnings never block."""
    assert {"error", "warning"} == {c.level for c in CODES.values()}


def test_guard_checks_the_rendered_text() -> None:
    """guard sees values: the brand in the first line, the real segments, the link."""
    template = Template("help", "sms", "en", "{store_name}: saved {link}" + OPTOUT)
    long_link = "https://shop.example/checkout/" + "x" * 40
    rendered = render(template, {"store_name": "Northwind", "link": long_link})
    assert [v.code for v in guard(rendered, store_name="Northwind")] == ["RK111"]
    assert [v.code for v in guard(rendered, store_name="Acme")] == ["RK102", "RK111"]


def test_guard_urgency_depends_on_a_known_hold() -> None:
    """A value that adds urgency is blocked unless the checkout has a real hold time."""
    template = Template("help", "sms", "en", "{store_name}: {help_line}" + OPTOUT)
    rendered = render(template, {"store_name": "N", "help_line": "Last chance today!"})
    assert [v.code for v in guard(rendered)] == ["RK104"]
    assert guard(rendered, hold_until_known=True) == []


def test_guard_blocks_too_many_segments() -> None:
    """A rendered SMS over the budget is an error-level violation."""
    template = Template("help", "sms", "en", "{store_name}: {help_line}" + OPTOUT)
    rendered = render(template, {"store_name": "N", "help_line": "ok " * 120})
    found = guard(rendered)
    assert [(v.code, v.level) for v in found] == [("RK108", "error")]


def test_sms_with_a_personal_value_is_counted_as_ucs2() -> None:
    """A name may hold any letter (Zoë, Françoise), so lint budgets such an SMS as UCS-2."""
    filler = "your checkout is saved and ready " * 3
    assert "RK108" in _codes("{store_name}: hi {first_name}, " + filler + OPTOUT)
    assert "RK108" not in _codes("{store_name}: hi, " + filler + OPTOUT)


@pytest.mark.parametrize(
    "body",
    [
        "{store_name}: DON’T MISS your saved cart" + OPTOUT,
        "{store_name}: dont miss your saved cart" + OPTOUT,
        "{store_name}: Zauwazylismy, ze koszyk czeka" + OPTOUT,
        "{store_name}: nous avons remarque votre panier" + OPTOUT,
    ],
)
def test_phrases_are_found_however_they_are_spelled(body: str) -> None:
    """The guard folds text the way replies are read (``recoverykit.policies.text``):
    case, curly or missing apostrophes and missing accents do not hide a phrase."""
    assert {"RK104", "RK105"} & set(_codes(body))
