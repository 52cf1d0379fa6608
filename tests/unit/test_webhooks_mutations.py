"""Signed webhook bodies mutated one value at a time, by type as well as by value.

A provider retries a whole batch when an endpoint answers 500, so a parser that
raises anything but ``WebhookError`` on a signed body loses every event in it (a
STOP among them). Each genuine payload below is walked exhaustively: every value in
it, at every depth, is replaced in turn by each mutant (another JSON type, an empty
one, a lone surrogate), re-signed, and parsed. The parser must return results or
raise ``WebhookError``; every string it returns must be valid Unicode.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from recoverykit.webhooks import (
    InboundMessage,
    MetaWebhooks,
    TelegramWebhooks,
    TwilioWebhooks,
    WebhookError,
    WebhookRequest,
)

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
STAMP = "1773136700"
META = MetaWebhooks(app_secret="meta-secret-mutations", verify_token="verify")
TELEGRAM = TelegramWebhooks(secret_token="tg-token-mutations")
TWILIO = TwilioWebhooks(auth_token="twilio-token-mutations")
URL = "https://shop.example/hook"

MUTANTS: tuple[Any, ...] = (
    None, True, 0, -1, 2**70, 1.5, "", "x", "\ud800", [], ["a"], {}, {"a": 1}, [[{}]],
)  # fmt: skip


def meta_body(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "419561257915477",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "messages": [message],
                            "statuses": [
                                {
                                    "id": "wamid.OUT1",
                                    "status": "failed",
                                    "timestamp": STAMP,
                                    "recipient_id": "48601234567",
                                    "errors": [{"code": 131049, "title": "limit"}],
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


META_BODIES = [
    meta_body(
        {"from": "48601234567", "id": "wamid.1", "timestamp": STAMP, "type": "text",
         "text": {"body": "STOP"}}
    ),
    meta_body(
        {"from": "48601234567", "id": "wamid.2", "timestamp": STAMP, "type": "interactive",
         "interactive": {"type": "button_reply", "button_reply": {"id": "stop", "title": "Stop"}}}
    ),
    meta_body(
        {"from": "48601234567", "id": "wamid.3", "timestamp": STAMP, "type": "button",
         "button": {"text": "Stop", "payload": "STOP"}}
    ),
    meta_body(
        {"from": "48601234567", "id": "wamid.4", "timestamp": STAMP, "type": "image",
         "image": {"caption": "is this in stock?", "id": "img1"}}
    ),
]  # fmt: skip
TELEGRAM_BODIES = [
    {"update_id": 900, "message": {"message_id": 5, "date": 1773136700,
     "chat": {"id": 42, "type": "private"}, "from": {"id": 42}, "text": "STOP"}},
    {"update_id": 901, "callback_query": {"id": "cb1", "from": {"id": 42}, "data": "1",
     "message": {"message_id": 6, "chat": {"id": 42, "type": "private"},
                 "reply_markup": {"inline_keyboard": [[{"text": "Shipping",
                                                        "callback_data": "1"}]]}}}},
    {"update_id": 902, "my_chat_member": {"chat": {"id": 42, "type": "private"},
     "date": 1773136700, "new_chat_member": {"status": "kicked"}}},
]  # fmt: skip
TWILIO_BODIES = [
    {"MessageSid": "SM1", "From": "+48601234567", "Body": "STOP"},
    {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": 21610, "To": "+48601234567"},
]


def paths(document: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in ``document`` that holds a value, the root excluded."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*trail, key)
            yield from paths(value, (*trail, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*trail, index)
            yield from paths(value, (*trail, index))


def mutated(document: Any, where: tuple[Any, ...], mutant: Any) -> Any:
    copied = copy.deepcopy(document)
    parent = copied
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = copy.deepcopy(mutant)
    return copied


def variants(documents: list[Any]) -> Iterator[Any]:
    for document in documents:
        yield document
        for where in paths(document):
            for mutant in MUTANTS:
                yield mutated(document, where, mutant)


def meta_request(document: Any) -> WebhookRequest:
    body = json.dumps(document).encode()
    digest = hmac.new(b"meta-secret-mutations", body, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", URL, {"X-Hub-Signature-256": f"sha256={digest}"}, body)


def telegram_request(document: Any) -> WebhookRequest:
    body = json.dumps(document).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-token-mutations"}
    return WebhookRequest("POST", URL, headers, body)


def twilio_request(document: Any) -> WebhookRequest:
    body = json.dumps(document).encode()
    url = f"{URL}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    digest = hmac.new(b"twilio-token-mutations", url.encode(), hashlib.sha1).digest()
    headers = {"X-Twilio-Signature": base64.b64encode(digest).decode()}
    return WebhookRequest("POST", url, headers, body)


def strings_in(result: object) -> Iterator[str]:
    for value in attrs.asdict(result).values():  # type: ignore[arg-type]
        if isinstance(value, str):
            yield value


@pytest.mark.parametrize(
    ("parser", "build", "documents"),
    [
        (META, meta_request, META_BODIES),
        (TELEGRAM, telegram_request, TELEGRAM_BODIES),
        (TWILIO, twilio_request, TWILIO_BODIES),
    ],
    ids=["meta", "telegram", "twilio"],
)
def test_every_value_mutated_by_type_is_read_or_refused(
    parser: MetaWebhooks | TelegramWebhooks | TwilioWebhooks, build: Any, documents: list[Any]
) -> None:
    """Only WebhookError escapes a parser, and every string it returns encodes as UTF-8."""
    count = 0
    statuses: set[int] = set()
    for document in variants(documents):
        count += 1
        try:
            found = parser.parse(build(document), now=NOW)
        except WebhookError as err:
            statuses.add(err.status)
            continue
        for result in found:
            for value in strings_in(result):
                value.encode("utf-8")  # raises on a lone surrogate
    assert count > 10 * len(documents)
    assert statuses <= {400, 403}


def test_meta_interactive_type_as_a_list_is_a_message_without_a_choice() -> None:
    """The Why of issue 19: ``interactive.type`` holding a list raised TypeError (a 500)."""
    document = copy.deepcopy(META_BODIES[1])
    message = document["entry"][0]["changes"][0]["value"]["messages"][0]
    message["interactive"]["type"] = ["button_reply"]
    found = META.parse(meta_request(document), now=NOW)
    assert [type(item).__name__ for item in found] == ["InboundMessage", "StatusUpdate"]
    assert found[0] == InboundMessage(
        channel=found[0].channel, address="+48601234567", text="", provider_id="wamid.2",
        at=found[0].at, button=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("parser", "build", "document"),
    [
        (META, meta_request, meta_body(
            {"from": "48601234567", "id": "wamid.9", "timestamp": STAMP, "type": "text",
             "text": {"body": "STOP \ud800"}})),
        (TELEGRAM, telegram_request, {"update_id": 9, "message": {
            "date": 1773136700, "chat": {"id": 42, "type": "private"}, "text": "STOP \udc00"}}),
        (TWILIO, twilio_request,
         {"MessageSid": "SM9", "From": "+48601234567", "Body": "STOP \ud800"}),
    ],
    ids=["meta", "telegram", "twilio"],
)  # fmt: skip
def test_a_stop_with_a_lone_surrogate_is_still_a_stop(
    parser: MetaWebhooks | TelegramWebhooks | TwilioWebhooks, build: Any, document: Any
) -> None:
    """A lone surrogate becomes U+FFFD; the reply is read, not lost."""
    found = parser.parse(build(document), now=NOW)
    message = next(item for item in found if isinstance(item, InboundMessage))
    assert message.text == "STOP \ufffd"
