"""Shopify as a source: checkout and order webhooks, verified, mapped to detector facts.

**Verification first** (rules.md PW-7). Shopify signs each webhook with
``X-Shopify-Hmac-Sha256``: the base64 HMAC-SHA256 of the raw body under the app's
client secret. The source compares it in constant time against every secret it
holds (the current one first; during a rotation, the previous one too) before it
parses anything.

**What each topic becomes** (``X-Shopify-Topic``):

* ``checkouts/create`` → ``CheckoutStarted``, ``checkouts/update`` → ``CheckoutUpdated``:
  the checkout token is the checkout id, its ``abandoned_checkout_url`` the link,
  its line items and ``total_price`` the cart (in the presentment currency when
  Shopify names one); an update that carries ``completed_at`` also yields the
  ``ShopOrder`` it completed;
* ``orders/create`` and ``orders/paid`` → ``ShopOrder``, matched to its checkout by
  ``checkout_token`` (both topics give the same order id, so the second is a
  duplicate the runner drops);
* any other topic → nothing.

**The stage** is read from the fields present, furthest first: a payment gateway or a
chosen shipping rate means the customer reached payment; a shipping address,
shipping; an e-mail or phone, contact; otherwise only the cart.

**Ids.** A customer with a Shopify account is ``shopify:<customer id>``, the same id
in checkouts and orders; a guest checkout is ``shopify:guest:<checkout token>``.
Orders by guests still suppress their other checkouts through phone and e-mail.

**Consent evidence.** The customer's ``sms_marketing_consent`` and
``email_marketing_consent`` become consent ledger events on the SMS and e-mail
channels for that address, at ``consent_updated_at``, with Shopify's own fields as
the evidence: ``subscribed`` is a grant, and with ``opt_in_level`` equal to
``confirmed_opt_in`` also a confirmation (the double opt-in that US cart-reminder
texts need, CP-2); ``unsubscribed`` revokes every purpose on that channel;
``not_subscribed``, ``pending`` and ``redacted`` record nothing. Shopify's consent is
marketing consent, so grants carry ``Purpose.MARKETING`` unless the shop's opt-in
wording names cart reminders and it says so with ``purpose=Purpose.RECOVERY``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from ..detector import CheckoutActivity, CheckoutStarted, CheckoutUpdated, ShopOrder
from ..errors import InvalidInputError
from ..policies.consent import ConsentAction, ConsentEvent, Purpose
from ..values.model import Channel, Customer, LineItem, Stage
from ..values.money import Money
from ..values.time import require_aware
from ..webhooks.kit import (
    MAX_BODY_BYTES,
    array,
    body_of,
    check_secret,
    hmac_digest,
    identifier,
    load_json,
    need,
    obj,
    optional_text,
    positive_size,
    require_header,
    require_method,
    same_any,
    text,
)
from ..webhooks.types import MalformedWebhook, SignatureMismatch, WebhookRequest
from ._common import build_customer, iso_instant, money, optional_mapping, quantity

__all__ = ["SIGNATURE_HEADER", "ShopifyFact", "ShopifySource", "shopify_signature"]

#: The header carrying the body's signature.
SIGNATURE_HEADER: Final = "X-Shopify-Hmac-Sha256"
_TOPIC: Final = "X-Shopify-Topic"
_WEBHOOK_ID: Final = "X-Shopify-Webhook-Id"
_CHECKOUT_TOPICS: Final[dict[str, type[CheckoutActivity]]] = {
    "checkouts/create": CheckoutStarted,
    "checkouts/update": CheckoutUpdated,
}
_ORDER_TOPICS: Final = frozenset({"orders/create", "orders/paid"})
_HINT: Final = "pass the app's client secret from the Shopify Partner dashboard or admin"

ShopifyFact = CheckoutActivity | ShopOrder


def shopify_signature(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body`` under ``secret``."""
    return base64.b64encode(hmac_digest(secret, body)).decode("ascii")


def _secrets(value: str | Iterable[str]) -> tuple[str, ...]:
    found = (value,) if isinstance(value, str) else tuple(value)
    if not found:
        msg = f"secret must name at least one secret (got none); {_HINT}"
        raise InvalidInputError(msg)
    return tuple(check_secret(secret, "secret", hint=_HINT) for secret in found)


@attrs.frozen
class ShopifySource:
    """Verifies and reads a Shopify store's checkout and order webhooks.

    ``secret`` is the app's client secret, or several (current first) while a
    rotation is under way. ``prefix`` starts every id this source makes, so two
    stores feeding one runner never share a customer id.
    """

    secret: tuple[str, ...] = attrs.field(converter=_secrets, repr=False)
    #: The purpose Shopify's marketing consent is recorded with (see the module doc).
    purpose: Purpose = attrs.field(default=Purpose.MARKETING, converter=Purpose)
    prefix: str = "shopify"
    max_body_bytes: int = attrs.field(default=MAX_BODY_BYTES, kw_only=True, validator=positive_size)

    def parse(self, request: WebhookRequest, *, now: datetime) -> list[ShopifyFact]:
        """Verify one webhook ``request`` and return the facts it reports.

        Raises ``SignatureMismatch`` (403) unless the body carries a valid
        signature under one of this source's secrets, and ``MalformedWebhook``
        (400) for a body that is too large, not a POST, or not what Shopify sends
        for its topic. Never raises anything else.
        """
        require_aware(now, "now")
        body = body_of(request, self.max_body_bytes)
        require_method(request, "POST", "Shopify posts every webhook")
        given = require_header(request, SIGNATURE_HEADER, "Shopify")
        expected = [shopify_signature(secret, body) for secret in self.secret]
        if not same_any(expected, given):
            msg = (
                f"{SIGNATURE_HEADER} does not match the body under this app's secret; the "
                "request was forged, altered, or signed with another app's secret"
            )
            raise SignatureMismatch(msg)
        topic = (request.header(_TOPIC) or "").strip().lower()
        if topic not in _CHECKOUT_TOPICS and topic not in _ORDER_TOPICS:
            return []
        document = obj(load_json(body, "Shopify"), "$")
        webhook_id = request.header(_WEBHOOK_ID)
        ident = "" if webhook_id is None else identifier(webhook_id.strip(), _WEBHOOK_ID)
        if topic in _ORDER_TOPICS:
            return [self._order(document, now)]
        return self._checkout(document, _CHECKOUT_TOPICS[topic], ident, now)

    # -- checkouts ---------------------------------------------------------------------------
    def _checkout(
        self, doc: Mapping[str, Any], kind: type[CheckoutActivity], ident: str, now: datetime
    ) -> list[ShopifyFact]:
        token = need(doc, "token", "$", identifier)
        at = _updated_at(doc, now)
        currency = _currency(doc)
        items = tuple(_line(line, path, currency) for path, line in _lines(doc))
        total = _price(doc, "total_price", "$", currency)
        link = need(doc, "abandoned_checkout_url", "$", text)
        customer, consent = self._person(doc, token, at, now)
        try:
            activity = kind(
                checkout_id=f"{self.prefix}:{token}",
                customer=customer,
                stage=_stage(doc),
                items=items,
                total=total,
                link=link,
                at=at,
                consent=consent,
                id=f"{self.prefix}:{ident}" if ident else "",
            )
        except (InvalidInputError, ValueError, TypeError) as exc:
            msg = f"The checkout cannot be used: {exc}"
            raise MalformedWebhook(msg[:300]) from None
        facts: list[ShopifyFact] = [activity]
        if doc.get("completed_at") is not None:
            completed = iso_instant(doc["completed_at"], "$.completed_at", now=now)
            order_id = doc.get("order_id")
            facts.append(
                ShopOrder(
                    order_id=identifier(order_id, "$.order_id") if order_id else token,
                    at=completed,
                    checkout_id=activity.checkout_id,
                    customer_id=customer.id,
                    phone=customer.phone,
                    email=customer.email,
                    total=total,
                    id=f"{self.prefix}:order:{order_id}" if order_id else "",
                )
            )
        return facts

    def _person(
        self, doc: Mapping[str, Any], token: str, at: datetime, now: datetime
    ) -> tuple[Customer, tuple[ConsentEvent, ...]]:
        account = optional_mapping(doc, "customer", "$")
        shipping = optional_mapping(doc, "shipping_address", "$")
        billing = optional_mapping(doc, "billing_address", "$")
        account_id = account.get("id")
        if account_id is not None:
            customer_id = f"{self.prefix}:{identifier(account_id, '$.customer.id')}"
        else:
            customer_id = f"{self.prefix}:guest:{token}"
        customer = build_customer(
            customer_id=customer_id,
            first_name=_first(account, shipping, billing, key="first_name"),
            phone=_first(doc, account, shipping, billing, key="phone"),
            email=_first(doc, account, key="email"),
            locale=doc.get("customer_locale"),
            country=_first(shipping, billing, key="country_code"),
            orders_count=account.get("orders_count", 0),
        )
        consent: list[ConsentEvent] = []
        for key, channel, address in (
            ("sms_marketing_consent", Channel.SMS, customer.phone),
            ("email_marketing_consent", Channel.EMAIL, customer.email),
        ):
            block = optional_mapping(account, key, "$.customer")
            if block and address is not None:
                where = (customer.id, channel, address)
                consent.extend(self._consent(block, f"$.customer.{key}", where, at=at, now=now))
        return customer, tuple(consent)

    def _consent(
        self,
        block: Mapping[str, Any],
        path: str,
        where: tuple[str, Channel, str],
        *,
        at: datetime,
        now: datetime,
    ) -> list[ConsentEvent]:
        customer_id, channel, address = where
        state = (optional_text(block, "state", path) or "").lower()
        level = (optional_text(block, "opt_in_level", path) or "unknown").lower()
        raw_when = block.get("consent_updated_at")
        when = (
            at if raw_when is None else iso_instant(raw_when, f"{path}.consent_updated_at", now=now)
        )
        collected = (optional_text(block, "consent_collected_from", path) or "unknown").lower()
        evidence = (
            f"Shopify {path.rsplit('.', 1)[-1]}: state={state}, opt_in_level={level}, "
            f"collected_from={collected}"
        )

        def event(purpose: Purpose | None, action: ConsentAction) -> ConsentEvent:
            return ConsentEvent(
                customer_id=customer_id,
                channel=channel,
                purpose=purpose,
                action=action,
                at=when,
                source=f"shopify_{collected}"[:60],
                text=evidence[:500],
                address=address,
            )

        if state == "subscribed":
            events = [event(self.purpose, ConsentAction.GRANTED)]
            if level == "confirmed_opt_in":
                events.append(event(self.purpose, ConsentAction.CONFIRMED))
            return events
        if state == "unsubscribed":
            return [event(None, ConsentAction.REVOKED)]
        return []

    # -- orders ------------------------------------------------------------------------------
    def _order(self, doc: Mapping[str, Any], now: datetime) -> ShopOrder:
        order_id = need(doc, "id", "$", identifier)
        raw_at = doc.get("processed_at") or need(doc, "created_at", "$")
        at = iso_instant(raw_at, "$.created_at", now=now)
        token = doc.get("checkout_token")
        account = optional_mapping(doc, "customer", "$")
        shipping = optional_mapping(doc, "shipping_address", "$")
        billing = optional_mapping(doc, "billing_address", "$")
        account_id = account.get("id")
        customer_id = (
            None
            if account_id is None
            else f"{self.prefix}:{identifier(account_id, '$.customer.id')}"
        )
        total = None
        if doc.get("total_price") is not None or doc.get("total_price_set") is not None:
            total = _price(doc, "total_price", "$", _currency(doc))
        person = build_customer(
            customer_id=customer_id or f"{self.prefix}:order:{order_id}",
            phone=_first(doc, account, shipping, billing, key="phone"),
            email=_first(doc, account, key="email"),
        )
        return ShopOrder(
            order_id=f"{self.prefix}:{order_id}",
            at=at,
            checkout_id=None
            if not token
            else f"{self.prefix}:{identifier(token, '$.checkout_token')}",
            customer_id=customer_id,
            phone=person.phone,
            email=person.email,
            total=total,
            id=f"{self.prefix}:order:{order_id}",
        )


# -- reading helpers -----------------------------------------------------------------------------
def _first(*sources: Mapping[str, Any], key: str) -> object:
    for source in sources:
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _updated_at(doc: Mapping[str, Any], now: datetime) -> datetime:
    for key in ("updated_at", "created_at"):
        if doc.get(key) is not None:
            return iso_instant(doc[key], f"$.{key}", now=now)
    return now


def _price(container: Mapping[str, Any], key: str, path: str, currency: str) -> Money:
    """``container[key]`` in ``currency``; the ``<key>_set`` presentment amount when present.

    A multi-currency store shows the customer prices in their own currency: the
    ``_set`` object's ``presentment_money`` is what they saw, so every price of the
    checkout is read in that one currency.
    """
    price_set = container.get(f"{key}_set")
    if isinstance(price_set, Mapping) and isinstance(price_set.get("presentment_money"), Mapping):
        shown = price_set["presentment_money"]
        where = f"{path}.{key}_set.presentment_money"
        return money(need(shown, "amount", where), need(shown, "currency_code", where), where)
    return money(need(container, key, path), currency, f"{path}.{key}")


def _currency(doc: Mapping[str, Any]) -> str:
    for key in ("presentment_currency", "currency"):
        value = doc.get(key)
        if value is not None:
            return text(value, f"$.{key}")
    msg = "$.currency is missing"
    raise MalformedWebhook(msg)


def _lines(doc: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for index, line in enumerate(array(doc.get("line_items", []), "$.line_items")):
        path = f"$.line_items[{index}]"
        yield path, obj(line, path)


def _line(line: Mapping[str, Any], path: str, currency: str) -> LineItem:
    sku = line.get("sku")
    if not isinstance(sku, str) or not sku.strip():
        sku = line.get("variant_id") or line.get("product_id") or line.get("key")
    if sku is None:
        msg = f"{path} names no sku, variant_id or product_id"
        raise MalformedWebhook(msg)
    name = need(line, "title", path, text)
    variant = line.get("variant_title")
    if isinstance(variant, str) and variant.strip():
        name = f"{name} ({variant.strip()})"
    try:
        return LineItem(
            sku=identifier(sku, f"{path}.sku") if not isinstance(sku, str) else sku.strip(),
            name=name.strip()[:200],
            quantity=need(line, "quantity", path, quantity),
            unit_price=_price(line, "price", path, currency),
        )
    except (InvalidInputError, ValueError, TypeError) as exc:
        if isinstance(exc, MalformedWebhook):
            raise
        msg = f"{path} is not a usable line item: {exc}"
        raise MalformedWebhook(msg[:300]) from None


def _stage(doc: Mapping[str, Any]) -> Stage:
    if doc.get("gateway") or doc.get("payment_gateway_names") or doc.get("shipping_lines"):
        return Stage.PAYMENT
    if doc.get("shipping_address"):
        return Stage.SHIPPING
    if doc.get("email") or doc.get("phone"):
        return Stage.CONTACT
    return Stage.CART
