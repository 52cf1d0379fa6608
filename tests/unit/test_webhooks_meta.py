"""WhatsApp Cloud API webhooks: X-Hub-Signature-256, the verify handshake, and payloads
(rules.md §10 PW-3; §3 WA-2; §9 CP-7).

Signatures are computed here with ``hmac``/``hashlib``; payload shapes follow the
``WebhookPayload`` schema of Meta's OpenAPI description (reference/meta).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recoverykit.errors import InvalidInputError
from recoverykit.values.model import Channel
from recoverykit.webhooks import (
    DeliveryStatus,
    InboundMessage,
    MalformedWebhook,
    MetaWebhooks,
    SignatureMismatch,
    StatusUpdate,
    WebhookRequest,
)

SECRET = "meta-app-secret-0123"
VERIFY = "verify-token-abc"
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
STAMP = str(int((NOW - timedelta(minutes=2)).timestamp()))
PARSER = MetaWebhooks(app_secret=SECRET, verify_token=VERIFY)
URL = "https://shop.example/hooks/whatsapp"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(payload: Any, *, signature: str | None = None, method: str = "POST") -> WebhookRequest:
    body = json.dumps(payload).encode()
    header = sign(body) if signature is None else signature
    return WebhookRequest(method, URL, {"X-Hub-Signature-256": header}, body)


def payload(*values: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    """One entry whose changes carry ``values``."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "419561257915477",
                "changes": [{"field": field, "value": value} for value in values],
            }
        ],
    }


def messages(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ada"}, "wa_id": "48601234567"}],
        "messages": list(items),
    }


def statuses(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": list(items),
    }


def text(body: str, message_id: str = "wamid.IN1", sender: str = "48601234567") -> dict[str, Any]:
    return {
        "from": sender,
        "id": message_id,
        "timestamp": STAMP,
        "type": "text",
        "text": {"body": body},
    }


def report(value: str, *errors: int, message_id: str = "wamid.OUT1") -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": message_id,
        "status": value,
        "timestamp": STAMP,
        "recipient_id": "48601234567",
    }
    if errors:
        item["errors"] = [{"code": code, "title": "t", "message": "m"} for code in errors]
    return item


AT = NOW - timedelta(minutes=2)


# -- messages ------------------------------------------------------------------------------
def test_a_text_message_becomes_an_inbound_message() -> None:
    """A text from WhatsApp id 48601234567 is an InboundMessage from +48601234567 at the
    message's own timestamp, its provider id the wamid."""
    (message,) = PARSER.parse(request(payload(messages(text("STOP")))), now=NOW)
    assert InboundMessage(Channel.WHATSAPP, "+48601234567", "STOP", "wamid.IN1", AT) == message


def test_a_timestamp_from_the_future_counts_as_now() -> None:
    """A provider clock running ahead never delays what a message means (a STOP counts now)."""
    item = {**text("STOP"), "timestamp": str(int((NOW + timedelta(hours=3)).timestamp()))}
    (message,) = PARSER.parse(request(payload(messages(item))), now=NOW)
    assert message.at == NOW


@pytest.mark.parametrize(
    ("item", "words", "button"),
    [
        (
            {"type": "button", "button": {"payload": "STOP_PROMOS", "text": "Stop promotions"}},
            "Stop promotions",
            "STOP_PROMOS",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "1", "title": "Yes"},
                },
            },
            "Yes",
            "1",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "2", "title": "Delivery", "description": "d"},
                },
            },
            "Delivery",
            "2",
        ),
        ({"type": "image", "image": {"id": "m1", "caption": "this one?"}}, "this one?", None),
        ({"type": "sticker", "sticker": {"id": "m2"}}, "", None),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, "", None),
    ],
)
def test_buttons_and_other_kinds(item: dict[str, Any], words: str, button: str | None) -> None:
    """A quick reply or interactive reply carries its payload/id as the button and its label
    as the text; media keep their caption; other kinds come with empty text (still a
    message from the customer, which opens the service window)."""
    full = {"from": "48601234567", "id": "wamid.B", "timestamp": STAMP, **item}
    (message,) = PARSER.parse(request(payload(messages(full))), now=NOW)
    assert isinstance(message, InboundMessage)
    assert (message.text, message.button) == (words, button)


def test_system_notices_are_not_customer_messages() -> None:
    """A 'user changed number' notice is left out."""
    notice = {
        "from": "48601234567",
        "id": "wamid.S",
        "timestamp": STAMP,
        "type": "system",
        "system": {"body": "changed", "type": "user_changed_number"},
    }
    assert PARSER.parse(request(payload(messages(notice))), now=NOW) == []


# -- statuses --------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["sent", "delivered", "read"])
def test_statuses_become_status_updates(value: str) -> None:
    """sent/delivered/read reports name the message by its wamid, at the report's time."""
    (update,) = PARSER.parse(request(payload(statuses(report(value)))), now=NOW)
    assert (
        StatusUpdate(
            Channel.WHATSAPP,
            "wamid.OUT1",
            DeliveryStatus(value),
            AT,
            provider_id=f"wamid.OUT1:{value}",
        )
        == update
    )


@pytest.mark.parametrize(
    ("code", "permanent"),
    [
        (131047, True),  # outside the 24-hour window: free text can never reach them now (WA-2)
        (131049, False),  # per-user marketing limit: wait, the number stays good (CP-7)
        (131026, True),  # undeliverable (PW-3)
        (131000, False),  # not in the table: transient
    ],
)
def test_failed_statuses_carry_their_error_meaning(code: int, permanent: bool) -> None:
    """A failed report's first error code is read through the shared table."""
    (update,) = PARSER.parse(request(payload(statuses(report("failed", code)))), now=NOW)
    assert isinstance(update, StatusUpdate)
    assert update.status is DeliveryStatus.FAILED
    assert (update.code, update.permanent, update.revoked) == (str(code), permanent, False)


def test_an_unknown_status_is_skipped() -> None:
    """A status this release does not know is not applied, and not an error."""
    assert PARSER.parse(request(payload(statuses(report("deleted")))), now=NOW) == []


def test_every_entry_and_change_of_a_batch_is_returned_in_order() -> None:
    """Meta batches entries and changes: every message and status comes back, in order."""
    batch = payload(
        messages(text("one", "wamid.1"), text("two", "wamid.2")),
        statuses(report("delivered", message_id="wamid.3")),
    )
    batch["entry"].append(payload(messages(text("three", "wamid.4")))["entry"][0])
    found = PARSER.parse(request(batch), now=NOW)
    ids = [
        item.provider_message_id if isinstance(item, StatusUpdate) else item.provider_id
        for item in found
    ]
    assert ids == ["wamid.1", "wamid.2", "wamid.3", "wamid.4"]


def test_other_fields_and_products_give_nothing() -> None:
    """Template reviews and other products' payloads are not about recoveries."""
    review = payload({"event": "APPROVED"}, field="message_template_status_update")
    assert PARSER.parse(request(review), now=NOW) == []
    page = {"object": "page", "entry": [{"id": "1", "messaging": []}]}
    assert PARSER.parse(request(page), now=NOW) == []


# -- refused requests ------------------------------------------------------------------------
def test_anything_tampered_or_unsigned_is_a_signature_mismatch() -> None:
    """A changed body, another secret, a missing or misspelt header is SignatureMismatch."""
    good = request(payload(messages(text("YES"))))
    header = good.headers["x-hub-signature-256"]
    digest = header.removeprefix("sha256=")
    cases = [
        WebhookRequest("POST", URL, good.headers, good.body.replace(b"YES", b"NO!")),
        WebhookRequest("POST", URL, {"X-Hub-Signature-256": sign(good.body, "other")}, good.body),
        WebhookRequest("POST", URL, {}, good.body),
        WebhookRequest("POST", URL, {"X-Hub-Signature-256": digest}, good.body),
        WebhookRequest("POST", URL, {"X-Hub-Signature-256": "sha1=" + digest[:40]}, good.body),
        WebhookRequest("POST", URL, {"X-Hub-Signature": header}, good.body),
    ]
    for case in cases:
        with pytest.raises(SignatureMismatch) as caught:
            PARSER.parse(case, now=NOW)
        assert caught.value.status == 403


def test_an_upper_case_digest_still_verifies() -> None:
    """Hex case carries no meaning: an upper-case digest of the right HMAC verifies."""
    good = request(payload(messages(text("hi"))))
    header = "sha256=" + good.headers["x-hub-signature-256"][7:].upper()
    upper = WebhookRequest("POST", URL, {"X-Hub-Signature-256": header}, good.body)
    assert len(PARSER.parse(upper, now=NOW)) == 1


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"object": "whatsapp_business_account"}, r"\$\.entry is missing"),
        ({"object": "whatsapp_business_account", "entry": {}}, r"\$\.entry must be an array"),
        (
            payload(
                messages({"id": "w", "timestamp": STAMP, "type": "text", "text": {"body": ""}})
            ),
            r"messages\[0\]\.from is missing",
        ),
        (payload(messages({**text("x"), "from": "+4860"})), r"messages\[0\]\.from"),
        (payload(messages({**text("x"), "timestamp": "soon"})), r"messages\[0\]\.timestamp"),
        (payload(statuses({"id": "w", "timestamp": STAMP})), r"statuses\[0\]\.status is missing"),
        ([1, 2], r"\$ must be an object"),
    ],
)
def test_a_verified_body_that_is_not_a_webhook_payload_is_malformed(
    document: Any, fragment: str
) -> None:
    """Signed but shaped wrong: MalformedWebhook naming the JSON path of the problem."""
    with pytest.raises(MalformedWebhook, match=fragment):
        PARSER.parse(request(document), now=NOW)


def test_invalid_json_and_a_get_are_malformed() -> None:
    """A signed body that is not JSON, or a GET (the handshake's method), is refused."""
    body = b'{"object": '
    with pytest.raises(MalformedWebhook, match="not valid JSON"):
        PARSER.parse(
            WebhookRequest("POST", URL, {"X-Hub-Signature-256": sign(body)}, body), now=NOW
        )
    with pytest.raises(MalformedWebhook, match="handshake"):
        PARSER.parse(request(payload(), method="GET"), now=NOW)


# -- the verify handshake ------------------------------------------------------------------
def test_the_handshake_echoes_the_challenge() -> None:
    """mode=subscribe with the configured token answers with hub.challenge."""
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    assert PARSER.handshake(query) == "1158201444"
    listed = {name: [value] for name, value in query.items()}
    assert PARSER.handshake(listed) == "1158201444"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "<script>"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY},
        {},
    ],
)
def test_a_wrong_handshake_is_forbidden(query: dict[str, str]) -> None:
    """A wrong or missing token, another mode, or a challenge that is not a plain token
    is SignatureMismatch (403); nothing is echoed."""
    with pytest.raises(SignatureMismatch) as caught:
        PARSER.handshake(query)
    assert caught.value.status == 403


# -- configuration -------------------------------------------------------------------------
def test_secrets_are_required_and_never_shown() -> None:
    """Both secrets must be given; repr shows neither."""
    with pytest.raises(InvalidInputError, match="app_secret"):
        MetaWebhooks(app_secret="", verify_token=VERIFY)
    with pytest.raises(InvalidInputError, match="verify_token"):
        MetaWebhooks(app_secret=SECRET, verify_token="")
    assert SECRET not in repr(PARSER)
    assert VERIFY not in repr(PARSER)
