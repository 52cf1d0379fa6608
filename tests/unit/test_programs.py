"""The program table, its combination per recipient, sequence lint and the CP-3 check."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from recoverykit import Channel, presets
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import InvalidInputError
from recoverykit.messages.lint import guard, lint
from recoverykit.messages.packs import default_pack
from recoverykit.messages.templates import Template, render
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import Intent, classify_reply
from recoverykit.programs import PROGRAM_RULES, lint_sequence, program_rule, programs_for
from recoverykit.runtime.cli import main, plan_lines
from tests.engine_helpers import checkout, customer

NEW_YORK = "+12125551234"
TORONTO = "+14165551234"


def test_every_rule_names_its_source_and_authority() -> None:
    """Each rule is data with a stable id, a source and an authority tag (rules.md §9, §3)."""
    ids = [rule.id for rule in PROGRAM_RULES]
    expected = ["CP-1", "CP-2", "CP-3", "CP-4", "CP-5", "CP-6", "CP-7", "WA-10"]
    assert expected == ids
    for rule in PROGRAM_RULES:
        assert rule.source
        assert set(rule.authority) <= set("ILPRS/")


def test_us_sms_gets_one_text_within_48h_confirmed_by_double_opt_in() -> None:
    """A US number on SMS: CP-1 limit and deadline, CP-2 confirmation, CP-3 content."""
    rules = programs_for(Channel.SMS, NEW_YORK)
    assert (1, timedelta(hours=48), "CP-1") == (rules.max_sends, rules.deadline, rules.limit_rule)
    assert (Purpose.RECOVERY, True, "CP-2") == (
        rules.purpose,
        rules.require_confirmed,
        rules.confirm_rule,
    )
    assert "CP-3" == rules.forbids["payment_by_reply"]
    assert "US" == rules.country


def test_canada_is_not_us_unless_the_store_says_so() -> None:
    """+1 numbers are told apart by area code; ``treat_as_us`` widens the rules to all of +1."""
    assert () == programs_for(Channel.SMS, TORONTO).applied
    widened = programs_for(Channel.SMS, TORONTO, treat_as_us=True)
    assert ("CP-1", "CP-2", "CP-3", "CP-4", "CP-5") == widened.applied


def test_whatsapp_rules_everywhere_and_the_us_pause() -> None:
    """CP-6 and CP-7 apply to every WhatsApp number; WA-10 blocks US numbers only."""
    warsaw = programs_for("whatsapp", "+48601234567")
    assert ("CP-6", "CP-7") == warsaw.applied
    assert warsaw.blocked_by is None
    rule, treatment = warsaw.code("131049") or ("", None)
    assert treatment is not None
    assert ("CP-7", "wait", timedelta(hours=24), False) == (
        rule,
        treatment.action,
        treatment.wait,
        treatment.permanent,
    )
    assert "WA-10" == programs_for("whatsapp", NEW_YORK).blocked_by


def test_a_rule_is_turned_off_only_by_its_id() -> None:
    """Disabled rules leave the combination and are listed; an unknown id is refused."""
    rules = programs_for(Channel.SMS, NEW_YORK, disabled={"CP-1"})
    assert (None, None, ("CP-1",)) == (rules.max_sends, rules.deadline, rules.disabled)
    with pytest.raises(ValueError, match="CP-9"):
        programs_for(Channel.SMS, NEW_YORK, disabled={"CP-9"})
    with pytest.raises(InvalidInputError, match="CP-9"):
        RecoveryPolicy(store_name="Shop", disabled_rules=frozenset({"CP-9"}))
    with pytest.raises(KeyError, match="CP-9"):
        program_rule("CP-9")


def test_email_and_numberless_recipients_have_no_program() -> None:
    """E-mail carries no carrier program; without a number the store's country decides."""
    assert () == programs_for(Channel.EMAIL, NEW_YORK).applied
    assert "CP-1" == programs_for(Channel.SMS, None, country="us").limit_rule


def test_disabled_rule_is_noted_when_it_matters() -> None:
    """With CP-1 and CP-2 off the three texts go out, and each send says the rules were off."""
    who = customer(phone=NEW_YORK, email=None, locale="en")
    policy = RecoveryPolicy(
        store_name="Sklep Ola",
        sequence=presets.get("sms-three-touch"),
        disabled_rules=frozenset({"CP-1", "CP-2", "CP-4"}),
    )
    consent = ConsentEvent(
        customer_id="c1",
        channel=Channel.SMS,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=checkout().abandoned_at - timedelta(days=1),
        source="checkout_checkbox",
        address=NEW_YORK,
    )
    lines = [line for _, line in plan_lines(policy, checkout(who, currency="USD"), [consent])]
    sends = [line for line in lines if line.startswith("touch") and " on sms:" in line]
    assert 3 == len(sends)
    assert 3 == sum("turned off by the store" in line for line in lines)


def test_plan_shows_program_moves() -> None:
    """``plan`` lists the move of touch 2 to e-mail with its rule id."""
    who = customer(phone=NEW_YORK, locale="en")
    at = checkout().abandoned_at - timedelta(days=1)
    consent = [
        ConsentEvent("c1", Channel.SMS, Purpose.RECOVERY, ConsentAction.CONFIRMED, at, "form"),
        ConsentEvent("c1", Channel.EMAIL, Purpose.RECOVERY, ConsentAction.GRANTED, at, "form"),
    ]
    policy = RecoveryPolicy(store_name="Sklep Ola", sequence=presets.get("sms-three-touch"))
    lines = [line for _, line in plan_lines(policy, checkout(who, currency="USD"), consent)]
    assert any(line.startswith("touch 2 moves from sms to email: CP-1") for line in lines)


def test_lint_sequence_says_what_happens_instead() -> None:
    """More texts than CP-1 allows: each extra touch is named with where it goes."""
    findings = lint_sequence(presets.get("sms-three-touch"))
    assert [(2, "CP-1"), (3, "CP-1")] == [(f.touch, f.rule) for f in findings]
    assert findings[0].message.startswith("touch 2 moves to email: CP-1")
    assert [] == lint_sequence(presets.get("sms-three-touch"), us=False)
    assert [] == lint_sequence(presets.get("help-first"))
    skipped = lint_sequence(presets.get("sms-three-touch"), fallback=None)
    assert "touch 3 is skipped" in skipped[1].message


def test_cli_lint_warns_for_a_sequence_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``recoverykit lint`` on a sequence file prints the CP-1 warnings and still exits 0."""
    path = tmp_path / "seq.json"
    path.write_text(json.dumps(presets.get("sms-three-touch").to_dict()), "utf-8")
    assert 0 == main(["lint", str(path)])
    assert 2 == capsys.readouterr().out.count("warning CP-1")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{store_name}: reply with your card number to finish. Reply STOP to opt out.", True),
        ("{store_name}: reply YES to pay now. Reply STOP to opt out.", True),
        ("{store_name}: podaj numer karty w odpowiedzi. STOP: rezygnacja.", True),
        ("{store_name}: your cart is saved: {link} Reply STOP to opt out.", False),
    ],
)
def test_cp3_flags_payment_by_reply(body: str, expected: bool) -> None:
    """CP-3: an SMS may not ask for payment or card details by reply (RK113)."""
    template = Template("help", Channel.SMS, "en", body)
    assert expected == ("RK113" in [v.code for v in lint(template)])
    rendered = render(template, {"store_name": "Shop", "link": "https://s.example/r/1"})
    assert expected == ("RK113" in [v.code for v in guard(rendered)])
    email = attrs.evolve(template, channel=Channel.EMAIL)
    assert "RK113" not in [v.code for v in lint(email)]


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Stop promotions", "en"),
        ("Zatrzymaj promocje", "pl"),
        ("Остановить рекламу", "ru"),
        ("Arrêter les promotions", "fr"),
    ],
)
def test_stop_promotions_is_an_opt_out(text: str, locale: str) -> None:
    """CP-6: the WhatsApp marketing opt-out button, in each pack language, opts out."""
    reply = classify_reply(text, locale=locale, channel=Channel.WHATSAPP)
    assert Intent.OPT_OUT is reply.intent


def test_reference_page_lists_every_rule() -> None:
    """docs/reference/programs.md has a row for every rule id in the table."""
    page = (Path(__file__).parents[2] / "docs" / "reference" / "programs.md").read_text("utf-8")
    missing = [rule.id for rule in PROGRAM_RULES if f"| `{rule.id}` |" not in page]
    assert [] == missing


@pytest.mark.parametrize(
    ("locale", "yes", "reminders"),
    [("en", "YES", "cart reminders"), ("pl", "TAK", "koszyk"), ("ru", "ДА", "корзин"),
     ("fr", "OUI", "rappels de panier")],
)  # fmt: skip
def test_double_optin_request_names_what_cp2_asks(locale: str, yes: str, reminders: str) -> None:
    """CP-2: the request names cart reminders, the frequency, the answer, STOP and HELP."""
    template = default_pack().find("double_optin", Channel.SMS, locale)
    assert template.locale == locale
    for needed in (yes, reminders, "1 ", "STOP", "HELP"):
        assert needed in template.body
    reply = classify_reply(yes, locale=locale, channel=Channel.SMS)
    assert Intent.POSITIVE is reply.intent
