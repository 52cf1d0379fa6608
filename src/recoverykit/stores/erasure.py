"""Erasing and exporting one customer: what every store does alike (GDPR articles 15 and 17).

``Store.erase_customer(id)`` removes the customer's personal data everywhere a store
keeps it: recoveries (with the cart and the customer inside), outbox entries (the
messages and the number they went to), log lines, contact records, service windows,
addresses, the abandonment detector's watches of their checkouts, the shop orders
naming them (by id, phone or e-mail) and the customer record. Only the consent events
stay, because a store must be able to show what it was allowed to send and when it was
told to stop; they are **pseudonymised**: the customer id becomes ``pseudonym(id)`` and
an address its SHA-256 digest. A digest of a phone number can be reversed by trying every number,
so this is pseudonymisation, not anonymisation: the events are still personal data,
kept on the legal ground of proving consent, and should be purged when that duty ends.

``Store.export_customer(id)`` returns everything a store keeps about the customer as
one JSON-safe document, in the shape ``CustomerExport`` describes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from ..detector import CheckoutWatch, ShopOrder, order_to_dict, watch_to_dict
from ..engine.state import RecoveryState
from ..policies.caps import ContactRecord
from ..policies.consent import ConsentEvent
from ..protocols import LogRecord, OutboxEntry
from ..values.model import Channel, Customer
from .codec import message_to_dict

__all__ = ["ERASED_PREFIX", "address_digest", "export_document", "pseudonym", "pseudonymised"]

#: Customer ids of pseudonymised consent events start with this.
ERASED_PREFIX: Final = "erased:"
_DOMAIN: Final = b"recoverykit/erased-customer\x00"
_ADDRESS_DOMAIN: Final = b"recoverykit/erased-address\x00"


def pseudonym(customer_id: str) -> str:
    """The id an erased customer's consent events are kept under (stable, one-way).

    >>> pseudonym("cus-42")[:15]
    'erased:4a38d30c'
    """
    digest = hashlib.sha256(_DOMAIN + customer_id.encode("utf-8", "surrogatepass"))
    return ERASED_PREFIX + digest.hexdigest()[:32]


def address_digest(address: str) -> str:
    """The digest an erased customer's consent events keep in place of ``address``."""
    digest = hashlib.sha256(_ADDRESS_DOMAIN + address.strip().encode("utf-8", "surrogatepass"))
    return "sha256:" + digest.hexdigest()


def pseudonymised(event: ConsentEvent) -> ConsentEvent:
    """``event`` as kept after its customer was erased: the id and the address replaced.

    What the customer was told (``text``, ``version``), through which ``source``, on
    which channel, for which purpose, and when, stay: that is the proof.
    """
    address = None if event.address is None else address_digest(event.address)
    return attrs.evolve(event, customer_id=pseudonym(event.customer_id), address=address)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def export_document(
    customer_id: str,
    *,
    customer: Customer | None,
    addresses: Iterable[tuple[Channel, str]],
    consent: Iterable[ConsentEvent],
    recoveries: Iterable[RecoveryState],
    contacts: Iterable[ContactRecord],
    windows: Mapping[Channel, datetime],
    outbox: Iterable[OutboxEntry],
    log: Iterable[LogRecord],
    watches: Iterable[CheckoutWatch] = (),
    orders: Iterable[ShopOrder] = (),
) -> dict[str, Any]:
    """One customer's data as a JSON-safe document; every store builds it here, so the
    same data exports the same way from each (instants in UTC, lists in a fixed order)."""
    return {
        "customer_id": customer_id,
        "customer": None if customer is None else customer.to_dict(),
        "addresses": [
            {"channel": channel.value, "address": address} for channel, address in sorted(addresses)
        ],
        "consent": [event.to_dict() for event in consent],
        "recoveries": [
            state.to_dict() for state in sorted(recoveries, key=lambda s: s.checkout_id)
        ],
        "contacts": [
            {
                "at": _utc(record.at),
                "channel": record.channel.value,
                "checkout_id": record.checkout_id,
                "kind": record.kind.value,
            }
            for record in sorted(contacts, key=lambda r: r.at)
        ],
        "service_windows": [
            {"channel": channel.value, "until": _utc(until)}
            for channel, until in sorted(windows.items())
        ],
        "outbox": [
            {
                "key": entry.key,
                "status": entry.status.value,
                "created_at": _utc(entry.created_at),
                "message": message_to_dict(entry.message),
                "provider_id": entry.provider_id,
                "detail": entry.detail,
            }
            for entry in sorted(outbox, key=lambda e: (e.created_at, e.key))
        ],
        "log": [
            {
                "at": _utc(record.at),
                "kind": record.kind,
                "checkout_id": record.checkout_id,
                "customer_id": record.customer_id,
                "data": record.data,
            }
            for record in log
        ],
        "watches": [watch_to_dict(watch) for watch in sorted(watches, key=lambda w: w.checkout_id)],
        "orders": [
            order_to_dict(order) for order in sorted(orders, key=lambda o: (o.at, o.order_id))
        ],
    }
