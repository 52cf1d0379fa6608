"""The creepiness guard: lint on templates, guard on rendered messages."""

from __future__ import annotations

import pytest

from recoverykit.errors import InvalidPolicy
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


CHAT_STOP = "\nReply STOP and we will not write again."


@pytest.mark.parametrize("channel", [Channel.WHATSAPP, Channel.TELEGRAM, Channel.VIBER])
def test_chats_carry_at_most_two_personal_details(channel: Channel) -> None:
    """RK101 on every chat channel: two details pass, a third is refused by lint and guard."""
    two = "{store_name}\n{top_item} is saved, {total} in all: {link}" + CHAT_STOP
    three = "{store_name}\nHi {first_name}, {top_item} is saved, {total} in all: {link}" + CHAT_STOP
    assert "RK101" not in _codes(two, channel=channel)
    [finding] = [v for v in lint(Template("help", channel, "en", three)) if v.code == "RK101"]
    assert finding.message.endswith("carries at most 2")
    values = {
        "store_name": "Northwind", "first_name": "Ada", "top_item": "Kettle",
        "total": "$84.00", "link": "https://shop.example/r/1",
    }  # fmt: skip
    rendered = render(Template("help", channel, "en", three), values)
    assert ["RK101"] == [v.code for v in guard(rendered, store_name="Northwind")]


def test_e_mail_has_no_detail_limit_unless_the_store_sets_one() -> None:
    """E-mail carries detailed help; a store may still give it a limit of its own."""
    body = "{store_name}: your cart\n\nHi {first_name}, {top_item}, {item_count} items, {total}."
    template = Template("help", Channel.EMAIL, "en", body)
    assert "RK101" not in [v.code for v in lint(template)]
    strict = GuardPolicy(max_personal_details={Channel.EMAIL: 2})
    assert "RK101" in [v.code for v in lint(template, strict)]


def test_detail_limits_are_policy_data() -> None:
    """A store may raise the WhatsApp limit; an SMS limit named here wins over the old field;
    an unknown channel or a negative count is refused."""
    body = "{store_name}\nHi {first_name}, {top_item} is saved, {total} in all." + CHAT_STOP
    template = Template("help", Channel.WHATSAPP, "en", body)
    assert lint(template, GuardPolicy(max_personal_details={"whatsapp": 3})) == []
    sms = Template("help", "sms", "en", "{store_name}: hi {first_name}, {top_item}" + OPTOUT)
    assert lint(sms, GuardPolicy(max_personal_details={Channel.SMS: 2})) == []
    assert GuardPolicy().personal_detail_limit(Channel.EMAIL) is None
    merged = GuardPolicy(max_personal_details={Channel.WHATSAPP: 1, Channel.TELEGRAM: None})
    assert (1, None, 2) == tuple(
        merged.personal_detail_limit(c) for c in (Channel.WHATSAPP, Channel.TELEGRAM, Channel.VIBER)
    )
    with pytest.raises(InvalidPolicy, match="unknown channel 'fax'"):
        GuardPolicy(max_personal_details={"fax": 1})
    with pytest.raises(InvalidPolicy, match="max_personal_details\\['viber'\\]"):
        GuardPolicy(max_personal_details={Channel.VIBER: -1})


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
