"""Twilio webhooks: signature first (rules.md §10 PW-1), then inbound SMS and statuses (PW-2).

Every signature here is computed in the test with ``hmac``/``hashlib`` from the rule
as Twilio states it, never through the module under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from recoverykit.errors import InvalidInputError, NaiveDatetimeError
from recoverykit.values.model import Channel
from recoverykit.webhooks import (
    DeliveryStatus,
    InboundMessage,
    MalformedWebhook,
    SignatureMismatch,
    StatusUpdate,
    TwilioWebhooks,
    WebhookError,
    WebhookRequest,
)

TOKEN = "twilio-auth-token-0123"
URL = "https://shop.example/hooks/twilio?tenant=7"
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
PARSER = TwilioWebhooks(auth_token=TOKEN)


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    """base64(HMAC-SHA1(token, url + every param sorted by name as name+value))."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def form_request(
    params: dict[str, str], *, url: str = URL, signature: str | None = None
) -> WebhookRequest:
    signature = sign(url, params) if signature is None else signature
    return WebhookRequest(
        "POST",
        url,
        {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
        urlencode(params).encode(),
    )


def inbound_sms(body: str = "STOP", **extra: str) -> dict[str, str]:
    return {
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "AccountSid": "AC" + "0" * 32,
        "From": "+48601234567",
        "To": "+48221234567",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def status(value: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": "SMfeedbeef",
        "MessageStatus": value,
        "SmsStatus": value,
        "To": "+48601234567",
        "From": "+48221234567",
        **extra,
    }


# -- what a verified request becomes ---------------------------------------------------------
def test_an_inbound_sms_becomes_an_inbound_message() -> None:
    """A signed inbound SMS is an InboundMessage on SMS from the E.164 sender, its text the
    Body and its provider id the MessageSid."""
    (message,) = PARSER.parse(form_request(inbound_sms("Stop please")), now=NOW)
    assert (
        InboundMessage(
            Channel.SMS, "+48601234567", "Stop please", "SM0123456789abcdef0123456789abcdef", NOW
        )
        == message
    )


def test_twilios_documented_example_verifies() -> None:
    """The request Twilio's security page signs (token 12345) verifies: being a voice call
    it is then refused as malformed for messaging, not as forged."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    request = form_request(params, url=url, signature="0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    with pytest.raises(MalformedWebhook, match="MessageSid"):
        TwilioWebhooks(auth_token="12345").parse(request, now=NOW)


def test_a_whatsapp_message_through_twilio_keeps_its_channel_and_button() -> None:
    """A sender written ``whatsapp:+…`` is a WhatsApp message from that number; a tapped
    quick reply gives its payload as the button and its label as the text."""
    params = inbound_sms(
        "Stop promotions",
        From="whatsapp:+48601234567",
        ButtonPayload="STOP_PROMOS",
        ButtonText="Stop promotions",
    )
    (message,) = PARSER.parse(form_request(params), now=NOW)
    assert isinstance(message, InboundMessage)
    assert (message.channel, message.address) == (Channel.WHATSAPP, "+48601234567")
    assert (message.text, message.button) == ("Stop promotions", "STOP_PROMOS")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("failed", DeliveryStatus.FAILED),
        ("undelivered", DeliveryStatus.FAILED),
    ],
)
def test_status_callbacks_map_to_delivery_statuses(raw: str, expected: DeliveryStatus) -> None:
    """MessageStatus sent/delivered/read map one to one; failed and undelivered both fail.
    Each report's provider id joins the SID and the raw status, so a retry repeats it."""
    (update,) = PARSER.parse(form_request(status(raw)), now=NOW)
    assert (
        StatusUpdate(Channel.SMS, "SMfeedbeef", expected, NOW, provider_id=f"SMfeedbeef:{raw}")
        == update
    )


@pytest.mark.parametrize("raw", ["queued", "sending", "accepted", "scheduled", "canceled"])
def test_interim_statuses_report_nothing(raw: str) -> None:
    """Statuses before the carrier answers say nothing the runner can use: no result."""
    assert PARSER.parse(form_request(status(raw)), now=NOW) == []


@pytest.mark.parametrize(
    ("code", "permanent", "revoked"),
    [
        ("21610", True, True),  # the recipient replied STOP: a revocation
        ("21614", True, False),  # not a mobile number
        ("30003", True, False),
        ("30005", True, False),
        ("30006", True, False),
        ("30007", True, False),  # carrier filtering: never resend this text
        ("30008", False, False),  # not in the table: transient
    ],
)
def test_failure_codes_read_through_the_shared_table(
    code: str, permanent: bool, revoked: bool
) -> None:
    """ErrorCode on a failed status gives permanent/revoked as rules.md §10 PW-2 says."""
    (update,) = PARSER.parse(form_request(status("undelivered", ErrorCode=code)), now=NOW)
    assert isinstance(update, StatusUpdate)
    assert (update.code, update.permanent, update.revoked) == (code, permanent, revoked)


def test_a_failure_without_a_code_is_transient() -> None:
    """A failed status with no ErrorCode carries no code and is not permanent."""
    (update,) = PARSER.parse(form_request(status("failed")), now=NOW)
    assert isinstance(update, StatusUpdate)
    assert (update.code, update.permanent, update.revoked) == (None, False, False)


def test_the_json_variant_is_verified_by_its_body_hash() -> None:
    """A JSON body is covered by ``bodySHA256`` (hex SHA-256 of the raw body) in the URL,
    and the URL alone is signed."""
    body = json.dumps(status("delivered"), separators=(",", ":")).encode()
    url = f"https://shop.example/hooks/twilio?bodySHA256={hashlib.sha256(body).hexdigest()}"
    request = WebhookRequest("POST", url, {"X-Twilio-Signature": sign(url, {})}, body)
    (update,) = PARSER.parse(request, now=NOW)
    assert isinstance(update, StatusUpdate)
    assert update.status is DeliveryStatus.DELIVERED


def test_a_get_webhook_is_signed_over_its_url() -> None:
    """A webhook configured as GET carries its fields in the query, covered by the URL."""
    url = "https://shop.example/hooks/twilio?" + urlencode(inbound_sms("hello"))
    request = WebhookRequest("GET", url, {"X-Twilio-Signature": sign(url, {})})
    (message,) = PARSER.parse(request, now=NOW)
    assert isinstance(message, InboundMessage)
    assert message.text == "hello"


@pytest.mark.parametrize(
    ("signed", "called"),
    [
        ("https://shop.example/hooks", "https://shop.example:443/hooks"),
        ("https://shop.example:443/hooks", "https://shop.example/hooks"),
        ("http://shop.example/hooks", "http://shop.example:80/hooks"),
    ],
)
def test_the_default_port_may_be_present_or_not(signed: str, called: str) -> None:
    """Twilio signs the URL with or without its default port; either verifies."""
    params = inbound_sms()
    request = form_request(params, url=called, signature=sign(signed, params))
    assert len(PARSER.parse(request, now=NOW)) == 1


# -- refused requests ------------------------------------------------------------------------
def _tampered_requests() -> dict[str, WebhookRequest]:
    params = inbound_sms("YES")
    good = form_request(params)
    changed_body = urlencode({**params, "Body": "STOP"}).encode()
    body = json.dumps(status("delivered")).encode()
    json_url = f"https://shop.example/t?bodySHA256={hashlib.sha256(body).hexdigest()}"
    return {
        "body": WebhookRequest("POST", URL, good.headers, changed_body),
        "added field": WebhookRequest("POST", URL, good.headers, good.body + b"&Extra=1"),
        "url path": WebhookRequest(
            "POST", URL.replace("twilio", "twilio2"), good.headers, good.body
        ),
        "url query": WebhookRequest("POST", URL + "&x=1", good.headers, good.body),
        "other token": form_request(params, signature=sign(URL, params, token="someone-else")),
        "no header": WebhookRequest("POST", URL, {}, good.body),
        "empty header": WebhookRequest("POST", URL, {"X-Twilio-Signature": ""}, good.body),
        "json body": WebhookRequest(
            "POST", json_url, {"X-Twilio-Signature": sign(json_url, {})}, body + b" "
        ),
        "json hash": WebhookRequest(
            "POST",
            json_url[:-1] + "0",
            {"X-Twilio-Signature": sign(json_url[:-1] + "0", {})},
            body,
        ),
        "not utf-8": WebhookRequest("POST", URL, good.headers, b"Body=%ff%fe&MessageSid=SM1"),
    }


@pytest.mark.parametrize("case", list(_tampered_requests()))
def test_anything_tampered_or_unsigned_is_a_signature_mismatch(case: str) -> None:
    """A changed body, field, URL, body hash, another account's token or no signature at
    all is SignatureMismatch (HTTP 403)."""
    with pytest.raises(SignatureMismatch) as caught:
        PARSER.parse(_tampered_requests()[case], now=NOW)
    assert caught.value.status == 403


def test_a_body_over_the_limit_is_refused_before_hashing() -> None:
    """A body larger than max_body_bytes is MalformedWebhook (400), signature unread."""
    small = TwilioWebhooks(auth_token=TOKEN, max_body_bytes=64)
    request = form_request(inbound_sms("x" * 100))
    with pytest.raises(MalformedWebhook, match="at most 64") as caught:
        small.parse(request, now=NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"From": "+48601234567", "Body": "hi"}, "MessageSid"),
        ({"MessageSid": "SM1", "From": "+48601234567"}, "neither Body"),
        ({"MessageSid": "SM1", "Body": "hi"}, "From"),
        ({"MessageSid": "SM 1", "From": "+48601234567", "Body": "hi"}, "MessageSid"),
    ],
)
def test_a_verified_request_that_is_not_a_messaging_webhook_is_malformed(
    params: dict[str, str], fragment: str
) -> None:
    """Signed but missing what a messaging webhook always has: MalformedWebhook naming it."""
    with pytest.raises(MalformedWebhook, match=fragment):
        PARSER.parse(form_request(params), now=NOW)


def test_a_body_that_is_not_bytes_is_malformed() -> None:
    """A body handed over as text was decoded on the way: refused, since the signature
    covers bytes."""
    request = WebhookRequest("POST", URL, {"X-Twilio-Signature": "x"}, "Body=hi")  # type: ignore[arg-type]
    with pytest.raises(MalformedWebhook, match="raw bytes"):
        PARSER.parse(request, now=NOW)


def test_errors_are_webhook_errors_with_http_statuses() -> None:
    """Both refusals are WebhookError (a ValueError) carrying the status to answer."""
    assert issubclass(SignatureMismatch, WebhookError)
    assert issubclass(MalformedWebhook, WebhookError)
    assert issubclass(WebhookError, ValueError)


# -- configuration -----------------------------------------------------------------------
@pytest.mark.parametrize("token", ["", "   ", None, 42])
def test_a_missing_auth_token_is_refused(token: object) -> None:
    """Without a token every forged request would verify against an empty key."""
    with pytest.raises(InvalidInputError, match="auth_token"):
        TwilioWebhooks(auth_token=token)  # type: ignore[arg-type]


def test_the_token_never_shows_in_repr() -> None:
    """repr names the parser and its limit, never the secret."""
    assert TOKEN not in repr(PARSER)


def test_now_must_be_aware() -> None:
    """A naive ``now`` is a programming error, refused before anything is read."""
    with pytest.raises(NaiveDatetimeError):
        PARSER.parse(form_request(inbound_sms()), now=datetime(2026, 3, 10, 10, 0))
