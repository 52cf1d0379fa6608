"""WooCommerce as a source: signature first, then placed orders (PW-7)."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from recoverykit.errors import InvalidInputError
from recoverykit.sources.woocommerce import WooCommerceSource, woocommerce_signature
from recoverykit.values.money import Money
from recoverykit.webhooks import MalformedWebhook, SignatureMismatch, WebhookRequest
from tests.shop_payloads import WOO_SECRET, b64_hmac, woo_order, woo_request

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SOURCE = WooCommerceSource(secret=WOO_SECRET)


def test_signature_follows_the_written_rule() -> None:
    """X-WC-Webhook-Signature is base64(HMAC-SHA256(webhook secret, raw body))."""
    assert b64_hmac(WOO_SECRET, b"[]") == woocommerce_signature(WOO_SECRET, b"[]")
    # printf "{}" | openssl dgst -sha256 -hmac hush -binary | base64
    assert "UFwgrGBPZilFtmKh8TqcovA78LGYb1BdWu9I4Q2oyRg=" == woocommerce_signature("hush", b"{}")


def test_forged_altered_and_unsigned_requests_are_refused() -> None:
    """Nothing is read unless the signature verifies (403)."""
    good = woo_request(woo_order())
    forged = woo_request(woo_order(), secret="other")
    altered = attrs.evolve(good, body=good.body.replace(b"processing", b"completed "))
    unsigned = WebhookRequest("POST", good.url, {"X-WC-Webhook-Topic": "order.updated"}, good.body)
    for request in (forged, altered, unsigned):
        with pytest.raises(SignatureMismatch):
            SOURCE.parse(request, now=NOW)


def test_ping_is_acknowledged_with_nothing() -> None:
    """The unsigned ping WooCommerce sends when a webhook is saved changes nothing."""
    ping = WebhookRequest("POST", "https://shop.example/hooks/woocommerce", {}, b"webhook_id=15")
    assert [] == SOURCE.parse(ping, now=NOW)


@pytest.mark.parametrize("status", ["processing", "completed"])
def test_placed_order_becomes_a_shop_order(status: str) -> None:
    """processing and completed orders are orders: ids, time, person and total."""
    [order] = SOURCE.parse(woo_request(woo_order(status=status)), now=NOW)
    assert ("woocommerce:727", "woocommerce:727") == (order.order_id, order.checkout_id)
    assert "woocommerce:12" == order.customer_id
    assert datetime(2026, 3, 2, 11, 1, tzinfo=UTC) == order.at
    assert ("+48601234567", "anna@example.com") == (order.phone, order.email)
    assert Money("168.00", "PLN") == order.total


@pytest.mark.parametrize("status", ["pending", "on-hold", "failed", "cancelled", "checkout-draft"])
def test_other_statuses_give_nothing(status: str) -> None:
    """An order not (yet) placed is not an order for the detector."""
    assert [] == SOURCE.parse(woo_request(woo_order(status=status)), now=NOW)


def test_placed_statuses_are_configurable() -> None:
    """A shop taking bank transfers counts on-hold orders as placed."""
    source = WooCommerceSource(secret=WOO_SECRET, placed={"processing", "completed", "on-hold"})
    assert 1 == len(source.parse(woo_request(woo_order(status="on-hold")), now=NOW))


def test_guest_order_has_no_customer_id() -> None:
    """customer_id 0 is a guest: suppression goes by phone and e-mail."""
    [order] = SOURCE.parse(woo_request(woo_order(customer_id=0)), now=NOW)
    assert order.customer_id is None
    assert order.phone is not None


def test_other_topics_give_nothing() -> None:
    """Only order.created and order.updated are read."""
    assert [] == SOURCE.parse(woo_request({"id": 1}, topic="product.updated"), now=NOW)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"status": 3}, r"\$.status"),
        ({"id": None}, r"\$.id"),
        ({"date_paid_gmt": "soon"}, r"\$.date_created_gmt"),
        ({"total": "a lot"}, r"\$.total"),
    ],
)
def test_malformed_orders_name_the_problem(change: dict[str, object], path: str) -> None:
    """A verified body that is not a usable order is 400 with the path."""
    with pytest.raises(MalformedWebhook, match=path):
        SOURCE.parse(woo_request({**woo_order(), **change}), now=NOW)


def test_source_refuses_bad_configuration() -> None:
    """No secret, or no placed status, is refused when built."""
    with pytest.raises(InvalidInputError, match="secret"):
        WooCommerceSource(secret=" ")
    with pytest.raises(InvalidInputError, match="placed"):
        WooCommerceSource(secret=WOO_SECRET, placed=[])
