"""WooCommerce as a source: order webhooks, verified, mapped to ``ShopOrder``.

**Verification first** (rules.md PW-7). WooCommerce signs each delivery with
``X-WC-Webhook-Signature``: the base64 HMAC-SHA256 of the raw body under the
webhook's secret. The source compares it in constant time before it parses
anything. The one unsigned request WooCommerce sends, the ping when a webhook is
saved (a form body ``webhook_id=<n>``), is acknowledged with nothing.

**What it reads.** ``order.created`` and ``order.updated`` (``X-WC-Webhook-Topic``)
with a status in ``placed`` (default: ``processing`` and ``completed``) become a
``ShopOrder``: its id ``woocommerce:<order id>``, its time the payment time (else
the creation time; WooCommerce's ``*_gmt`` times are UTC), its customer
``woocommerce:<customer id>`` (none for a guest), the billing phone and e-mail
for suppression, and the checkout ``woocommerce:<order id>``. Other statuses and
topics give nothing.

**Checkout activity.** WooCommerce has no checkout webhooks, so the shop reports
activity from its own hook (see the how-to "From your shop's events to a
recovery"). Use the draft order's id as the checkout id, ``woocommerce:<order id>``:
the block checkout creates that order (status ``checkout-draft``) when checkout
opens and keeps its id when it is placed, so the order webhook completes exactly
that checkout. Whatever id the hook uses, the same person's order still
suppresses it by customer id, phone or e-mail.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from ..detector import ShopOrder
from ..errors import InvalidInputError
from ..values.time import require_aware
from ..webhooks.kit import (
    MAX_BODY_BYTES,
    body_of,
    check_secret,
    hmac_digest,
    identifier,
    load_json,
    need,
    obj,
    positive_size,
    require_header,
    require_method,
    same,
    text,
)
from ..webhooks.types import SignatureMismatch, WebhookRequest
from ._common import build_customer, iso_instant, money, optional_mapping

__all__ = ["SIGNATURE_HEADER", "WooCommerceSource", "woocommerce_signature"]

#: The header carrying the body's signature.
SIGNATURE_HEADER: Final = "X-WC-Webhook-Signature"
_TOPIC: Final = "X-WC-Webhook-Topic"
_DELIVERY: Final = "X-WC-Webhook-Delivery-ID"
_TOPICS: Final = frozenset({"order.created", "order.updated"})
_PING: Final = re.compile(rb"webhook_id=\d{1,20}")
_HINT: Final = "pass the secret shown in WooCommerce > Settings > Advanced > Webhooks"


def woocommerce_signature(secret: str, body: bytes) -> str:
    """The ``X-WC-Webhook-Signature`` value WooCommerce sends for ``body`` under ``secret``."""
    return base64.b64encode(hmac_digest(secret, body)).decode("ascii")


def _statuses(value: Iterable[str]) -> frozenset[str]:
    found = frozenset(str(status).strip().lower() for status in value)
    if not found:
        msg = "placed must name at least one order status (the default is processing, completed)"
        raise InvalidInputError(msg)
    return found


@attrs.frozen
class WooCommerceSource:
    """Verifies and reads a WooCommerce store's order webhooks.

    ``secret`` is the webhook's secret; ``placed`` the statuses that mean the
    customer has ordered (add ``on-hold`` for shops taking bank transfers, whose
    customers have ordered but not yet paid).
    """

    secret: str = attrs.field(repr=False)
    placed: frozenset[str] = attrs.field(
        default=frozenset({"processing", "completed"}), converter=_statuses
    )
    prefix: str = "woocommerce"
    max_body_bytes: int = attrs.field(default=MAX_BODY_BYTES, kw_only=True, validator=positive_size)

    @secret.validator
    def _check(self, _attribute: attrs.Attribute[str], value: str) -> None:
        check_secret(value, "secret", hint=_HINT)

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[ShopOrder]:
        """Verify one delivery ``request`` and return the order it reports, if any.

        Raises ``SignatureMismatch`` (403) unless the body carries a valid
        signature under this webhook's secret, and ``MalformedWebhook`` (400) for a
        body that is too large, not a POST, or not a WooCommerce order. Never raises
        anything else.
        """
        require_aware(now, "now")
        body = body_of(request, self.max_body_bytes)
        require_method(request, "POST", "WooCommerce posts every delivery")
        if request.header(SIGNATURE_HEADER) is None and _PING.fullmatch(body.strip()):
            return []  # the ping sent when a webhook is saved: unsigned, changes nothing
        given = require_header(request, SIGNATURE_HEADER, "WooCommerce")
        if not same(woocommerce_signature(self.secret, body), given):
            msg = (
                f"{SIGNATURE_HEADER} does not match the body under this webhook's secret; the "
                "request was forged, altered, or signed with another webhook's secret"
            )
            raise SignatureMismatch(msg)
        topic = (request.header(_TOPIC) or "").strip().lower()
        if topic not in _TOPICS:
            return []
        order = obj(load_json(body, "WooCommerce"), "$")
        status = need(order, "status", "$", text).strip().lower()
        if status not in self.placed:
            return []
        return [self._order(order, now)]

    def _order(self, doc: Mapping[str, Any], now: datetime) -> ShopOrder:
        order_id = need(doc, "id", "$", identifier)
        raw_at = doc.get("date_paid_gmt") or need(doc, "date_created_gmt", "$")
        at = iso_instant(raw_at, "$.date_created_gmt", now=now, naive_utc=True)
        billing = optional_mapping(doc, "billing", "$")
        account = doc.get("customer_id")
        customer_id = None
        if account not in (None, 0, "0", ""):
            customer_id = f"{self.prefix}:{identifier(account, '$.customer_id')}"
        total = None
        if doc.get("total") is not None:
            total = money(doc["total"], need(doc, "currency", "$", text), "$.total")
        # WooCommerce keeps the number as typed; the billing country reads a national one.
        person = build_customer(
            customer_id=customer_id or f"{self.prefix}:order:{order_id}",
            phone=billing.get("phone"),
            email=billing.get("email"),
            country=billing.get("country"),
        )
        return ShopOrder(
            order_id=f"{self.prefix}:{order_id}",
            at=at,
            checkout_id=f"{self.prefix}:{order_id}",
            customer_id=customer_id,
            phone=person.phone,
            email=person.email,
            total=total,
            id=f"{self.prefix}:order:{order_id}",
        )
