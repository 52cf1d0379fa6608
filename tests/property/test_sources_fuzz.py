"""Shop sources under fuzzing: only WebhookError, ever (issue 21).

Signed bodies built from the shops' own vocabulary, and real payloads with fields
replaced by random JSON, are read or refused as malformed, never a crash and never
a signature error; anything unsigned or altered by one byte is a signature error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.detector import CheckoutActivity, ShopOrder
from recoverykit.sources.shopify import ShopifySource
from recoverykit.sources.woocommerce import WooCommerceSource
from recoverykit.webhooks import MalformedWebhook, SignatureMismatch, WebhookError, WebhookRequest
from tests.shop_payloads import (
    SHOPIFY_SECRET,
    WOO_SECRET,
    b64_hmac,
    shopify_checkout,
    shopify_order,
    shopify_request,
    woo_order,
    woo_request,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SHOPIFY = ShopifySource(secret=SHOPIFY_SECRET)
WOO = WooCommerceSource(secret=WOO_SECRET)
KEYS = st.sampled_from(
    [
        "id", "token", "customer", "line_items", "total_price", "currency", "sku", "title",
        "quantity", "price", "updated_at", "abandoned_checkout_url", "completed_at", "phone",
        "email", "sms_marketing_consent", "state", "opt_in_level", "consent_updated_at",
        "checkout_token", "created_at", "status", "billing", "customer_id", "date_paid_gmt",
        "date_created_gmt", "total", "shipping_address", "order_id", "gateway",
        "price_set", "total_price_set", "presentment_money", "amount", "currency_code",
    ]
)  # fmt: skip
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(["2026-03-02T10:00:00+01:00", "84.00", "PLN", "+48601234567", "subscribed"])
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=12,
)
SHOPIFY_TOPICS = st.sampled_from(
    ["checkouts/create", "checkouts/update", "orders/create", "orders/paid", "carts/update"]
)


def _mutated(base: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    changed = dict(base)
    for _ in range(data.draw(st.integers(1, 3))):
        changed[data.draw(st.sampled_from(sorted(base)))] = data.draw(JSON)
    return changed


def _only_documented(source: ShopifySource | WooCommerceSource, request: WebhookRequest) -> None:
    try:
        facts = source.parse(request, now=NOW)
    except SignatureMismatch as exc:  # pragma: no cover - a failure, with its reason
        raise AssertionError(f"a correctly signed body was refused as forged: {exc}") from exc
    except MalformedWebhook:
        return
    for fact in facts:
        assert isinstance(fact, CheckoutActivity | ShopOrder)


class TestOnlyWebhookErrors:
    """Whatever a verified body holds, a source answers with facts or MalformedWebhook."""

    @given(SHOPIFY_TOPICS, JSON)
    def test_shopify_random_bodies(self, topic: str, payload: Any) -> None:
        _only_documented(SHOPIFY, shopify_request(topic, payload))

    @given(SHOPIFY_TOPICS, st.data())
    def test_shopify_mutated_payloads(self, topic: str, data: st.DataObject) -> None:
        base = shopify_order() if topic.startswith("orders") else shopify_checkout()
        _only_documented(SHOPIFY, shopify_request(topic, _mutated(base, data)))

    @given(st.sampled_from(["order.created", "order.updated"]), st.data())
    def test_woocommerce_mutated_payloads(self, topic: str, data: st.DataObject) -> None:
        _only_documented(WOO, woo_request(_mutated(woo_order(), data), topic=topic))

    @given(st.binary(max_size=200), st.dictionaries(st.text(max_size=20), st.text(max_size=40)))
    def test_unsigned_anything_is_refused(self, body: bytes, headers: dict[str, str]) -> None:
        for source in (SHOPIFY, WOO):
            request = WebhookRequest("POST", "https://shop.example/h", headers, body)
            try:
                source.parse(request, now=NOW)
            except WebhookError:
                continue
            # Only WooCommerce's unsigned ping may pass, and it reports nothing.
            assert isinstance(source, WooCommerceSource)

    @given(st.data())
    def test_one_changed_byte_is_a_signature_error(self, data: st.DataObject) -> None:
        body = json.dumps(shopify_checkout()).encode()
        index = data.draw(st.integers(0, len(body) - 1))
        flipped = (
            body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1 :]
        )
        for source, header, secret in (
            (SHOPIFY, "X-Shopify-Hmac-Sha256", SHOPIFY_SECRET),
            (WOO, "X-WC-Webhook-Signature", WOO_SECRET),
        ):
            request = WebhookRequest(
                "POST", "https://shop.example/h", {header: b64_hmac(secret, body)}, flipped
            )
            try:
                source.parse(request, now=NOW)
            except SignatureMismatch:
                continue
            raise AssertionError("an altered body verified")
