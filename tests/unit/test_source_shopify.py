"""Shopify as a source: signature first, then checkouts, orders and consent evidence (PW-7)."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from recoverykit.detector import (
    CheckoutActivity,
    CheckoutStarted,
    CheckoutUpdated,
    ShopOrder,
)
from recoverykit.errors import InvalidInputError
from recoverykit.policies.consent import ConsentAction, Purpose
from recoverykit.sources.shopify import ShopifySource, shopify_signature
from recoverykit.values.model import Channel, Stage
from recoverykit.values.money import Money
from recoverykit.webhooks import MalformedWebhook, SignatureMismatch, WebhookRequest
from tests.shop_payloads import (
    SHOPIFY_SECRET,
    TOKEN,
    b64_hmac,
    shopify_checkout,
    shopify_order,
    shopify_request,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SOURCE = ShopifySource(secret=SHOPIFY_SECRET)


def activity_of(request: WebhookRequest, source: ShopifySource = SOURCE) -> CheckoutActivity:
    """The one checkout activity ``request`` reports."""
    [fact] = source.parse(request, now=NOW)
    assert isinstance(fact, CheckoutActivity)
    return fact


def order_of(request: WebhookRequest) -> ShopOrder:
    """The one order ``request`` reports."""
    [fact] = SOURCE.parse(request, now=NOW)
    assert isinstance(fact, ShopOrder)
    return fact


def test_signature_follows_the_written_rule() -> None:
    """X-Shopify-Hmac-Sha256 is base64(HMAC-SHA256(client secret, raw body))."""
    body = b'{"id":1}'
    assert b64_hmac(SHOPIFY_SECRET, body) == shopify_signature(SHOPIFY_SECRET, body)
    # printf "{}" | openssl dgst -sha256 -hmac hush -binary | base64
    assert "UFwgrGBPZilFtmKh8TqcovA78LGYb1BdWu9I4Q2oyRg=" == shopify_signature("hush", b"{}")


def test_forged_altered_and_unsigned_requests_are_refused() -> None:
    """Nothing is read unless the signature verifies (403)."""
    good = shopify_request("checkouts/create", shopify_checkout())
    forged = shopify_request("checkouts/create", shopify_checkout(), secret="someone-else")
    altered = attrs.evolve(good, body=good.body.replace(b"168.00", b"1.00"))
    unsigned = WebhookRequest("POST", good.url, {"X-Shopify-Topic": "checkouts/create"}, good.body)
    for request in (forged, altered, unsigned):
        with pytest.raises(SignatureMismatch) as caught:
            SOURCE.parse(request, now=NOW)
        assert 403 == caught.value.status


def test_previous_secret_verifies_during_rotation() -> None:
    """During a rotation both the new and the previous secret verify."""
    rotating = ShopifySource(secret=["new-secret", SHOPIFY_SECRET])
    assert rotating.parse(shopify_request("checkouts/create", shopify_checkout()), now=NOW)
    assert rotating.parse(
        shopify_request("checkouts/create", shopify_checkout(), secret="new-secret"), now=NOW
    )


def test_checkout_create_becomes_checkout_started() -> None:
    """Token, items, total, link, stage and customer come from the payload."""
    fact = activity_of(shopify_request("checkouts/create", shopify_checkout()))
    assert isinstance(fact, CheckoutStarted)
    assert f"shopify:{TOKEN}" == fact.checkout_id
    assert Stage.PAYMENT == fact.stage
    assert Money("168.00", "PLN") == fact.total
    assert [("KET-1", "Kettle (Steel)", 2)] == [(i.sku, i.name, i.quantity) for i in fact.items]
    assert fact.link.startswith("https://northwind.example/")
    assert TOKEN in fact.link
    assert datetime(2026, 3, 2, 10, 0, tzinfo=UTC) == fact.at
    assert "shopify:b54557e4" == fact.id
    customer = fact.customer
    assert ("shopify:207119551", "+48601234567", "anna@example.com") == (
        customer.id,
        customer.phone,
        customer.email,
    )
    assert ("pl_PL", "PL", 1) == (customer.locale, customer.country, customer.orders_count)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [("contact", Stage.CONTACT), ("shipping", Stage.SHIPPING), ("payment", Stage.PAYMENT)],
)
def test_stage_comes_from_the_fields_present(stage: str, expected: Stage) -> None:
    """E-mail only: contact; an address: shipping; a shipping rate or gateway: payment."""
    request = shopify_request("checkouts/update", shopify_checkout(stage=stage))
    fact = activity_of(request)
    assert isinstance(fact, CheckoutUpdated)
    assert expected == fact.stage


def test_confirmed_sms_opt_in_is_a_grant_and_a_confirmation() -> None:
    """subscribed + confirmed_opt_in: granted and confirmed, with Shopify's fields as evidence."""
    fact = activity_of(shopify_request("checkouts/create", shopify_checkout()))
    sms = [event for event in fact.consent if event.channel is Channel.SMS]
    assert [ConsentAction.GRANTED, ConsentAction.CONFIRMED] == [event.action for event in sms]
    first = sms[0]
    assert Purpose.MARKETING == first.purpose
    assert "+48601234567" == first.address
    assert datetime(2026, 2, 20, 8, 0, tzinfo=UTC) == first.at
    assert "shopify_shopify" == first.source
    assert first.text is not None
    assert "confirmed_opt_in" in first.text
    [email] = [event for event in fact.consent if event.channel is Channel.EMAIL]
    assert (ConsentAction.REVOKED, None) == (email.action, email.purpose)


def test_single_opt_in_is_a_grant_only_and_purpose_is_configurable() -> None:
    """A single opt-in grants without confirming; a shop whose wording names cart
    reminders records recovery consent."""
    source = ShopifySource(secret=SHOPIFY_SECRET, purpose=Purpose.RECOVERY)
    request = shopify_request("checkouts/create", shopify_checkout(sms_level="single_opt_in"))
    fact = activity_of(request, source)
    sms = [event for event in fact.consent if event.channel is Channel.SMS]
    assert [(ConsentAction.GRANTED, Purpose.RECOVERY)] == [(e.action, e.purpose) for e in sms]


@pytest.mark.parametrize("state", ["not_subscribed", "pending", "redacted"])
def test_states_without_consent_record_nothing(state: str) -> None:
    """Only subscribed grants and only unsubscribed revokes."""
    request = shopify_request("checkouts/create", shopify_checkout(sms_state=state))
    fact = activity_of(request)
    assert [] == [event for event in fact.consent if event.channel is Channel.SMS]


def test_guest_checkout_gets_a_guest_id_and_no_consent() -> None:
    """Without a Shopify account the customer is a guest of this checkout."""
    fact = activity_of(shopify_request("checkouts/create", shopify_checkout(guest=True)))
    assert f"shopify:guest:{TOKEN}" == fact.customer.id
    assert "+48601234567" == fact.customer.phone  # from the shipping address
    assert () == fact.consent


def test_unusable_phone_is_dropped_not_fatal() -> None:
    """A typo in the phone leaves the checkout usable through e-mail."""
    request = shopify_request("checkouts/create", shopify_checkout(phone="12"))
    fact = activity_of(request)
    assert fact.customer.phone is None
    assert "anna@example.com" == fact.customer.email


def test_completed_checkout_update_also_reports_the_order() -> None:
    """checkouts/update with completed_at yields the order that completed it."""
    payload = shopify_checkout(completed_at="2026-03-02T11:30:00+01:00")
    payload["order_id"] = 450789469
    activity, order = SOURCE.parse(shopify_request("checkouts/update", payload), now=NOW)
    assert isinstance(activity, CheckoutActivity)
    assert isinstance(order, ShopOrder)
    assert activity.checkout_id == order.checkout_id
    assert datetime(2026, 3, 2, 10, 30, tzinfo=UTC) == order.at


@pytest.mark.parametrize("topic", ["orders/create", "orders/paid"])
def test_order_topics_become_shop_orders_matched_by_token(topic: str) -> None:
    """Both order topics name the same order, matched to its checkout by token."""
    order = order_of(shopify_request(topic, shopify_order()))
    assert f"shopify:{TOKEN}" == order.checkout_id
    assert ("shopify:450789469", "shopify:207119551") == (order.order_id, order.customer_id)
    assert ("+48601234567", "anna@example.com") == (order.phone, order.email)
    assert datetime(2026, 3, 2, 11, 1, tzinfo=UTC) == order.at
    assert "shopify:order:450789469" == order.id
    assert order.event().checkout_id == order.checkout_id


def test_order_without_checkout_or_customer() -> None:
    """A POS order has no checkout token; a guest order no customer id."""
    payload = shopify_order(token=None)
    del payload["customer"]
    order = order_of(shopify_request("orders/create", payload))
    assert (None, None) == (order.checkout_id, order.customer_id)
    assert "order:shopify:450789469" == order.event().checkout_id


def test_other_topics_are_acknowledged_with_nothing() -> None:
    """A topic the source does not read changes nothing."""
    assert [] == SOURCE.parse(shopify_request("products/update", {"id": 1}), now=NOW)


def test_time_ahead_of_now_is_taken_as_now() -> None:
    """A shop clock running fast cannot postpone the idle clock."""
    request = shopify_request(
        "checkouts/create", shopify_checkout(updated_at="2027-01-01T00:00:00Z")
    )
    fact = activity_of(request)
    assert NOW == fact.at


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"total_price": None}, "$.total_price"),
        ({"line_items": [{"title": "x", "quantity": 1, "price": "1"}]}, "$.line_items[0]"),
        ({"line_items": [{"sku": "a", "title": "x", "quantity": 0, "price": "1"}]}, "quantity"),
        ({"updated_at": "yesterday"}, "$.updated_at"),
        ({"abandoned_checkout_url": "javascript:alert(1)"}, "link"),
        ({"token": None}, "$.token"),
    ],
)
def test_malformed_checkouts_name_the_problem(change: dict[str, object], path: str) -> None:
    """A verified body that is not a usable checkout is 400 with the path."""
    payload = {**shopify_checkout(), **change}
    with pytest.raises(MalformedWebhook, match=path.replace("$", r"\$").replace("[", r"\[")):
        SOURCE.parse(shopify_request("checkouts/create", payload), now=NOW)


def test_source_refuses_to_start_without_a_secret() -> None:
    """An empty secret would make every forged request verify."""
    with pytest.raises(InvalidInputError, match="secret"):
        ShopifySource(secret="")
    with pytest.raises(InvalidInputError, match="secret"):
        ShopifySource(secret=[])


def test_multi_currency_checkout_reads_what_the_customer_saw() -> None:
    """With price sets, items and total are read in the presentment currency."""
    payload = shopify_checkout()
    payload["currency"] = "EUR"
    payload["total_price_set"] = {
        "shop_money": {"amount": "39.00", "currency_code": "EUR"},
        "presentment_money": {"amount": "168.00", "currency_code": "PLN"},
    }
    payload["line_items"][0]["price"] = "19.50"
    payload["line_items"][0]["price_set"] = {
        "shop_money": {"amount": "19.50", "currency_code": "EUR"},
        "presentment_money": {"amount": "84.00", "currency_code": "PLN"},
    }
    fact = activity_of(shopify_request("checkouts/create", payload))
    assert Money("168.00", "PLN") == fact.total
    assert [Money("84.00", "PLN")] == [item.unit_price for item in fact.items]
