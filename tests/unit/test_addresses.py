"""One home for the channel-to-address rule: ``Customer.address_for``, ``with_address``,
``addresses`` and ``address_key``, which stores and the consent ledger share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from recoverykit.errors import InvalidInputError
from recoverykit.policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from recoverykit.protocols import Store
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.values.model import ADDRESS_FIELDS, Channel, Customer, address_key

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADA = Customer(
    id="cus-1",
    phone="+48601234567",
    email="Ada.Straße@Example.com",
    telegram_chat_id="777",
    viber_id="vb-1",
)


def test_every_channel_has_one_address_field() -> None:
    """Each channel maps to one customer field; SMS and WhatsApp share the phone."""
    assert set(ADDRESS_FIELDS) == set(Channel)
    assert ADA.address_for(Channel.SMS) == ADA.address_for(Channel.WHATSAPP) == "+48601234567"
    assert ADA.address_for(Channel.EMAIL) == "Ada.Straße@Example.com"
    assert ADA.address_for(Channel.TELEGRAM) == "777"
    assert ADA.address_for(Channel.VIBER) == "vb-1"
    assert Customer(id="cus-2").address_for(Channel.EMAIL) is None


def test_with_address_sets_the_channels_field_and_validates_it() -> None:
    """A phone given in any international form is kept as E.164 for SMS and WhatsApp
    alike; a malformed e-mail is refused as when the customer is built."""
    bare = Customer(id="cus-2")
    texted = bare.with_address(Channel.WHATSAPP, "+48 601 234 567")
    assert texted.address_for(Channel.SMS) == "+48601234567"
    assert bare.with_address(Channel.VIBER, "vb-9").viber_id == "vb-9"
    with pytest.raises(InvalidInputError, match="Invalid e-mail address"):
        bare.with_address(Channel.EMAIL, "not-an-address")


def test_addresses_are_the_lookup_keys() -> None:
    """``addresses()`` lists every reachable channel with its key: e-mail case-folded."""
    assert dict(ADA.addresses()) == {
        Channel.SMS: "+48601234567",
        Channel.WHATSAPP: "+48601234567",
        Channel.EMAIL: "ada.strasse@example.com",
        Channel.TELEGRAM: "777",
        Channel.VIBER: "vb-1",
    }


@pytest.mark.parametrize(
    ("channel", "address", "key"),
    [
        (Channel.EMAIL, " Ann@Example.COM ", "ann@example.com"),
        (Channel.EMAIL, "STRASSE@x.de", "strasse@x.de"),
        (Channel.SMS, " +48601234567", "+48601234567"),
        (Channel.TELEGRAM, "AbC", "AbC"),
        (None, "Ann@Example.com", "ann@example.com"),
        (None, "+48601234567", "+48601234567"),
    ],
)
def test_address_key_is_one_normalisation_per_channel(
    channel: Channel | None, address: str, key: str
) -> None:
    """E-mail compares without case; numbers and chat ids as given, spaces aside."""
    assert address_key(channel, address) == key


@pytest.mark.parametrize("make", [MemoryStore, lambda: SQLiteStore(":memory:")])
def test_the_store_and_the_ledger_agree_on_an_address(make: Callable[[], Store]) -> None:
    """The spelling that finds a customer in a store is the one a consent grant for
    that address answers to: both use ``address_key``."""
    store = make()
    spelled = "ADA.STRASSE@EXAMPLE.COM"
    with store.transaction() as tx:
        tx.save_customer(ADA)
        assert tx.customer_for(Channel.EMAIL, spelled) == "cus-1"
    store.close()
    grant = ConsentEvent(
        "cus-1", Channel.EMAIL, Purpose.RECOVERY, ConsentAction.GRANTED, T0, "checkout",
        address=ADA.email,
    )  # fmt: skip
    ledger = ConsentLedger([grant])
    later = T0 + timedelta(hours=1)
    assert ledger.allows("cus-1", Channel.EMAIL, Purpose.RECOVERY, later, address=spelled)
    assert not ledger.allows(
        "cus-1", Channel.EMAIL, Purpose.RECOVERY, later, address="someone@example.com"
    )


def test_a_revocation_is_built_one_way() -> None:
    """``ConsentEvent.revocation`` covers every purpose, cuts long evidence and reads an
    empty address as "any"; a provider's opt-out names its code."""
    event = ConsentEvent.revocation(
        "cus-1", None, T0, source="keyword", text="STOP " * 1000, address=""
    )
    assert (event.channel, event.purpose, event.action) == (None, None, ConsentAction.REVOKED)
    assert event.address is None
    assert event.text is not None
    assert len(event.text) == 2000
    opt_out = ConsentEvent.provider_opt_out(
        "cus-1", Channel.SMS, T0, code="21610", address="+48601234567"
    )
    assert opt_out.source == "provider"
    assert opt_out.text == "provider reported an opt-out (code 21610)"
    assert opt_out.address == "+48601234567"
