"""Opt-outs bind the address: a STOP from a number covers every customer record using it.

A guest checkout and an account, or a household, may share one phone number or
e-mail. Consent is recorded per customer, but a revocation is about the address it
came from (SEAMS 5 and 7). Every consent event the runtime records is therefore
also filed under the address's own ledger (customer id ``@<channel>:<address>``),
and the last look before a send reads that ledger too: the address's latest word
on the channel, when it is a revocation, applies to whoever the message is for.
A later grant from the address (START) lifts it again; it never grants consent to
another record by itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ..policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from ..protocols import Transaction
from ..values.model import Channel, address_key

__all__ = ["address_ledger_id", "address_revocations", "record_consent"]

#: Address ledgers are filed under customer ids that start with this (no real id does).
PREFIX = "@"


def address_ledger_id(channel: Channel, address: str) -> str:
    """The customer id an address's own consent ledger is filed under."""
    return f"{PREFIX}{channel.value}:{address_key(channel, address)}"


def record_consent(tx: Transaction, event: ConsentEvent) -> None:
    """Append ``event`` to the customer's ledger and to the ledger of each address it covers."""
    tx.append_consent(event)
    if event.customer_id.startswith(PREFIX):
        return
    for ledger_id in _addresses(tx, event):
        tx.append_consent(attrs.evolve(event, customer_id=ledger_id))


def address_revocations(
    ledger: ConsentLedger, customer_id: str, channel: Channel
) -> list[ConsentEvent]:
    """The address's standing revocations on ``channel``, re-filed for ``customer_id``.

    ``ledger`` is the address's own ledger. For each purpose only the latest event
    covering it counts: a revocation stands until the address grants that purpose
    again. A STOP covers every purpose and is returned once; a stop of marketing
    (WhatsApp's own setting) withdraws two purposes by name, and a later resume of
    marketing lifts only that one.
    """
    standing: list[ConsentEvent] = []
    for purpose in Purpose:
        latest: ConsentEvent | None = None
        for event in ledger.events:
            if event.channel is not None and event.channel is not channel:
                continue
            if event.purpose is not None and event.purpose is not purpose:
                continue
            if latest is None or event.at >= latest.at:
                latest = event
        if latest is not None and latest.action is ConsentAction.REVOKED:
            refiled = attrs.evolve(latest, customer_id=customer_id)
            if refiled not in standing:
                standing.append(refiled)
    return standing


def _addresses(tx: Transaction, event: ConsentEvent) -> Iterator[str]:
    channels = list(Channel) if event.channel is None else [event.channel]
    if event.address is not None and event.channel is not None:
        yield address_ledger_id(event.channel, event.address)
        return
    customer = tx.customer(event.customer_id)
    if customer is None:
        return
    for channel in channels:
        address = customer.address_for(channel)
        if address is not None:
            yield address_ledger_id(channel, address)
