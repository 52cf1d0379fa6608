"""Issue 20 items 5 and 6: the opt-out line on every channel, and tone in every pack language."""

from __future__ import annotations

import pytest

from recoverykit.messages.lint import GuardPolicy, guard, lint
from recoverykit.messages.templates import Template, render
from recoverykit.messages.tone import emoji_run, exclamation_run, has_optout_word, loud_word
from recoverykit.values.model import Channel

OPTOUT = "\nReply STOP to opt out."
CHATS = [Channel.SMS, Channel.WHATSAPP, Channel.TELEGRAM, Channel.VIBER]


def _codes(body: str, *, key: str = "help", channel: Channel = Channel.SMS) -> list[str]:
    return [v.code for v in lint(Template(key, channel, "en", body))]


@pytest.mark.parametrize("channel", CHATS)
def test_every_chat_touch_needs_an_opt_out_line(channel: Channel) -> None:
    """RK103 reads every chat channel, not SMS alone; the line satisfies it on each."""
    assert "RK103" in _codes("{store_name}\nYour checkout: {link}", channel=channel)
    assert "RK103" not in _codes("{store_name}\nYour checkout: {link}" + OPTOUT, channel=channel)


def test_email_carries_its_way_out_in_the_adapter() -> None:
    """The e-mail adapter adds List-Unsubscribe and the visible link, so the text need not."""
    assert "RK103" not in _codes("{store_name}: saved\n\n{link}", channel=Channel.EMAIL)


@pytest.mark.parametrize(
    "text",
    [
        "{store_name}: non-stop deals on your checkout: {link}",
        "{store_name}: NON-STOP delivery, your checkout: {link}",
        "{store_name}: our stopwatch is in your checkout: {link}",
        "{store_name}: nonstop service, your checkout: {link}",
    ],
)
def test_opt_out_words_count_only_as_whole_words(text: str) -> None:
    """'non-stop deals' holds 'stop' but is no way out: RK103 still fires."""
    assert "RK103" in _codes(text, channel=Channel.WHATSAPP)


@pytest.mark.parametrize(
    "line",
    [
        "Reply STOP to opt out.",
        "Odpisz STOP, aby zrezygnować.",
        "Чтобы отписаться, ответьте СТОП.",
        "Répondez ARRÊT pour ne plus recevoir nos messages.",
        "To stop these messages, reply STOP.",
    ],
)
def test_opt_out_lines_in_every_pack_language_count(line: str) -> None:
    assert "RK103" not in _codes("{store_name}: saved: {link}\n" + line, channel=Channel.VIBER)


def test_no_opt_out_keys_and_the_policy_switches() -> None:
    """The unsubscribe confirmation needs no line; a store may turn the rule off."""
    body = "{store_name}\nYou are unsubscribed."
    assert "RK103" not in _codes(body, key="optout_confirm", channel=Channel.WHATSAPP)
    tpl = Template("help", Channel.WHATSAPP, "en", "{store_name}\n{link}")
    assert "RK103" not in [v.code for v in lint(tpl, GuardPolicy(require_optout=False))]
    sms = Template("help", Channel.SMS, "en", "{store_name}: {link}")
    assert "RK103" not in [v.code for v in lint(sms, GuardPolicy(require_optout_sms=False))]
    assert "RK103" in [v.code for v in lint(tpl, GuardPolicy(require_optout_sms=False))]


def test_guard_blocks_a_whatsapp_touch_without_the_line() -> None:
    """At send time the rendered WhatsApp text is read the same way."""
    tpl = Template("final", Channel.WHATSAPP, "en", "{store_name}\nNon-stop deals: {link}")
    rendered = render(tpl, {"store_name": "Shop", "link": "https://s.example/r/1"})
    assert "RK103" in [v.code for v in guard(rendered)]
    fixed = render(
        Template("final", Channel.WHATSAPP, "en", "{store_name}\n{link}" + OPTOUT),
        {"store_name": "Shop", "link": "https://s.example/r/1"},
    )
    assert "RK103" not in [v.code for v in guard(fixed)]


@pytest.mark.parametrize(
    ("phrase", "code"),
    [
        ("Купите немедленно!", "RK110"),
        ("COMPLÉTEZ VOTRE COMMANDE MAINTENANT", "RK110"),
        ("Complétez votre commande maintenant.", "RK110"),
        ("Offre en temps limité.", "RK104"),
        ("Осталось всего 2 штуки.", "RK104"),
        ("Kup natychmiast.", "RK110"),
        ("Oferta przez ograniczony czas.", "RK104"),
        ("Complete your order now.", "RK110"),
        ("Limited stock on your items.", "RK104"),
        ("Your checkout is saved!!!", "RK115"),
        ("Your checkout is saved !!", "RK115"),
        ("Your checkout is saved 🔥🔥🔥", "RK116"),
        ("Your checkout is saved 🛒 🎁 ✨", "RK116"),
        ("Your checkout is saved, GREAT delivery", "RK112"),
    ],
)
def test_tone_rules_in_every_pack_language(phrase: str, code: str) -> None:
    """The issue's examples and their kin are caught, each under its own code."""
    assert code in _codes("{store_name}: " + phrase + " {link}" + OPTOUT)


@pytest.mark.parametrize(
    "text",
    [
        "Вы оставили товары в корзине, она сохранена.",
        "Your checkout is saved! 🛒",
        "Your checkout is saved 👍🏽🙂",
        "Questions? Reply HELP or STOP. Pay by BLIK, prices in PLN incl. VAT.",
        "Now is fine: your checkout stays saved.",
    ],
)
def test_neutral_phrasings_pass(text: str) -> None:
    """What the practices call neutral («вы оставили») and a single '!' or emoji pass."""
    assert _codes("{store_name}: " + text + " {link}" + OPTOUT) == []


def test_tone_helpers_directly() -> None:
    assert exclamation_run("ok! fine!") is None
    assert exclamation_run("ok!!") == "!!"
    assert emoji_run("👨\u200d👩\u200d👧 family") is None  # one ZWJ sequence is one emoji
    assert emoji_run("🇵🇱🇫🇷🇬🇧") is not None
    assert loud_word("Reply STOP, START or HELP", {"STOP", "START", "HELP"}) is None
    assert loud_word("a BONUS for you", set()) == "BONUS"
    assert loud_word("pay by BLIK or VISA", set()) is None
    assert has_optout_word("Reply STOP.", ["stop"])
    assert not has_optout_word("non-stop deals", ["stop"])
