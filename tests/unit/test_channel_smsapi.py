"""SMSAPI: the SMS adapter and its delivery-report callback (a gateway not shaped like Twilio)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.channels.smsapi import SMSAPI_ERRORS, SmsapiSMS
from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.errors import ChannelError, InvalidInputError
from recoverykit.testing.channel_contract import (
    ChannelContract,
    LoopbackServer,
    Recorded,
    Reply,
    loopback_server,
)
from recoverykit.values.model import Channel
from recoverykit.webhooks import (
    DeliveryStatus,
    MalformedWebhook,
    SignatureMismatch,
    SmsapiReports,
    StatusUpdate,
    WebhookError,
    WebhookRequest,
)

__all__ = ["loopback_server"]  # the fixture, imported for pytest

TOKEN = "0123456789abcdefOAUTHtoken"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def accepted(message_id: str = "1460969715572091219") -> Reply:
    """SMSAPI's answer to a queued message (the fields the adapter may read)."""
    return Reply(
        200,
        {
            "count": 1,
            "list": [
                {
                    "id": message_id,
                    "points": 0.16,
                    "number": "48601234567",
                    "date_sent": 1772445600,
                    "submitted_number": "48601234567",
                    "status": "QUEUE",
                    "error": None,
                    "idx": "chk-1:touch1:0",
                }
            ],
        },
    )


def message(**changes: Any) -> SendMessage:
    base = SendMessage(
        idempotency_key="chk-1:touch1:0",
        checkout_id="chk-1",
        customer_id="cus-1",
        channel=Channel.SMS,
        to="+48601234567",
        kind=MessageKind.TOUCH,
        key="remind",
        text="Northwind: your checkout is saved: https://s.example/r/1\nReply STOP to opt out.",
        locale="pl",
        touch=1,
    )
    return attrs.evolve(base, **changes)


class TestSmsapiContract(ChannelContract):
    channel = Channel.SMS
    error_table = SMSAPI_ERRORS

    def make_adapter(self, base_url: str, *, timeout: float) -> SmsapiSMS:
        return SmsapiSMS(TOKEN, sender="Northwind", base_url=base_url, timeout=timeout)

    def accepted(self, provider_id: str) -> Reply:
        return accepted(provider_id)

    def refused(self, code: str) -> Reply:
        return Reply(200, {"error": int(code), "message": f"error {code}"})

    def key_sent(self, request: Recorded) -> str | None:
        return request.form().get("idx")


def test_request_is_the_gateway_dialect(loopback_server: LoopbackServer) -> None:
    """sms.do gets a bearer token and form fields: digits only, utf-8, json, idx checked."""
    loopback_server.answer(accepted("77"))
    with SmsapiSMS(TOKEN, sender="Northwind", base_url=loopback_server.url) as sms:
        receipt = sms.send(message())
    assert "77" == receipt.provider_id
    [request] = loopback_server.requests
    assert ("POST", "/sms.do") == (request.method, request.path)
    assert f"Bearer {TOKEN}" == request.header("Authorization")
    form = request.form()
    assert {
        "to": "48601234567",
        "encoding": "utf-8",
        "format": "json",
        "idx": "chk-1:touch1:0",
        "check_idx": "1",
        "from": "Northwind",
    }.items() <= form.items()
    assert message().text == form["message"]


def test_refusal_with_an_http_error_status_still_reads_the_code(
    loopback_server: LoopbackServer,
) -> None:
    """Code 13 (no valid number) is permanent whether SMSAPI says it with 200 or 400."""
    loopback_server.answer(Reply(400, {"error": 13, "message": "No correct phone numbers"}))
    with (
        SmsapiSMS(TOKEN, base_url=loopback_server.url) as sms,
        pytest.raises(ChannelError) as caught,
    ):
        sms.send(message())
    assert ("13", True, False) == (caught.value.code, caught.value.permanent, caught.value.revoked)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"channel": Channel.WHATSAPP}, "SMS only"),
        ({"to": "601234567"}, "E.164"),
        ({"idempotency_key": "k" * 256}, "idx"),
    ],
)
def test_impossible_messages_fail_permanently_without_a_request(
    loopback_server: LoopbackServer, changes: dict[str, Any], reason: str
) -> None:
    """A message SMSAPI could never take is refused before any request."""
    with (
        SmsapiSMS(TOKEN, base_url=loopback_server.url) as sms,
        pytest.raises(ChannelError, match=reason) as caught,
    ):
        sms.send(message(**changes))
    assert caught.value.permanent
    assert [] == loopback_server.requests


def test_bad_configuration_is_refused() -> None:
    """A missing token or an impossible sender name is refused when built."""
    with pytest.raises(InvalidInputError, match="token"):
        SmsapiSMS("short")
    with pytest.raises(InvalidInputError, match="sender"):
        SmsapiSMS(TOKEN, sender="A sender name far too long")


# -- delivery reports --------------------------------------------------------------------------
SECRET = "r4nd0m-callback-secret-9f2c"
REPORTS = SmsapiReports(secret=SECRET)


def report(
    query: str, *, key: str = SECRET, method: str = "GET", body: bytes = b""
) -> WebhookRequest:
    url = f"https://shop.example/hooks/smsapi?key={key}&{query}"
    return WebhookRequest(method, url, {}, body)


def test_reports_need_the_secret_in_the_url() -> None:
    """Without the registered URL's secret nothing is read (403)."""
    with pytest.raises(SignatureMismatch):
        REPORTS.parse(report("MsgId=1&status=404", key="guess-guess-guess"), now=NOW)
    with pytest.raises(SignatureMismatch):
        REPORTS.parse(WebhookRequest("GET", "https://shop.example/h?MsgId=1", {}), now=NOW)


@pytest.mark.parametrize(
    ("code", "status", "permanent"),
    [
        ("404", DeliveryStatus.DELIVERED, False),
        ("403", DeliveryStatus.SENT, False),
        ("410", DeliveryStatus.SENT, False),
        ("405", DeliveryStatus.FAILED, True),
        ("402", DeliveryStatus.FAILED, False),
        ("406", DeliveryStatus.FAILED, False),
    ],
)
def test_statuses_map_to_status_updates(code: str, status: DeliveryStatus, permanent: bool) -> None:
    """Each final or interim SMSAPI status has its meaning."""
    [update] = REPORTS.parse(report(f"MsgId=77&status={code}&donedate=1772446000&idx=k"), now=NOW)
    assert isinstance(update, StatusUpdate)
    assert ("77", status, permanent) == (
        update.provider_message_id,
        update.status,
        update.permanent,
    )
    assert datetime.fromtimestamp(1772446000, UTC) == update.at
    assert f"77:{code}" == update.provider_id


def test_batched_report_and_interim_statuses() -> None:
    """Comma-separated reports are read in order; queued or unknown ones give nothing yet."""
    updates = REPORTS.parse(
        report("MsgId=1,2,3&status=404,409,405&donedate=1772446000,1772446001,1772446002"),
        now=NOW,
    )
    assert [("1", DeliveryStatus.DELIVERED), ("3", DeliveryStatus.FAILED)] == [
        (u.provider_message_id, u.status) for u in updates if isinstance(u, StatusUpdate)
    ]


def test_posted_report_fields_are_read_too() -> None:
    """SMSAPI may post the fields as a form body."""
    [update] = REPORTS.parse(
        report("", method="POST", body=b"MsgId=9&status=404&donedate=1772446000"), now=NOW
    )
    assert isinstance(update, StatusUpdate)
    assert "9" == update.provider_message_id


@pytest.mark.parametrize(
    "query",
    ["status=404", "MsgId=1,2&status=404", "MsgId=1&status=999", "MsgId=a b&status=404",
     "MsgId=1&status=404&donedate=yesterday"],
)  # fmt: skip
def test_malformed_reports_are_400(query: str) -> None:
    """A report SMSAPI would not send is malformed, never a crash."""
    with pytest.raises(MalformedWebhook):
        REPORTS.parse(report(query), now=NOW)


def test_short_secret_is_refused() -> None:
    """A guessable secret is refused when the parser is built."""
    with pytest.raises(InvalidInputError, match="16"):
        SmsapiReports(secret="short-secret")


@given(st.text(max_size=60), st.binary(max_size=60), st.sampled_from(["GET", "POST", "PUT"]))
def test_any_report_gives_updates_or_webhook_error(query: str, body: bytes, method: str) -> None:
    """Whatever arrives with the right secret, only updates or WebhookError come back."""
    try:
        found = REPORTS.parse(report(query, method=method, body=body), now=NOW)
    except WebhookError:
        return
    assert all(isinstance(update, StatusUpdate) for update in found)
