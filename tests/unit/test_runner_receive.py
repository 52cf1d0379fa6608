"""Runner.receive: webhook facts in, engine events out, and nothing twice (DESIGN invariant 10).

Requests go through the real parsers with signatures computed here, the way an
endpoint would: verify, then ``receive`` each fact. Every test runs on the memory
and the SQLite store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from recoverykit.engine.commands import MessageKind
from recoverykit.engine.events import CheckoutAbandoned
from recoverykit.engine.machine import Decision
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryStatus
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import Reply
from recoverykit.policies.vocabulary import Vocabulary
from recoverykit.protocols import LogRecord, RecordKind, Store
from recoverykit.runtime.addresses import address_ledger_id
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money
from recoverykit.webhooks import (
    DeliveryStatus,
    MetaWebhooks,
    StartLinks,
    StatusUpdate,
    TelegramWebhooks,
    TwilioWebhooks,
    UnsubscribeRequest,
    WebhookError,
    WebhookRequest,
)

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 10:00 in London: inside contact hours
POLICY = RecoveryPolicy(store_name="Webhook Test Shop")
TOKEN = "twilio-auth-token-0123"
URL = "https://shop.example/hooks/twilio"
TWILIO = TwilioWebhooks(auth_token=TOKEN)
META = MetaWebhooks(app_secret="meta-app-secret", verify_token="verify")
STARTS = StartLinks({"a": b"start-link-secret-0123456789"})
TELEGRAM = TelegramWebhooks(secret_token="tg-secret", start_links=STARTS)
PHONE = "+447400123451"


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    made: Store = SQLiteStore(":memory:") if request.param == "sqlite" else MemoryStore()
    yield made
    made.close()


class Shop:
    """A runner with fake channels, one customer, and an endpoint like a framework's."""

    def __init__(self, store: Store, customer: Customer | None = None) -> None:
        self.store = store
        self.clock = FakeClock(T0)
        self.channels = {channel: FakeChannel(channel, clock=self.clock) for channel in Channel}
        self.runner = Runner(POLICY, store, self.channels, self.clock)
        self.customer = customer or Customer(
            id="cus-1", first_name="Sam", phone=PHONE, timezone="Europe/London", country="GB"
        )

    def grant(self, channel: Channel = Channel.SMS) -> None:
        with self.store.transaction() as tx:
            tx.save_customer(self.customer)
            tx.append_consent(
                ConsentEvent(
                    customer_id=self.customer.id,
                    channel=channel,
                    purpose=Purpose.RECOVERY,
                    action=ConsentAction.GRANTED,
                    at=T0 - timedelta(minutes=5),
                    source="checkout_checkbox",
                    text="Text me a reminder about this basket.",
                )
            )

    def abandon_and_send_first_touch(self) -> None:
        self.grant()
        price = Money(Decimal("40.00"), "GBP")
        checkout = Checkout(
            id="co-1",
            customer=self.customer,
            items=(LineItem("SKU-1", "Teapot", 1, price),),
            total=price,
            stage=Stage.PAYMENT,
            abandoned_at=T0,
            link="https://shop.example/r/1",
        )
        self.runner.handle(CheckoutAbandoned(checkout, T0))
        due = self.store.next_due()
        assert due is not None
        self.clock.set(due)
        assert self.runner.run_due() == 1

    def endpoint(self, parse: Any, request: WebhookRequest) -> int:
        """What framework glue does: parse, receive each fact, answer a status."""
        try:
            facts = parse(request, now=self.clock.now())
        except WebhookError as err:
            return err.status
        for fact in facts:
            self.runner.receive(fact)
        return 200

    @property
    def sms(self) -> FakeChannel:
        return self.channels[Channel.SMS]

    def log(self, kind: str | None = None) -> list[LogRecord]:
        return [r for r in self.store.events() if kind is None or r.kind == kind]

    def snapshot(self) -> tuple[object, ...]:
        with self.store.transaction() as tx:
            ledger = tx.ledger(self.customer.id).events
            customer = tx.customer(self.customer.id)
        return (
            [(r.kind, r.data) for r in self.log()],
            ledger,
            customer,
            sorted(s.checkout_id + s.status.value for s in self.store.states()),
            [len(channel.sent) for channel in self.channels.values()],
        )


def twilio_request(params: dict[str, str]) -> WebhookRequest:
    data = URL + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    headers = {"X-Twilio-Signature": base64.b64encode(digest).decode()}
    return WebhookRequest("POST", URL, headers, urlencode(params).encode())


def sms_from(sender: str, body: str, sid: str = "SM-in-1") -> WebhookRequest:
    return twilio_request({"MessageSid": sid, "From": sender, "To": "+447400000000", "Body": body})


def status_of(sid: str, value: str, code: str = "") -> WebhookRequest:
    params = {"MessageSid": sid, "MessageStatus": value, "To": PHONE}
    if code:
        params["ErrorCode"] = code
    return twilio_request(params)


def telegram_request(update: dict[str, Any]) -> WebhookRequest:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    return WebhookRequest("POST", "https://shop.example/tg", headers, json.dumps(update).encode())


def telegram_text(words: str, update_id: int = 1) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 5,
            "chat": {"id": 777, "type": "private"},
            "date": int(T0.timestamp()),
            "text": words,
        },
    }


def provider_id(channel: FakeChannel, index: int) -> str:
    return f"fake-{channel.sent[index].idempotency_key}"


def event_types(shop: Shop) -> list[str]:
    return [r.data["type"] for r in shop.log("event")]


def ignored(shop: Shop) -> list[tuple[str, str]]:
    return [(r.data["reason"], r.data["event"]) for r in shop.log("ignored")]


# -- inbound messages ------------------------------------------------------------------------
def test_stop_by_twilio_webhook_revokes_and_confirms_once(store: Store) -> None:
    """A signed STOP revokes SMS consent, finishes the recovery and sends exactly one
    confirmation (FCC-4); the same webhook again changes nothing and is logged duplicate."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    assert shop.endpoint(TWILIO.parse, sms_from(PHONE, "STOP")) == 200
    assert [m.kind for m in shop.sms.sent] == [MessageKind.TOUCH, MessageKind.REPLY]
    assert shop.sms.sent[-1].key == "optout_confirm"
    with store.transaction() as tx:
        assert tx.ledger("cus-1").opted_out("cus-1", Channel.SMS, shop.clock.now())
    assert [state.finish_reason for state in store.states()] == ["opted_out"]
    before = shop.snapshot()[1:]
    assert shop.endpoint(TWILIO.parse, sms_from(PHONE, "STOP")) == 200
    assert before == shop.snapshot()[1:]
    assert ignored(shop)[-1] == ("duplicate", "ReplyReceived")


def test_a_tampered_request_changes_nothing(store: Store) -> None:
    """A STOP whose body was changed on the way, or signed with another token, is answered
    403 and leaves log, ledger, recoveries and channels exactly as they were."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    good = sms_from(PHONE, "YES")
    forged = [
        WebhookRequest("POST", URL, good.headers, good.body.replace(b"YES", b"STOP")),
        WebhookRequest("POST", URL + "?x=1", good.headers, good.body),
        WebhookRequest("POST", URL, {}, good.body),
    ]
    before = shop.snapshot()
    for request in forged:
        assert shop.endpoint(TWILIO.parse, request) == 403
    assert before == shop.snapshot()


def test_a_message_from_an_unknown_address_is_logged_and_ignored(store: Store) -> None:
    """No customer uses the number: nothing changes but one ``ignored``/``unknown`` line."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    before = shop.snapshot()
    assert shop.runner.receive(TWILIO.parse(sms_from("+447400999999", "hello"), now=T0)[0]) == []
    assert before[1:] == shop.snapshot()[1:]
    assert ignored(shop) == [("unknown", "InboundMessage")]


def test_a_stop_from_an_unknown_address_binds_the_address(store: Store) -> None:
    """No customer uses the number yet: its STOP is filed under the address itself and
    confirmed once; a customer record that uses the number later is covered by it."""
    shop = Shop(store)
    stranger = "+447400999999"
    shop.runner.receive(TWILIO.parse(sms_from(stranger, "STOP"), now=T0)[0])
    shop.runner.receive(TWILIO.parse(sms_from(stranger, "STOP"), now=T0)[0])
    confirmations = [r for r in store.events() if r.kind == RecordKind.CONFIRM]
    assert [stranger] == [r.data["to"] for r in confirmations]
    with store.transaction() as tx:
        ledger = tx.ledger(address_ledger_id(Channel.SMS, stranger))
    assert ledger.opted_out(ledger.events[0].customer_id, Channel.SMS, T0)


def test_a_stop_with_no_recovery_to_answer_still_revokes_and_confirms_once(
    store: Store,
) -> None:
    """A customer with consent but no recovery texts STOP: the revocation is recorded (as a
    consent change) and the runner itself sends the one confirmation (FCC-4); the same
    webhook again sends nothing."""
    shop = Shop(store)
    shop.grant()
    shop.endpoint(TWILIO.parse, sms_from(PHONE, "STOP"))
    with store.transaction() as tx:
        ledger = tx.ledger("cus-1")
    assert ledger.opted_out("cus-1", Channel.SMS, T0)
    assert ledger.events[-1].source == "keyword"
    assert event_types(shop) == ["ConsentChanged"]
    assert [(m.kind, m.key, m.to) for m in shop.sms.sent] == [
        (MessageKind.REPLY, "optout_confirm", PHONE)
    ]
    assert shop.sms.sent[0].text.startswith("Webhook Test Shop: you are unsubscribed")
    shop.endpoint(TWILIO.parse, sms_from(PHONE, "STOP"))
    assert 1 == len(shop.sms.sent)
    shop.endpoint(TWILIO.parse, sms_from(PHONE, "STOP", sid="SM-in-2"))
    assert ["optout_confirm", "optout_confirm"] == [m.key for m in shop.sms.sent]


@pytest.mark.parametrize(("phone", "revoked"), [("+14155552671", True), (PHONE, False)])
def test_replies_are_read_with_the_customers_region(
    store: Store, phone: str, revoked: bool
) -> None:
    """ "ok STOP please" opts a US number out (keywords anywhere, as US carriers read them)
    but only flags a UK one for review: the region comes from the stored customer."""
    shop = Shop(store, Customer(id="cus-1", phone=phone))
    shop.grant()
    shop.endpoint(TWILIO.parse, sms_from(phone, "ok STOP please"))
    with store.transaction() as tx:
        assert tx.ledger("cus-1").opted_out("cus-1", Channel.SMS, T0) is revoked


def test_a_whatsapp_message_opens_the_service_window(store: Store) -> None:
    """A customer's WhatsApp message (signed by Meta) opens their 24-hour window (WA-2)."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "messages": [
                                {
                                    "from": PHONE[1:],
                                    "id": "wamid.in",
                                    "timestamp": str(int(T0.timestamp())),
                                    "type": "text",
                                    "text": {"body": "is it in blue?"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(b"meta-app-secret", body, hashlib.sha256).hexdigest()
    request = WebhookRequest("POST", "https://x/wa", {"X-Hub-Signature-256": signature}, body)
    assert shop.endpoint(META.parse, request) == 200
    with store.transaction() as tx:
        assert tx.service_window("cus-1", Channel.WHATSAPP) == T0 + timedelta(hours=24)
    assert "ReplyReceived" in event_types(shop)


# -- delivery statuses -----------------------------------------------------------------------
def test_a_delivery_status_becomes_message_delivered(store: Store) -> None:
    """Twilio's 'delivered' for the touch's SID is MessageDelivered for that touch, once."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    request = status_of(provider_id(shop.sms, 0), "delivered")
    assert shop.endpoint(TWILIO.parse, request) == 200
    (delivered,) = [r for r in shop.log("event") if r.data["type"] == "MessageDelivered"]
    assert (delivered.checkout_id, delivered.data["touch"]) == ("co-1", 1)
    assert [sent.delivered for state in store.states() for sent in state.sent] == [True]
    before = shop.snapshot()[1:]
    shop.endpoint(TWILIO.parse, request)
    assert before == shop.snapshot()[1:]
    assert ignored(shop)[-1] == ("duplicate", "MessageDelivered")


def test_a_carrier_stop_failure_revokes(store: Store) -> None:
    """An 'undelivered' with 21610 (the recipient's STOP at the carrier) on a touch is
    MessageFailed(revoked): consent is withdrawn and the recovery ends opted out."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    shop.endpoint(TWILIO.parse, status_of(provider_id(shop.sms, 0), "undelivered", "21610"))
    (failed,) = [r for r in shop.log("event") if r.data["type"] == "MessageFailed"]
    assert failed.data["code"] == "21610"
    with store.transaction() as tx:
        assert tx.ledger("cus-1").opted_out("cus-1", Channel.SMS, shop.clock.now())
    assert [state.finish_reason for state in store.states()] == ["opted_out"]


def test_statuses_of_replies_and_sent_reports_are_only_logged(store: Store) -> None:
    """'sent' for a touch and 'delivered' for the opt-out confirmation reach no recovery:
    one ``info`` line each, no event; a repeat is logged as a duplicate."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    shop.endpoint(TWILIO.parse, sms_from(PHONE, "STOP"))
    events_before = event_types(shop)
    shop.endpoint(TWILIO.parse, status_of(provider_id(shop.sms, 0), "sent"))
    shop.endpoint(TWILIO.parse, status_of(provider_id(shop.sms, 1), "delivered"))
    shop.endpoint(TWILIO.parse, status_of(provider_id(shop.sms, 1), "delivered"))
    assert event_types(shop) == events_before
    details = [r.data["detail"] for r in shop.log("info") if r.data.get("what") == "status"]
    assert details == ["touch 1 on sms: sent", "reply on sms: delivered"]
    assert ignored(shop)[-1] == ("duplicate", "StatusUpdate")


def test_a_failed_reply_that_revokes_still_revokes(store: Store) -> None:
    """A reply refused with 21610 carries no touch to the engine, yet the opt-out it reports
    is recorded."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    shop.endpoint(TWILIO.parse, sms_from(PHONE, "what sizes?"))  # handed off; no reply sent
    shop.endpoint(TWILIO.parse, sms_from(PHONE, "HELP", sid="SM-in-2"))
    replies = [m for m in shop.sms.sent if m.kind is MessageKind.REPLY]
    assert replies
    reply_sid = f"fake-{replies[-1].idempotency_key}"
    shop.endpoint(TWILIO.parse, status_of(reply_sid, "failed", "21610"))
    with store.transaction() as tx:
        last = tx.ledger("cus-1").events[-1]
    assert (last.action, last.source, last.channel) == (
        ConsentAction.REVOKED,
        "provider",
        Channel.SMS,
    )


def test_a_status_for_an_unknown_message_is_ignored(store: Store) -> None:
    """A provider id no outbox entry carries changes nothing and is logged unknown."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    before = shop.snapshot()[1:]
    shop.endpoint(TWILIO.parse, status_of("SM-never-sent", "delivered"))
    assert before == shop.snapshot()[1:]
    assert ignored(shop) == [("unknown", "StatusUpdate")]


def test_a_read_report_becomes_message_read(store: Store) -> None:
    """A StatusUpdate 'read' for a touch is MessageRead (which implies delivered)."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    update = StatusUpdate(
        Channel.SMS,
        provider_id(shop.sms, 0),
        status=DeliveryStatus.READ,
        at=shop.clock.now(),
        provider_id="r-1",
    )
    shop.runner.receive(update)
    assert "MessageRead" in event_types(shop)
    assert [(s.delivered, s.read) for state in store.states() for s in state.sent] == [(True, True)]


# -- Telegram: start links, buttons, blocks --------------------------------------------------
def test_a_start_link_binds_the_chat_and_grants_once(store: Store) -> None:
    """/start with a genuine payload saves the chat id on the customer (so the chat is
    recognised) and records one recovery grant on Telegram; a replay adds nothing."""
    shop = Shop(store)
    shop.grant()
    payload = STARTS.payload("cus-1", now=T0)
    request = telegram_request(telegram_text(f"/start {payload}"))
    assert shop.endpoint(TELEGRAM.parse, request) == 200
    with store.transaction() as tx:
        customer = tx.customer("cus-1")
        assert customer is not None
        assert customer.telegram_chat_id == "777"
        assert customer.phone == PHONE  # the rest of the record is kept
        assert tx.customer_for(Channel.TELEGRAM, "777") == "cus-1"
        ledger = tx.ledger("cus-1")
    assert ledger.allows("cus-1", Channel.TELEGRAM, Purpose.RECOVERY, T0, address="777")
    assert ledger.events[-1].source == "telegram_start_link"
    before = shop.snapshot()[1:]
    shop.endpoint(TELEGRAM.parse, request)
    assert before == shop.snapshot()[1:]


def test_a_start_link_for_a_customer_not_yet_stored_creates_the_binding(store: Store) -> None:
    """A start link can come before any checkout: the customer is stored with the chat id."""
    shop = Shop(store)
    shop.endpoint(
        TELEGRAM.parse, telegram_request(telegram_text("/start " + STARTS.payload("cus-9", now=T0)))
    )
    with store.transaction() as tx:
        assert tx.customer("cus-9") == Customer(id="cus-9", telegram_chat_id="777")


def test_a_tapped_button_is_a_menu_choice(store: Store) -> None:
    """An inline button whose data is "2" reads as the customer typing 2."""
    shop = Shop(store, Customer(id="cus-1", phone=PHONE, telegram_chat_id="777"))
    shop.abandon_and_send_first_touch()
    update = {
        "update_id": 3,
        "callback_query": {
            "id": "cb",
            "from": {"id": 777},
            "data": "2",
            "message": {"message_id": 1, "date": 1, "chat": {"id": 777, "type": "private"}},
        },
    }
    shop.endpoint(TELEGRAM.parse, telegram_request(update))
    (reply,) = [r for r in shop.log("event") if r.data["type"] == "ReplyReceived"]
    assert (reply.data["intent"], reply.data["text"]) == ("menu_choice", "2")


def test_blocking_the_bot_revokes_telegram_only(store: Store) -> None:
    """A block arrives as UnsubscribeRequest(source="blocked"): Telegram is revoked with that
    evidence; SMS consent stands."""
    shop = Shop(store, Customer(id="cus-1", phone=PHONE, telegram_chat_id="777"))
    shop.grant(Channel.TELEGRAM)
    shop.grant(Channel.SMS)
    shop.runner.receive(UnsubscribeRequest(Channel.TELEGRAM, "777", "upd-9", T0, source="blocked"))
    with store.transaction() as tx:
        ledger = tx.ledger("cus-1")
    assert ledger.opted_out("cus-1", Channel.TELEGRAM, T0)
    assert not ledger.opted_out("cus-1", Channel.SMS, T0)
    assert (ledger.events[-1].source, ledger.events[-1].address) == ("blocked", "777")


def test_an_unsubscribe_naming_its_customer_needs_no_lookup(store: Store) -> None:
    """A signed one-click link names the customer: revoked even if the address is unknown;
    without a customer id an unknown address is ignored."""
    shop = Shop(store)
    request = UnsubscribeRequest(
        Channel.EMAIL, "old@example.com", "u-1", T0, customer_id="cus-5", source="one-click"
    )
    shop.runner.receive(request)
    with store.transaction() as tx:
        assert tx.ledger("cus-5").opted_out("cus-5", Channel.EMAIL, T0)
    shop.runner.receive(UnsubscribeRequest(Channel.EMAIL, "nobody@example.com", "u-2", T0))
    assert ignored(shop) == [("unknown", "UnsubscribeRequest")]


def test_receive_takes_only_webhook_facts(store: Store) -> None:
    """Engine events go to handle(); anything else given to receive() is a TypeError."""
    shop = Shop(store)
    with pytest.raises(TypeError, match="handle"):
        shop.runner.receive("STOP")  # type: ignore[arg-type]


def test_receive_returns_the_decisions_it_caused(store: Store) -> None:
    """receive() returns handle()'s decisions: one per recovery the event reached."""
    shop = Shop(store)
    shop.abandon_and_send_first_touch()
    (fact,) = TWILIO.parse(sms_from(PHONE, "STOP"), now=shop.clock.now())
    decisions = shop.runner.receive(fact)
    assert len(decisions) == 1
    assert isinstance(decisions[0], Decision)


def test_a_chat_bound_by_a_start_link_survives_the_next_abandonment(store: Store) -> None:
    """The store's checkout does not know the Telegram chat: the binding made by the start
    link is kept when the customer is saved again, and touches can use it."""
    shop = Shop(store)
    shop.grant()
    payload = STARTS.payload("cus-1", now=T0)
    shop.endpoint(TELEGRAM.parse, telegram_request(telegram_text(f"/start {payload}")))
    price = Money(Decimal("40.00"), "GBP")
    shop.runner.handle(
        CheckoutAbandoned(
            Checkout(
                id="co-1",
                customer=shop.customer,
                items=(LineItem("SKU-1", "Teapot", 1, price),),
                total=price,
                stage=Stage.PAYMENT,
                abandoned_at=T0,
                link="https://shop.example/r/1",
            ),
            T0,
        )
    )
    with store.transaction() as tx:
        customer = tx.customer("cus-1")
        found = tx.load("co-1")
    assert customer is not None
    assert "777" == customer.telegram_chat_id
    assert found is not None
    assert found.state.checkout is not None
    assert "777" == found.state.checkout.customer.telegram_chat_id


# -- the store's own words -------------------------------------------------------------------
def test_the_runners_vocabulary_and_classifier_read_inbound_texts(store: Store) -> None:
    """``Runner(vocabulary=...)`` teaches the reader the store's words (a question that
    pauses and reaches a person); ``classifier`` is asked first."""
    shop = Shop(store)
    shop.runner.vocabulary = Vocabulary.of({"en": {"question": ["click and collect"]}})
    asked: list[str] = []

    def ours(text: str, *, locale: str | None, channel: Channel) -> Reply | None:
        asked.append(text)
        return None

    shop.runner.classifier = ours
    shop.abandon_and_send_first_touch()
    assert shop.endpoint(TWILIO.parse, sms_from(PHONE, "Click and collect in Leeds")) == 200
    assert ["Click and collect in Leeds"] == asked
    assert [("question", "question")] == [
        (r.data["intent"], r.data["reason"]) for r in shop.log("handoff")
    ]
    assert [RecoveryStatus.PAUSED] == [state.status for state in store.states()]


def test_a_failing_classifier_never_loses_a_reply(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A classifier that raises is logged and the built-in reading decides: the STOP
    still opts out."""
    shop = Shop(store)

    def broken(text: str, *, locale: str | None, channel: Channel) -> Reply | None:
        raise RuntimeError("model server down")

    shop.runner.classifier = broken
    shop.abandon_and_send_first_touch()
    assert shop.endpoint(TWILIO.parse, sms_from(PHONE, "please stop texting me")) == 200
    assert ["opted_out"] == [state.finish_reason for state in store.states()]
    assert "reply classifier failed" in caplog.text
