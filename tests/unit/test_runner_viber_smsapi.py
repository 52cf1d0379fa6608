"""Viber and SMSAPI through the runner: callbacks in, touches out, consent kept (issue 21)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from recoverykit.engine.events import CheckoutAbandoned, ConsentChanged
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.protocols import OutboxStatus
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel, Customer
from recoverykit.webhooks import SmsapiReports, StartLinks, ViberWebhooks, WebhookRequest
from tests.engine_helpers import checkout, grant

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AUTH = "viber-auth-token-0123456789"
STARTS = StartLinks({"v": b"viber-start-secret-0123456789"})
VIBER = ViberWebhooks(auth_token=AUTH, start_links=STARTS)
USER = "01234567890A="


def viber_callback(payload: dict[str, Any]) -> WebhookRequest:
    body = json.dumps(payload).encode()
    signature = hmac.new(AUTH.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(
        "POST", "https://s.example/v", {"X-Viber-Content-Signature": signature}, body
    )


def _runner() -> tuple[Runner, FakeClock, FakeChannel, FakeChannel]:
    clock = FakeClock(T0)
    viber = FakeChannel(Channel.VIBER, clock=clock)
    sms = FakeChannel(Channel.SMS, clock=clock)
    runner = Runner(
        RecoveryPolicy(store_name="Northwind", channels=(Channel.VIBER, Channel.SMS)),
        MemoryStore(),
        {Channel.VIBER: viber, Channel.SMS: sms},
        clock,
    )
    return runner, clock, viber, sms


def test_a_chat_opened_through_the_store_link_is_bound_and_reminded_on_viber() -> None:
    """conversation_started with a signed context binds the Viber user and is the opt-in;
    the recovery then reminds on Viber; unsubscribing stops the rest."""
    runner, clock, viber, _sms = _runner()
    anna = Customer(id="cus-42", first_name="Anna", locale="pl", country="PL")
    started = {
        "event": "conversation_started",
        "timestamp": int(T0.timestamp() * 1000),
        "message_token": 1,
        "type": "open",
        "context": STARTS.payload("cus-42", now=T0),
        "user": {"id": USER},
    }
    for fact in VIBER.parse(viber_callback(started), now=clock.now()):
        runner.receive(fact)
    runner.handle(CheckoutAbandoned(checkout(anna, at=T0), T0))
    clock.advance(timedelta(hours=1))
    runner.run_due()
    assert [(Channel.VIBER, USER, "remind")] == [(m.channel, m.to, m.key) for m in viber.sent]

    left = {"event": "unsubscribed", "timestamp": int(clock.now().timestamp() * 1000),
            "user_id": USER, "message_token": 2}  # fmt: skip
    for fact in VIBER.parse(viber_callback(left), now=clock.now()):
        runner.receive(fact)
    for _ in range(8):
        clock.advance(timedelta(hours=12))
        runner.run_due()
    assert 1 == len(viber.sent)


def test_smsapi_delivery_report_reaches_the_touch_it_names() -> None:
    """A report naming the provider id of a sent touch becomes MessageDelivered."""
    runner, clock, _viber, sms = _runner()
    anna = Customer(id="cus-1", first_name="Anna", phone="+48601234567", locale="pl")
    runner.handle(ConsentChanged(grant(anna, Channel.SMS, at=T0 - timedelta(days=1))))
    runner.handle(CheckoutAbandoned(checkout(anna, at=T0), T0))
    clock.advance(timedelta(hours=1))
    runner.run_due()
    [sent] = runner.store.outbox(status=OutboxStatus.SENT)
    reports = SmsapiReports(secret="callback-secret-0123456789")
    done = int(clock.now().timestamp())
    url = (
        "https://s.example/smsapi?key=callback-secret-0123456789"
        f"&MsgId={sent.provider_id}&status=404&donedate={done}"
    )
    for fact in reports.parse(WebhookRequest("GET", url, {}), now=clock.now()):
        runner.receive(fact)
    delivered = [
        r
        for r in runner.store.events()
        if r.kind == "event" and r.data["type"] == "MessageDelivered"
    ]
    assert 1 == len(delivered)
    assert 1 == len(sms.sent)
