"""Shop webhook bodies shaped like the providers' own, and signing as their docs describe.

The signatures are computed here straight from the written rule (base64 of
HMAC-SHA256 of the raw body), independently of the library's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from recoverykit.webhooks import WebhookRequest

SHOPIFY_SECRET = "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"
WOO_SECRET = "wc-webhook-secret-7c1d"
TOKEN = "0123456789abcdef0456456789abcdef"


def b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_request(
    topic: str, payload: Any, *, secret: str = SHOPIFY_SECRET, webhook_id: str = "b54557e4"
) -> WebhookRequest:
    body = json.dumps(payload).encode()
    return WebhookRequest(
        "POST",
        "https://shop.example/hooks/shopify",
        {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": b64_hmac(secret, body),
            "X-Shopify-Shop-Domain": "northwind.myshopify.com",
            "X-Shopify-Webhook-Id": webhook_id,
            "Content-Type": "application/json",
        },
        body,
    )


def shopify_checkout(
    *,
    token: str = TOKEN,
    updated_at: str = "2026-03-02T11:00:00+01:00",
    stage: str = "payment",
    guest: bool = False,
    sms_state: str = "subscribed",
    sms_level: str = "confirmed_opt_in",
    completed_at: str | None = None,
    phone: str = "+48 601 234 567",
) -> dict[str, Any]:
    """A checkout as ``checkouts/create`` and ``checkouts/update`` deliver it."""
    checkout: dict[str, Any] = {
        "id": 26254234562,
        "token": token,
        "cart_token": "c1-68be3bdc331cfec1e79d05d8c4caa7d7",
        "email": "anna@example.com",
        "created_at": "2026-03-02T10:52:00+01:00",
        "updated_at": updated_at,
        "completed_at": completed_at,
        "currency": "PLN",
        "presentment_currency": "PLN",
        "customer_locale": "pl-PL",
        "total_price": "168.00",
        "subtotal_price": "168.00",
        "abandoned_checkout_url": (
            f"https://northwind.example/26254234562/checkouts/{token}/recover?key=6dacd6065bb8"
        ),
        "line_items": [
            {
                "key": "c1-1",
                "product_id": 632910392,
                "variant_id": 808950810,
                "sku": "KET-1",
                "title": "Kettle",
                "variant_title": "Steel",
                "quantity": 2,
                "price": "84.00",
            }
        ],
        "shipping_lines": [],
        "gateway": None,
        "phone": None,
    }
    if stage in {"shipping", "payment"}:
        checkout["shipping_address"] = {
            "first_name": "Anna",
            "phone": phone,
            "country_code": "PL",
            "city": "Kraków",
        }
    if stage == "payment":
        checkout["shipping_lines"] = [{"code": "standard", "price": "0.00", "title": "Standard"}]
    if not guest:
        checkout["customer"] = {
            "id": 207119551,
            "email": "anna@example.com",
            "first_name": "Anna",
            "phone": phone,
            "orders_count": 1,
            "sms_marketing_consent": {
                "state": sms_state,
                "opt_in_level": sms_level,
                "consent_updated_at": "2026-02-20T09:00:00+01:00",
                "consent_collected_from": "SHOPIFY",
            },
            "email_marketing_consent": {
                "state": "unsubscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": "2026-02-21T09:00:00+01:00",
            },
        }
    return checkout


def shopify_order(
    *, order_id: int = 450789469, token: str | None = TOKEN, at: str = "2026-03-02T12:01:00+01:00"
) -> dict[str, Any]:
    """An order as ``orders/create`` and ``orders/paid`` deliver it."""
    return {
        "id": order_id,
        "checkout_token": token,
        "email": "anna@example.com",
        "phone": None,
        "created_at": at,
        "processed_at": at,
        "currency": "PLN",
        "presentment_currency": "PLN",
        "total_price": "168.00",
        "customer": {"id": 207119551, "email": "anna@example.com", "phone": "+48601234567"},
    }


def woo_request(
    payload: Any,
    *,
    topic: str = "order.updated",
    secret: str = WOO_SECRET,
) -> WebhookRequest:
    body = json.dumps(payload).encode()
    return WebhookRequest(
        "POST",
        "https://shop.example/hooks/woocommerce",
        {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": topic.rsplit(".", maxsplit=1)[-1],
            "X-WC-Webhook-Signature": b64_hmac(secret, body),
            "X-WC-Webhook-Delivery-ID": "7d1f",
            "X-WC-Webhook-Source": "https://northwind.example/",
            "Content-Type": "application/json",
        },
        body,
    )


def woo_order(
    *, status: str = "processing", customer_id: int = 12, phone: str = "601 234 567"
) -> dict[str, Any]:
    """An order as WooCommerce's REST API (v3) represents it in webhooks."""
    return {
        "id": 727,
        "parent_id": 0,
        "status": status,
        "currency": "PLN",
        "date_created_gmt": "2026-03-02T10:58:00",
        "date_modified_gmt": "2026-03-02T11:01:00",
        "date_paid_gmt": "2026-03-02T11:01:00" if status != "pending" else None,
        "total": "168.00",
        "customer_id": customer_id,
        "order_key": "wc_order_58d2d042d1d",
        "cart_hash": "8a3f2e",
        "billing": {
            "first_name": "Anna",
            "email": "Anna@Example.com",
            "phone": phone,
            "country": "PL",
        },
        "line_items": [
            {"id": 315, "name": "Kettle", "sku": "KET-1", "quantity": 2, "total": "168.00"}
        ],
    }
