"""WhatsApp templates derived from the pack: what Meta approves is what the guard checked.

The export is checked against Meta's OpenAPI description of the template-creation
request, read from ``../shared/reference/meta/``; those tests skip, saying why, where
that folder is absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit import presets
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import TemplateError, TemplateMismatch
from recoverykit.messages.packs import MessagePack, default_pack
from recoverykit.messages.templates import Template, render
from recoverykit.messages.whatsapp_templates import (
    TEMPLATE_RULES,
    Category,
    derive_template,
    pack_templates,
    template_for_send,
    template_name,
)
from recoverykit.runtime.cli import main
from recoverykit.runtime.driver import EngineDriver
from recoverykit.testing.strategies import checkouts
from recoverykit.values.model import Channel, Checkout
from tests.engine_helpers import T0, checkout, customer, grant
from tests.meta_schema import meta_spec, schema_problems

STORE = "Linen & Co"
TO = "48601234567"


def whatsapp_touches(pack: MessagePack) -> list[Template]:
    """Every WhatsApp entry a touch sends (replies answer inside the window as text)."""
    return [
        template
        for (key, channel, _locale, _seg, _tier), template in pack.slots()
        if channel is Channel.WHATSAPP
        and not key.startswith("menu.")
        and key not in {"optout_confirm", "thanks", "help_reply", "link_again"}
    ]


def one_pack(entry: Any, ref: Mapping[str, Any] | None = None, language: str = "en") -> MessagePack:
    """A pack with one WhatsApp ``remind`` entry (and its approved-template entry)."""
    body: dict[str, Any] = {"messages": {"remind": {"whatsapp": entry}}}
    if ref is not None:
        body["whatsapp_templates"] = {"remind": dict(ref)}
    return MessagePack.load({"name": "t", "languages": {language: body}})


REMIND = "{store_name}\nYour checkout with {top_item} is saved: {link}\nReply STOP to opt out."
VALUES = {"store_name": STORE, "top_item": "Linen shirt", "link": "https://shop.example/c/1"}


# -- derivation --------------------------------------------------------------------------------
def test_the_entry_becomes_a_template_with_numbered_parameters() -> None:
    """The store's name is written in; every other field is a parameter, in reading order."""
    template = one_pack(REMIND).find("remind", Channel.WHATSAPP, "en")
    derived = derive_template(template, store_name=STORE, name="cart_remind")
    assert derived.body == (
        "Linen & Co\nYour checkout with {{1}} is saved: {{2}}\nReply STOP to opt out."
    )
    assert ("top_item", "link") == derived.fields
    assert ("STOP",) == derived.buttons
    assert Category.MARKETING == derived.category
    assert "WA-6" in derived.category_reason


def test_the_menu_and_stop_become_quick_replies() -> None:
    """A line naming 1, 2 and 3 is the menu; the opt-out word is the last button."""
    pack = default_pack()
    for language in ("en", "pl", "ru", "fr"):
        help_ = pack.find("help", Channel.WHATSAPP, language)
        derived = derive_template(help_, store_name=STORE, name="cart_help")
        assert ("1", "2", "3", "STOP") == derived.buttons, language
        final = pack.find("final", Channel.WHATSAPP, language)
        assert ("STOP",) == derive_template(final, store_name=STORE, name="f").buttons


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("{top_item} is saved.\nReply STOP", "edge_parameter"),
        ("{store_name}: saved, see {link}", "edge_parameter"),
        ("{store_name}\nSaved: {top_item} {link}\nReply STOP", "adjacent_parameters"),
        ("{store_name}\nSaved:\n{link}\nReply STOP", "parameter_line"),
        ("{store_name}\nSaved {{{{ {link} here.\nReply STOP", "literal_braces"),
        ("{store_name}\n" + "word " * 210 + "{link} here.", "body_length"),
    ],
)
def test_each_meta_rule_refuses_an_entry_that_breaks_it(body: str, rule: str) -> None:
    """Each of Meta's body rules is checked when the template is made, naming its source."""
    template = one_pack(body).find("remind", Channel.WHATSAPP, "en")
    with pytest.raises(TemplateError) as caught:
        derive_template(template, store_name=STORE, name="cart_remind")
    assert TEMPLATE_RULES[rule].rule in str(caught.value)
    assert TEMPLATE_RULES[rule].source in str(caught.value)


def test_a_bad_name_is_refused() -> None:
    template = one_pack(REMIND).find("remind", Channel.WHATSAPP, "en")
    with pytest.raises(TemplateError, match="lower-case letters"):
        derive_template(template, store_name=STORE, name="Cart Remind")


def test_a_button_label_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick-reply labels are checked against Meta's limit (shrunk here to catch 'STOP')."""
    from recoverykit.messages import whatsapp_templates as wt

    template = one_pack(REMIND).find("remind", Channel.WHATSAPP, "en")
    monkeypatch.setattr(wt, "BUTTON_TEXT_MAX", 3)
    wt._derive.cache_clear()
    try:
        with pytest.raises(TemplateError, match="the label 'STOP' is 4 characters"):
            derive_template(template, store_name=STORE, name="cart_remind")
    finally:
        wt._derive.cache_clear()


@pytest.mark.parametrize("value", ["Linen\nshirt", "Linen\tshirt", "Linen     shirt"])
def test_a_parameter_value_meta_would_refuse_stops_the_send(value: str) -> None:
    """No line break, tab or four spaces in a row inside a parameter (rule parameter_value)."""
    pack = one_pack(REMIND, {"name": "cart_remind", "language": "en"})
    template = pack.find("remind", Channel.WHATSAPP, "en")
    with pytest.raises(TemplateError, match="four spaces in a row") as caught:
        template_for_send(pack, template, {**VALUES, "top_item": value}, store_name=STORE, to=TO)
    assert TEMPLATE_RULES["parameter_value"].source in str(caught.value)


def test_names_follow_the_entry_variant() -> None:
    from recoverykit.messages.packs import Segment, Tier

    assert "cart_remind_v2" == template_name("cart_remind_v2")
    assert "cart_help_returning_high_fallback" == template_name(
        "cart_help", segment=Segment.RETURNING, tier=Tier.HIGH, fallback=True
    )


# -- the round trip ----------------------------------------------------------------------------
_SAFE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
).filter(lambda s: s.strip() and "    " not in s)


@given(data=st.data())
def test_parameters_put_into_the_body_give_the_checked_text(data: st.DataObject) -> None:
    """For every built-in WhatsApp touch in every language: the approved body with the send's
    parameters put in is exactly the text ``render`` made for the guard, whatever the values
    (braces, '{{1}}', non-Latin script included)."""
    template = data.draw(st.sampled_from(whatsapp_touches(default_pack())))
    values = {
        name: data.draw(_SAFE_TEXT | st.just("{{1}}") | st.just("{link}"), label=name)
        for name in template.fields
    }
    values["store_name"] = STORE
    if data.draw(st.booleans(), label="drop optional") and "first_name" in values:
        del values["first_name"]
    if data.draw(st.booleans(), label="drop help line") and template.fallback is not None:
        values.pop("help_line", None)
    try:
        rendered = render(template, values)
    except TemplateError:
        return  # a missing value with no fallback: nothing to send
    pack = default_pack()
    send = template_for_send(pack, template, values, store_name=STORE, to=TO)
    assert rendered.text == send.template.fill(send.parameters) == send.text
    sent = send.payload["template"]["components"][0]["parameters"]
    assert list(send.parameters) == [p["text"] for p in sent]


def _exported(pack: MessagePack) -> dict[tuple[str, str], Any]:
    return {(t.name, t.language): t for t in pack_templates(pack, store_name=STORE)}


@given(chk=checkouts())
def test_whatsapp_touches_outside_the_window_carry_the_checked_words(chk: Checkout) -> None:
    """Through the engine: each WhatsApp touch outside the 24 h window is a template the
    export contains, whose body with the sent parameters is the message's checked text."""
    who = attrs.evolve(chk.customer, phone="+48601234567", country=None, timezone=None)
    chk = attrs.evolve(chk, customer=who, abandoned_at=T0, hold_until=None)
    policy = RecoveryPolicy(store_name=STORE, sequence=presets.get("whatsapp-three-touch"))
    driver = EngineDriver(policy, consent=[grant(who, Channel.WHATSAPP)])
    driver.feed(CheckoutAbandoned(chk, T0))
    driver.run_until(T0 + timedelta(days=8))
    exported = _exported(default_pack())
    touches = [sent.message for sent in driver.touches(chk.id)]
    assert touches, notes(driver)
    for message in touches:
        payload = message.whatsapp_payload
        assert payload is not None
        template = payload["template"]
        approved = exported[template["name"], template["language"]["code"]]
        params = [p["text"] for p in template["components"][0]["parameters"]]
        assert message.text == approved.fill(params)


def notes(driver: EngineDriver) -> list[Any]:
    """Every note of every decision the driver made."""
    return [note for _at, _event, decision in driver.decisions for note in decision.notes]


# -- what the store approved ---------------------------------------------------------------------
def _send(ref: Mapping[str, Any], *, language: str = "en") -> Any:
    pack = one_pack(REMIND, ref, language)
    template = pack.find("remind", Channel.WHATSAPP, language)
    return template_for_send(pack, template, VALUES, store_name=STORE, to=TO)


APPROVED_BODY = "Linen & Co\nYour checkout with {{1}} is saved: {{2}}\nReply STOP to opt out."


def test_a_matching_approval_sends_the_derived_template() -> None:
    send = _send(
        {
            "name": "cart_remind",
            "language": "en_US",
            "parameters": ["top_item", "link"],
            "approved": {"cart_remind": APPROVED_BODY},
        }
    )
    assert "cart_remind" == send.payload["template"]["name"]
    assert "en_US" == send.payload["template"]["language"]["code"]
    buttons = [c for c in send.payload["template"]["components"] if c["type"] == "button"]
    assert [{"type": "payload", "payload": "STOP"}] == buttons[0]["parameters"]


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        (
            {
                "name": "cart_remind",
                "language": "en",
                "parameters": ["store_name", "total", "link"],
            },
            "takes 3 parameter(s) (store_name, total, link), but the pack's text needs 2",
        ),
        (
            {"name": "cart_remind", "language": "en", "approved": {"cart_remind_v1": "x {{1}} y"}},
            "'cart_remind' (en) is not among the approved ones",
        ),
        (
            {
                "name": "cart_remind",
                "language": "en",
                "approved": {"cart_remind": APPROVED_BODY.replace("saved", "kept")},
            },
            "approved template 'cart_remind' (en) reads",
        ),
        ({"name": "cart_remind", "language": "pl"}, "is in 'pl', but the pack's 'remind' text"),
    ],
)
def test_an_approval_that_differs_from_the_pack_refuses_the_send(
    ref: Mapping[str, Any], says: str
) -> None:
    """Name, language, parameters and body the store approved must be the pack's."""
    with pytest.raises(TemplateMismatch) as caught:
        _send(ref)
    assert says in str(caught.value)
    assert "recoverykit templates export" in caught.value.fix or "entry" in caught.value.fix


def test_a_single_stated_template_does_not_cover_the_variants() -> None:
    """An entry stating ``parameters`` (and no ``approved`` list) registers only its base
    template: the fallback's template is refused rather than sent under a name Meta lacks."""
    entry = {
        "body": "{store_name}\nHi {first_name}, your checkout is saved: {link}\nReply STOP.",
        "fallback": "{store_name}\nHi, your checkout is saved: {link}\nReply STOP to opt out.",
    }
    ref = {"name": "cart_remind", "language": "en", "parameters": ["first_name", "link"]}
    pack = one_pack(entry, ref)
    template = pack.find("remind", Channel.WHATSAPP, "en")
    named = {**VALUES, "first_name": "Anna"}
    send = template_for_send(pack, template, named, store_name=STORE, to=TO)
    assert "cart_remind" == send.payload["template"]["name"]
    with pytest.raises(TemplateMismatch, match="'cart_remind_fallback' \\(en\\) is not registered"):
        template_for_send(pack, template, VALUES, store_name=STORE, to=TO)


def test_creation_examples_speak_the_templates_language() -> None:
    """Meta's reviewers read the example values: they come in the template's language."""
    exported = pack_templates(default_pack(), store_name=STORE, languages=["pl", "ru"])
    remind = {t.language: t.request() for t in exported if t.name == "cart_remind_v2"}
    assert "https://" in remind["pl"]["components"][0]["example"]["body_text"][0][1]
    items = {lang: r["components"][0]["example"]["body_text"][0][0] for lang, r in remind.items()}
    assert items["pl"] != items["ru"]
    assert any("\u0400" <= ch <= "\u04ff" for ch in items["ru"])


def test_a_mismatch_skips_the_touch_with_a_note_naming_the_template() -> None:
    """Through the engine: the touch is skipped as ``template_mismatch``, never sent."""
    data = json.loads(json.dumps({"name": "stale", "languages": {}}))
    base = default_pack()
    languages: dict[str, Any] = {}
    for (key, channel, locale, segment, tier), template in base.slots():
        if channel is not Channel.WHATSAPP or segment or tier or locale != "pl":
            continue
        entry: Any = template.body
        if template.fallback is not None:
            entry = {"body": template.body, "fallback": template.fallback}
        languages.setdefault(locale, {"messages": {}})["messages"].setdefault(key, {})[
            "whatsapp"
        ] = entry
    languages["pl"]["whatsapp_templates"] = {
        key: {"name": f"cart_{key.replace('.', '_')}_v1", "language": "pl", "parameters": ["link"]}
        for key in ("remind", "help", "final")
    }
    data["languages"] = languages
    pack = MessagePack.load(data)
    who = customer()
    policy = RecoveryPolicy(
        store_name=STORE, sequence=presets.get("whatsapp-three-touch"), pack=pack
    )
    driver = EngineDriver(policy, consent=[grant(who, Channel.WHATSAPP)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(hours=3))
    assert [] == driver.touches("chk-1")
    skipped = [n for n in notes(driver) if getattr(n, "reason", None) == "template_mismatch"]
    assert skipped, notes(driver)
    assert "cart_remind_v1" in skipped[0].detail
    assert "templates export" in skipped[0].detail


# -- export --------------------------------------------------------------------------------------
def test_the_export_covers_every_touch_entry_of_every_language() -> None:
    exported = pack_templates(default_pack(), store_name=STORE)
    languages = {t.language for t in exported}
    assert {"en", "pl", "ru", "fr"} <= languages
    names = {t.name for t in exported if t.language == "en"}
    assert {"cart_remind_v2", "cart_help_v2", "cart_help_v2_fallback", "cart_final_v2"} <= names
    assert all(t.category is Category.MARKETING for t in exported)
    assert not any(t.key.startswith("menu.") or t.key == "optout_confirm" for t in exported)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """Meta's OpenAPI description, read once (the tests using it skip without it)."""
    return meta_spec()


def _creation(spec: dict[str, Any]) -> dict[str, Any]:
    post: dict[str, Any] = spec["paths"]["/{Version}/{WABA-ID}/message_templates"]["post"]
    content: dict[str, Any] = post["requestBody"]["content"]["application/json"]
    return content


def _shape(node: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    """Every (place, key) in a JSON value, arrays folded: the shape, without the values."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield where, key
            yield from _shape(value, f"{where}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _shape(item, f"{where}[]")


def _known_shape(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """Every key in every example Meta gives for the template-creation request."""
    examples = _creation(spec)["examples"].values()
    return {pair for example in examples for pair in _shape(example["value"])}


def _export_problems(spec: dict[str, Any], request: Mapping[str, Any]) -> list[str]:
    schema = {**_creation(spec)["schema"], "components": spec["components"]}
    problems = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(request)]
    problems += [
        f"{where}.{key} is not in any of Meta's examples"
        for where, key in _shape(request)
        if (where, key) not in _known_shape(spec)
    ]
    component_types = {c["type"] for c in request["components"]}
    problems += [f"component type {t}" for t in component_types - {"BODY", "BUTTONS"}]
    return problems


def test_exported_templates_match_metas_creation_request(spec: dict[str, Any]) -> None:
    """Every exported template validates against the creation request's schema, and uses
    only keys Meta's own examples of that request use, at the same places."""
    for template in pack_templates(default_pack(), store_name=STORE):
        request = template.request()
        assert [] == _export_problems(spec, request), template.name
        body = request["components"][0]
        assert len(body["example"]["body_text"][0]) == body["text"].count("{{")


def test_the_export_check_is_not_a_formality(spec: dict[str, Any]) -> None:
    """A request with a key Meta's examples never use, or the wrong type, is reported."""
    request = pack_templates(default_pack(), store_name=STORE)[0].request()
    assert any(
        "parameter_format" in p
        for p in _export_problems(spec, {**request, "parameter_format": "X"})
    )
    assert _export_problems(spec, {**request, "name": 7})


def test_template_sends_match_metas_message_schema(spec: dict[str, Any]) -> None:
    """The send a template makes (body parameters and quick-reply payloads) is a valid
    ``TemplateMessage``."""
    schemas = spec["components"]["schemas"]
    pack = default_pack()
    help_ = pack.find("help", Channel.WHATSAPP, "en")
    values = {**VALUES, "help_line": "Delivery costs are shown before you pay."}
    send = template_for_send(pack, help_, values, store_name=STORE, to=TO)
    assert 5 == len(send.payload["template"]["components"])  # body + 4 quick replies
    assert [] == schema_problems(schemas, "TemplateMessage", send.payload)


# -- command line --------------------------------------------------------------------------------
def test_cli_export_writes_the_requests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "templates.json"
    code = main(
        ["templates", "export", "--store-name", STORE, "--language", "pl", "--out", str(out)]
    )
    assert 0 == code
    requests = json.loads(out.read_text("utf-8"))
    assert {"pl"} == {r["language"] for r in requests}
    assert all(r["components"][0]["text"].startswith(STORE) for r in requests)
    err = capsys.readouterr().err
    assert "category MARKETING" in err
    assert f"{len(requests)} template(s) (pl: {len(requests)})" in err


def test_cli_export_prints_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["templates", "export", "--store-name", STORE])
    requests = json.loads(capsys.readouterr().out)
    assert {"en", "pl", "ru", "fr"} == {r["language"] for r in requests}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--store-name", " "], "--store-name must name the store"),
        (["--store-name", STORE, "--language", "de"], "no WhatsApp touch entries in de"),
        (["--store-name", STORE, "--pack", "/nonexistent/pack.json"], "pack.json"),
    ],
)
def test_cli_export_refuses_bad_input(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == main(["templates", "export", *args])
    assert says in capsys.readouterr().err


def test_cli_export_names_each_entry_that_cannot_be_a_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "pack.json"
    entry = "{link} is where your checkout waits.\nReply STOP to opt out."
    pack.write_text(
        json.dumps(
            {"name": "p", "languages": {"en": {"messages": {"remind": {"whatsapp": entry}}}}}
        ),
        "utf-8",
    )
    assert 2 == main(["templates", "export", "--store-name", STORE, "--pack", str(pack)])
    err = capsys.readouterr().err
    assert "template 'remind' (whatsapp, en)" in err
    assert TEMPLATE_RULES["edge_parameter"].rule in err


# -- lint and loading ----------------------------------------------------------------------------
def test_lint_flags_a_whatsapp_touch_that_cannot_be_a_template() -> None:
    """RK117: the entry is the template, so Meta's body rules are lint errors of the pack."""
    from recoverykit.messages.lint import lint

    bad = one_pack("{store_name}\nYour checkout:\n{link}\nReply STOP to opt out.")
    found = lint(bad.find("remind", Channel.WHATSAPP, "en"))
    assert ["RK117"] == [v.code for v in found]
    assert TEMPLATE_RULES["parameter_line"].rule in found[0].message
    good = one_pack(REMIND).find("remind", Channel.WHATSAPP, "en")
    assert [] == [v.code for v in lint(good)]
    reply = MessagePack.load(
        {"languages": {"en": {"messages": {"menu.shipping": {"whatsapp": "{store_name}\n{link}"}}}}}
    )
    assert "RK117" not in [
        v.code for v in lint(reply.find("menu.shipping", Channel.WHATSAPP, "en"))
    ]


def test_every_builtin_pack_language_lints_clean_as_templates() -> None:
    from recoverykit.messages.lint import lint

    found = [
        (t.label, v.code, v.message)
        for t in default_pack().templates()
        for v in lint(t)
        if v.level == "error"
    ]
    assert [] == found


@pytest.mark.parametrize(
    ("ref", "where"),
    [
        ({"name": "x", "language": "en", "approved": {"x": 3}}, "approved.x"),
        ({"name": "x", "language": "en", "approved": ["x"]}, "approved"),
        ({"name": "x", "language": "en", "parameters": "link"}, "parameters"),
    ],
)
def test_bad_approval_entries_are_reported_with_their_path(
    ref: Mapping[str, Any], where: str
) -> None:
    from recoverykit.errors import DefinitionError

    with pytest.raises(DefinitionError) as caught:
        one_pack(REMIND, ref)
    assert f"whatsapp_templates.remind.{where}" in str(caught.value)
