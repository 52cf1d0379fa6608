"""Values at the boundary (issue 19): type checks, valid Unicode, safe personal fields.

Each test is one of the failures found by feeding the library what an attacker or a
careless integration would: a list where a phone goes, a number as a first name, a
lone surrogate, a first name carrying a phishing line.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from recoverykit import Channel, Checkout, Customer, LineItem, Money
from recoverykit.channels.email import subject_of
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.notes import Info
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.errors import DefinitionError, InvalidInputError, InvalidMoney, InvalidPhoneNumber
from recoverykit.messages.sms import smart_encode
from recoverykit.testing import EngineDriver
from recoverykit.values.text import first_name_problem, single_line, usable_first_name
from tests.engine_helpers import T0, checkout, customer, grant

GOOD: dict[str, Any] = {
    "id": "k1",
    "customer": {"id": "c1", "first_name": "Ola", "phone": "+48601234567"},
    "abandoned_at": "2026-03-10T10:00:00Z",
    "link": "https://fern.example/r/k1",
    "items": [{"sku": "S1", "name": "Kubek", "quantity": 1,
               "unit_price": {"amount": "39.00", "currency": "PLN"}}],
    "total": {"amount": "39.00", "currency": "PLN"},
}  # fmt: skip


def changed(**edits: Any) -> dict[str, Any]:
    data: dict[str, Any] = {**GOOD, "customer": dict(GOOD["customer"]),
                            "items": [dict(GOOD["items"][0])]}  # fmt: skip
    for where, value in edits.items():
        parts = where.split("__")
        target: Any = data
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        target[parts[-1]] = value
    return data


def problems_of(data: Any) -> dict[str, str]:
    with pytest.raises(DefinitionError) as info:
        Checkout.from_dict(data)
    return {problem.path: problem.message for problem in info.value.problems}


# -- types ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [["+48601234567"], {"n": 1}, 48601234567, None, b"+48"])
def test_phone_number_parse_refuses_a_non_string_with_its_own_error(raw: Any) -> None:
    """PhoneNumber.parse([...]) raised TypeError: unhashable; now InvalidPhoneNumber."""
    from recoverykit.values.phone import PhoneNumber

    with pytest.raises(InvalidPhoneNumber, match="expected a string"):
        PhoneNumber.parse(raw)


def test_customer_refuses_a_list_phone_and_a_number_first_name() -> None:
    """Customer(phone=[...]) and Customer(first_name=123) are InvalidInputError."""
    with pytest.raises(InvalidPhoneNumber):
        Customer(id="c1", phone=["+48601234567"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="first_name must be a string"):
        Customer(id="c1", first_name=123)
    with pytest.raises(InvalidInputError, match="telegram_chat_id"):
        Customer(id="c1", telegram_chat_id=42)  # type: ignore[arg-type]


def test_money_multiplies_by_a_float_exactly_and_refuses_what_is_not_a_number() -> None:
    """Money * 1.5 raised TypeError; a float now counts as its shortest repr."""
    assert Money("10.00", "EUR") * 1.5 == Money(Decimal("15.000"), "EUR")
    assert 1.1 * Money("10", "EUR") == Money(Decimal("11.0"), "EUR")
    with pytest.raises(InvalidMoney, match="multiplied by a number"):
        Money("10", "EUR") * "2"  # type: ignore[operator]
    with pytest.raises(InvalidMoney, match="non-negative"):
        Money("10", "EUR") * -1
    with pytest.raises(InvalidMoney):
        Money("10", "EUR") * float("inf")


# -- valid Unicode --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edit", "path"),
    [
        ({"id": "k\ud800"}, "$.id"),
        ({"items__0__name": "Kub\udcffek"}, "$.items[0].name"),
        ({"customer__id": "c\ud800"}, "$.customer.id"),
        ({"customer__first_name": "Ola\ud800"}, "$.customer.first_name"),
        ({"link": "https://fern.example/\ud800"}, "$.link"),
    ],
)
def test_loaders_refuse_lone_surrogates_at_their_path(edit: dict[str, str], path: str) -> None:
    """A lone surrogate passed from_dict and then crashed the SQLite store; now it is a problem."""
    found = problems_of(changed(**edit))
    assert path in found
    assert "surrogate" in found[path]


def test_constructors_refuse_lone_surrogates_in_ids_and_replace_them_in_names() -> None:
    """Ids must be storable; a broken first name becomes U+FFFD (and is then never used)."""
    with pytest.raises(InvalidInputError, match="surrogate"):
        Customer(id="c\ud800")
    who = Customer(id="c1", first_name="Ann\ud800")
    assert who.first_name == "Ann\ufffd"
    assert usable_first_name(who.first_name) is None


# -- JSON paths -----------------------------------------------------------------------------------
def test_a_bad_link_is_reported_at_the_link() -> None:
    """The path used to stop at $.checkouts[0] (the checkout) for a bad link."""
    assert "$.link" in problems_of(changed(link="ftp://fern.example/r"))


def test_an_item_reports_its_value_problems_next_to_its_other_problems() -> None:
    """quantity 0 was missed when the same item had another problem (a bad price)."""
    found = problems_of(changed(items__0__quantity=0, items__0__unit_price={"amount": "x"}))
    assert "$.items[0].quantity" in found
    assert any(path.startswith("$.items[0].unit_price") for path in found)


# -- first names ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["Ann", "Zoë", "Zoe\u0308", "Jean-Luc", "O'Brien", "D\u2019Angelo", "Мария", "José María",
     "Nguyễn", "ʻIolani", "Ólafur", "李", "أحمد"],
)  # fmt: skip
def test_plain_names_are_used(name: str) -> None:
    """Letters, combining marks, spaces, hyphens and apostrophes in any script pass."""
    assert first_name_problem(name) is None
    assert usable_first_name(f"  {name} ") is not None


@pytest.mark.parametrize(
    "name",
    [
        "Ann\nYour account is locked, verify at https://evil.example/login",
        "https://evil.example", "evil.example.com", "www.evil", "ann@example.com",
        "+48 601 234 567", "Ann 2024", "Ann\x00", "Ann\x07", "Ann\x1b[31m", "Ann\r",
        "Ann\u202eeciovni", "An\u200bn", "Ann\u2066", "A" * 41, "Ann.", "Ann  Lee", "-Ann",
    ],
)  # fmt: skip
def test_names_that_could_carry_anything_else_are_not_used(name: str) -> None:
    """URLs, e-mail addresses, digits, line breaks, controls, bidi and zero-width characters."""
    assert first_name_problem(name) is not None
    assert usable_first_name(name) is None


def test_a_phishing_first_name_never_reaches_a_message_and_the_recovery_says_why() -> None:
    """The SMS falls back to the no-name wording; an Info note names the problem."""
    name = "Ann\nYour account is locked, verify at https://evil.example/login"
    who = attrs.evolve(customer(), first_name=name)
    policy = RecoveryPolicy(store_name="Sklep Ola")
    driver = EngineDriver(policy, consent=[grant(who, Channel.SMS), grant(who, Channel.EMAIL)])
    decisions = driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(days=6))
    texts = [sent.message.text for sent in driver.touches("chk-1")]
    assert texts
    assert not any("evil" in text or "Ann" in text for text in texts)
    notes = [note for decision in decisions for note in decision.notes if isinstance(note, Info)]
    assert any(note.what == "first_name" and "link" in note.detail for note in notes)


def test_a_plain_first_name_is_still_used() -> None:
    """The guard is not a blanket removal: "Anna" still greets the customer."""
    who = customer()
    driver = EngineDriver(RecoveryPolicy(store_name="Sklep Ola"), consent=[grant(who, Channel.SMS)])
    driver.feed(CheckoutAbandoned(checkout(who), T0))
    driver.run_until(T0 + timedelta(days=1))
    assert any("Anna" in sent.message.text for sent in driver.touches("chk-1"))


# -- item names and headers -----------------------------------------------------------------------
def test_item_names_lose_controls_and_refuse_links() -> None:
    """Controls, bidi and zero-width characters go; a link in an item name is refused."""
    price = Money("10", "EUR")
    item = LineItem("s1", "Mug\r\nwith\u202e lid\u200b", 1, price, category="kit\x00chen")
    assert item.name == "Mug with lid"
    assert item.category == "kitchen"
    with pytest.raises(InvalidInputError, match="link"):
        LineItem("s1", "Mug, see https://evil.example", 1, price)
    with pytest.raises(InvalidInputError, match="link"):
        LineItem("s1", "Mug", 1, price, category="www.evil.example")


def test_an_email_subject_is_one_line_by_construction() -> None:
    """A carriage return inside the headline crashed the send; now it is a space."""
    message = SendMessage(
        idempotency_key="k1:touch1:0", checkout_id="k1", customer_id="c1",
        channel=Channel.EMAIL, to="ann@example.com", kind=MessageKind.TOUCH, key="remind",
        text="Shop: hi Ann\rBcc: everyone@example.com\n\nBody", locale="en", touch=1,
    )  # fmt: skip
    assert subject_of(message) == "Shop: hi Ann Bcc: everyone@example.com"
    assert single_line("a\u2028b\x85c\td") == "a b c d"


def test_twilio_smart_encoding_turns_a_backtick_into_an_apostrophe() -> None:
    """Twilio's smart-encoding list includes the backtick (rules.md §4.3)."""
    assert smart_encode("It`s") == "It's"


def test_a_name_note_is_not_raised_for_an_absent_or_blank_name() -> None:
    """No first name, or a blank one, is simply the no-name wording: nothing to note."""
    for name in (None, "   "):
        who = attrs.evolve(customer(), first_name=name)
        driver = EngineDriver(RecoveryPolicy(store_name="S"), consent=[grant(who, Channel.SMS)])
        decisions = driver.feed(
            CheckoutAbandoned(checkout(who), datetime(2026, 3, 2, 10, tzinfo=UTC))
        )
        assert not [
            n for d in decisions for n in d.notes if isinstance(n, Info) and n.what == "first_name"
        ]
