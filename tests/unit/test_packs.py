"""Message packs: lookup with fallbacks, loading with paths, contexts, and the built-in wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from recoverykit.channels.telegram import reply_menu
from recoverykit.errors import DefinitionError, MessageNotFound
from recoverykit.messages.lint import guard, lint
from recoverykit.messages.packs import (
    BUILTIN_LANGUAGES,
    MessagePack,
    Segment,
    Tier,
    cart_tier,
    default_pack,
    format_hold_until,
    message_context,
)
from recoverykit.messages.templates import render
from recoverykit.values.model import Channel, Checkout, Customer, Friction, LineItem, Stage
from recoverykit.values.money import Money

TOUCHES = ("remind", "help", "final")
TOUCH_CHANNELS = (Channel.SMS, Channel.WHATSAPP, Channel.EMAIL)
REPLIES = {
    "optout_confirm": (Channel.SMS, Channel.WHATSAPP),
    "help_reply": (Channel.SMS, Channel.WHATSAPP),
    "link_again": (Channel.SMS, Channel.WHATSAPP),
    "thanks": (Channel.SMS, Channel.WHATSAPP),
    "menu.shipping": (Channel.WHATSAPP,),
    "menu.payment": (Channel.WHATSAPP,),
    "menu.items": (Channel.WHATSAPP,),
    "double_optin": (Channel.SMS,),
    "nudge": (Channel.SMS,),
}
CURRENCY = {"en": "USD", "pl": "PLN", "ru": "RUB", "fr": "EUR"}
NAMES = {"en": "Christopher", "pl": "Małgorzata", "ru": "Екатерина", "fr": "Françoise"}


def _checkout(language: str, *, first_name: str | None = "Ada", hold: bool = False) -> Checkout:
    currency = CURRENCY[language]
    return Checkout(
        id="co-1",
        customer=Customer(id="c-1", first_name=first_name, locale=language),
        items=(
            LineItem("a", "Wool scarf", 1, Money("84.00", currency), category="scarves"),
            LineItem("b", "Silk tie", 2, Money("120.00", currency), in_stock=False),
            LineItem("c", "Cotton socks", 3, Money("10.00", currency)),
        ),
        total=Money("1234.50", currency),
        stage=Stage.SHIPPING,
        abandoned_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        link="https://nwnd.example/r/8fK2xQ7pLmZ4vB9tR3wYc1",
        hold_until=datetime(2026, 11, 27, 18, tzinfo=UTC) if hold else None,
    )


def test_every_builtin_template_passes_lint() -> None:
    """The shipped wording obeys the rules the library enforces on everyone else."""
    problems = [
        (t.key, t.channel, t.locale, v) for t in default_pack().templates() for v in lint(t)
    ]
    assert problems == []


@pytest.mark.parametrize("language", BUILTIN_LANGUAGES)
def test_builtin_pack_covers_every_touch_reply_and_friction(language: str) -> None:
    """Each language has every touch for new and returning customers, every reply, every line."""
    pack = default_pack()
    for key in TOUCHES:
        for channel in TOUCH_CHANNELS:
            for segment in Segment:
                assert language == pack.find(key, channel, language, segment=segment).locale
    for key, channels in REPLIES.items():
        for channel in channels:
            assert language == pack.find(key, channel, language).locale
    for friction in Friction:
        assert pack.friction_line(friction, language) is not None
    assert pack.whatsapp_template("remind", language) is not None


#: A gift a store might offer, as the messages name it.
GIFTS = {
    "en": "a linen tote bag",
    "pl": "lniana torba",
    "ru": "льняная сумка",
    "fr": "un sac en lin",
}


@pytest.mark.parametrize("language", BUILTIN_LANGUAGES)
def test_every_sms_fits_two_segments_with_real_values(language: str) -> None:
    """Realistic names, totals, help lines and a short link keep each SMS within two parts;
    a template with ``{help_line}`` fits with every friction line of the pack."""
    pack = default_pack()
    for (key, channel, locale, _seg, _tier), template in pack.slots():
        if channel is not Channel.SMS or locale != language:
            continue
        lines = [pack.friction_line(f, language) for f in Friction]
        for help_line in lines if "help_line" in template.fields else [None]:
            context = message_context(
                _checkout(language, first_name=NAMES[language]),
                store_name="Northwind Studio",
                channel=Channel.SMS,
                zone="Europe/Warsaw",
                help_line=help_line,
                link="https://nwnd.example/r/8fK2xQ7pLmZ4vB9tR3wYc1",
            )
            if "gift" in template.fields:
                context["gift"] = GIFTS[language]
            if "discount_code" in template.fields:
                context["discount_code"] = "BACK-7Q2M9X"
                context["discount_expiry"] = format_hold_until(
                    datetime(2026, 11, 28, 23, 59, tzinfo=UTC), "Europe/Warsaw", language,
                    plain_spaces=True,
                )  # fmt: skip
            rendered = render(template, context)
            found = guard(rendered, store_name="Northwind Studio")
            assert [v for v in found if v.level == "error"] == [], (key, rendered.text)


def test_find_falls_back_tier_segment_language_then_english() -> None:
    """SEAMS 11: (tier, segment) → segment → language (pl_PL → pl) → en."""
    pack = default_pack()
    high = pack.find("help", Channel.WHATSAPP, "pl_PL", segment=Segment.NEW, tier=Tier.HIGH)
    assert (high.locale, high.key) == ("pl", "help")
    assert high == pack.find("help", Channel.WHATSAPP, "pl", tier=Tier.HIGH)
    returning = pack.find("remind", Channel.SMS, "pl_PL", segment=Segment.RETURNING, tier=Tier.LOW)
    assert returning.body.startswith("{store_name}: koszyk")
    assert pack.find("remind", Channel.SMS, "de_DE").locale == "en"


def test_telegram_and_viber_use_the_whatsapp_wording() -> None:
    """Without their own entries, Telegram and Viber get the WhatsApp text, on their channel."""
    pack = default_pack()
    whatsapp = pack.find("remind", Channel.WHATSAPP, "ru")
    telegram = pack.find("remind", Channel.TELEGRAM, "ru")
    assert (whatsapp.body, Channel.TELEGRAM) == (telegram.body, telegram.channel)


def test_missing_entry_names_the_lookup() -> None:
    """Nothing found is a MessageNotFound (a KeyError) that says what was asked."""
    with pytest.raises(MessageNotFound, match=r"'menu.shipping' for email in 'pl'") as info:
        default_pack().find("menu.shipping", Channel.EMAIL, "pl")
    assert isinstance(info.value, KeyError)


def test_friction_line_from_stage_when_reason_unknown() -> None:
    """Without a friction label, the stage reached suggests the line (payment → payment)."""
    pack = default_pack()
    expected = pack.friction_line(Friction.PAYMENT_FAILED, "fr")
    assert expected == pack.friction_line(None, "fr", Stage.PAYMENT)
    assert pack.friction_line(None, "fr", Stage.CART) is None


def test_load_reports_every_problem_with_its_path(tmp_path: Path) -> None:
    """A broken pack lists each problem at its JSON path, from a dict or a file."""
    doc: dict[str, Any] = {
        "name": "mine",
        "languages": {
            "en": {
                "messages": {
                    "remind": {"sms": "{store_name} {ip}", "fax": "x", "sms/vip": "x"},
                },
                "friction": {"weather": "x"},
            },
            "xx_YY_ZZ": {},
        },
    }
    with pytest.raises(DefinitionError) as info:
        MessagePack.load(doc)
    paths = [p.path for p in info.value.problems]
    assert paths == [
        "$.languages.en.messages.remind.sms",
        "$.languages.en.messages.remind.fax",
        "$.languages.en.messages.remind.sms/vip",
        "$.languages.en.friction.weather",
        "$.languages.xx_YY_ZZ",
    ]
    good = {"name": "mine", "languages": {"en": {"messages": {"remind": {"sms": "{store_name}"}}}}}
    path = tmp_path / "pack.json"
    path.write_text(json.dumps(good), "utf-8")
    assert frozenset({"remind"}) == MessagePack.load(path).keys()
    assert default_pack() is MessagePack.load("default")


def test_message_context_formats_for_the_customer() -> None:
    """Totals in the customer's locale, plain spaces in SMS, hold time in the recipient's zone."""
    checkout = _checkout("pl", hold=True)
    sms = message_context(checkout, store_name="N", channel=Channel.SMS, zone="Europe/Warsaw")
    whatsapp = message_context(
        checkout, store_name="N", channel=Channel.WHATSAPP, zone="Asia/Almaty"
    )
    assert sms["total"] == "1 234,50 zł"
    assert whatsapp["total"] == "1\xa0234,50\xa0zł"
    assert sms["hold_until"] == "27 lis, 19:00"
    assert whatsapp["hold_until"] == "27 lis, 23:00"
    assert (sms["top_item"], sms["item_category"], sms["item_count"]) == (
        "Wool scarf",
        "scarves",
        "6",
    )
    anonymous = message_context(
        _checkout("en", first_name=None), store_name="N", channel=Channel.SMS, zone="UTC"
    )
    assert "first_name" not in anonymous
    assert "hold_until" not in anonymous
    assert anonymous["total"] == "$1,234.50"


@pytest.mark.parametrize(
    ("amount", "currency", "tier"),
    [
        ("49.99", "USD", Tier.LOW),
        ("50", "USD", Tier.MID),
        ("200", "USD", Tier.HIGH),
        ("84", "PLN", Tier.LOW),
        ("15700", "KZT", Tier.LOW),
        ("20000", "RUB", Tier.HIGH),
        ("100", "BRL", Tier.MID),
    ],
)
def test_cart_tier(amount: str, currency: str, tier: Tier) -> None:
    """Tiers come from per-currency thresholds; an unknown currency counts as mid."""
    assert tier == cart_tier(Money(amount, currency))


@pytest.mark.parametrize("locale", BUILTIN_LANGUAGES)
def test_viber_has_its_own_wording_in_every_builtin_language(locale: str) -> None:
    """Every touch and the opt-out confirmation have Viber's own text (issue 21): no item
    list, the way out of a Viber chat named, and the help menu still a menu (the Viber
    adapter turns it into a keyboard)."""
    pack = default_pack()
    for key in (*TOUCHES, "optout_confirm"):
        viber = pack.find(key, Channel.VIBER, locale)
        whatsapp = pack.find(key, Channel.WHATSAPP, locale)
        assert (Channel.VIBER, locale) == (viber.channel, viber.locale)
        assert viber.body != whatsapp.body
        assert [] == lint(viber)
    assert 3 == len(reply_menu(pack.find("help", Channel.VIBER, locale).body))
    assert "STOP" in pack.find("remind", Channel.VIBER, locale).body
