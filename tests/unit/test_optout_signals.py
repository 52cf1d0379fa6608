"""Every opt-out signal reaches the ledger (issue 23, item 3; CP-6, SEAMS 5 and 7).

WhatsApp lets a person stop marketing messages from a business in its own settings.
Meta then reports it in the ``user_preferences`` webhook, and a marketing template
sent anyway fails with error 131050. Cart reminders are MARKETING templates, so a
stop withdraws marketing *and* recovery on WhatsApp for that number; a resume grants
marketing again. Payloads follow Meta's published ``user_preferences`` webhook
reference (field ``user_preferences``, category ``marketing_messages``, value
``stop``/``resume``) and are signed here the way Meta signs them. Everything runs
through the real Runner on the SQLite and the memory store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from recoverykit import presets
from recoverykit.channels.errors import whatsapp_error
from recoverykit.engine.commands import MessageKind
from recoverykit.engine.compose import consented
from recoverykit.engine.events import CheckoutAbandoned, ReplyReceived
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.policies.consent import (
    ConsentAction,
    ConsentEvent,
    ConsentLedger,
    Purpose,
    marketing_resume,
    marketing_stop,
    provider_revocations,
)
from recoverykit.policies.replies import classify_reply
from recoverykit.protocols import OutboxStatus, Store
from recoverykit.runtime.addresses import address_ledger_id, address_revocations
from recoverykit.runtime.runner import Runner
from recoverykit.stores import MemoryStore, SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money
from recoverykit.webhooks import (
    DeliveryStatus,
    MalformedWebhook,
    MarketingPreference,
    MetaWebhooks,
    StatusUpdate,
    WebhookRequest,
)

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 10:00 in London: inside contact hours
SECRET = "meta-app-secret-0123"
META = MetaWebhooks(app_secret=SECRET, verify_token="verify-me")
PHONE = "+447400123451"
POLICY = RecoveryPolicy(store_name="Signal Shop", sequence=presets.get("whatsapp-three-touch"))


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    made: Store = SQLiteStore(":memory:") if request.param == "sqlite" else MemoryStore()
    yield made
    made.close()


# -- Meta's payload --------------------------------------------------------------------------
def preferences(*items: dict[str, Any], field: str = "user_preferences") -> dict[str, Any]:
    """A ``user_preferences`` webhook in the shape of Meta's published reference."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [
                                {"profile": {"name": "Sheena Nelson"}, "wa_id": PHONE[1:]}
                            ],
                            "user_preferences": list(items),
                        },
                        "field": field,
                    }
                ],
            }
        ],
    }


def preference(value: str, at: datetime, *, category: str = "marketing_messages") -> dict[str, Any]:
    words = "stop" if value == "stop" else "resume"
    return {
        "wa_id": PHONE[1:],
        "detail": f"User requested to {words} marketing messages",
        "category": category,
        "value": value,
        "timestamp": int(at.timestamp()),
    }


def signed(payload: dict[str, Any]) -> WebhookRequest:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(
        "POST", "https://shop.example/wa", {"X-Hub-Signature-256": signature}, body
    )


def test_user_preferences_stop_and_resume_are_read() -> None:
    """Meta's ``user_preferences`` change becomes a ``MarketingPreference`` per item: who,
    stop or resume, when, and Meta's own words as the evidence."""
    stop_at, resume_at = T0 - timedelta(hours=2), T0 - timedelta(minutes=1)
    found = META.parse(
        signed(preferences(preference("stop", stop_at), preference("resume", resume_at))), now=T0
    )
    assert all(isinstance(f, MarketingPreference) for f in found)
    read = [
        (f.channel, f.address, f.stopped, f.at) for f in found if isinstance(f, MarketingPreference)
    ]
    assert read == [
        (Channel.WHATSAPP, PHONE, True, stop_at),
        (Channel.WHATSAPP, PHONE, False, resume_at),
    ]
    first = found[0]
    assert isinstance(first, MarketingPreference)
    assert first.source == "whatsapp_user_preferences"
    assert "marketing_messages=stop" in first.text
    assert "User requested to stop marketing messages" in first.text
    assert first.provider_id != found[1].provider_id


def test_other_categories_values_and_fields_change_nothing() -> None:
    """Only marketing stops and resumes are consent; an unknown value or category, or the
    same items under another field, give no fact."""
    assert META.parse(signed(preferences(preference("stop", T0, category="other"))), now=T0) == []
    assert META.parse(signed(preferences(preference("pause", T0))), now=T0) == []
    assert (
        META.parse(signed(preferences(preference("stop", T0), field="account_update")), now=T0)
        == []
    )


def test_a_preference_without_a_number_is_malformed() -> None:
    """A verified item whose ``wa_id`` is not a number is refused, naming its path."""
    item = preference("stop", T0) | {"wa_id": "not-a-number"}
    with pytest.raises(MalformedWebhook, match=r"user_preferences\[0\]\.wa_id"):
        META.parse(signed(preferences(item)), now=T0)


# -- the ledger rules ------------------------------------------------------------------------
def ada(customer_id: str = "cus-1") -> Customer:
    return Customer(
        id=customer_id, first_name="Ada", phone=PHONE, locale="en",
        timezone="Europe/London", country="GB",
    )  # fmt: skip


def marketing_grant(who: Customer, at: datetime = T0 - timedelta(days=30)) -> ConsentEvent:
    return ConsentEvent(
        customer_id=who.id,
        channel=Channel.WHATSAPP,
        purpose=Purpose.MARKETING,
        action=ConsentAction.GRANTED,
        at=at,
        source="checkout_checkbox",
        text="Send me offers and reminders on WhatsApp.",
        address=who.phone,
    )


def test_a_stop_withdraws_recovery_and_a_later_resume_restores_it() -> None:
    """SEAMS 7 refined: after a stop of marketing, a marketing grant given before it does
    not cover cart reminders; a resume (a newer marketing grant) covers them again."""
    who = ada()
    ledger = ConsentLedger([marketing_grant(who)])
    assert consented(ledger, who, Channel.WHATSAPP, T0, POLICY)
    stopped = ledger.extend(
        marketing_stop(who.id, Channel.WHATSAPP, T0, source="s", text="stop", address=PHONE)
    )
    assert not consented(stopped, who, Channel.WHATSAPP, T0 + timedelta(hours=1), POLICY)
    later = T0 + timedelta(days=1)
    resumed = stopped.append(
        marketing_resume(who.id, Channel.WHATSAPP, later, source="s", text="resume", address=PHONE)
    )
    assert consented(resumed, who, Channel.WHATSAPP, later + timedelta(hours=1), POLICY)
    assert not consented(
        resumed, who, Channel.WHATSAPP, later, attrs.evolve(POLICY, marketing_consent_ok=False)
    )


def test_131050_revokes_marketing_and_recovery_other_codes_every_purpose() -> None:
    """The one constructor for a provider's opt-out: 131050 names marketing and recovery
    (source ``whatsapp_131050``); 21610 is a STOP of every purpose."""
    stop = provider_revocations("cus-1", Channel.WHATSAPP, T0, code="131050", address=PHONE)
    assert [(e.purpose, e.action, e.source) for e in stop] == [
        (Purpose.MARKETING, ConsentAction.REVOKED, "whatsapp_131050"),
        (Purpose.RECOVERY, ConsentAction.REVOKED, "whatsapp_131050"),
    ]
    (sms,) = provider_revocations("cus-1", Channel.SMS, T0, code="21610", address=PHONE)
    assert (sms.purpose, sms.source) == (None, "provider")
    meaning = whatsapp_error("131050")
    assert (meaning.permanent, meaning.revoked, meaning.scope.value) == (True, True, "recipient")


def test_an_address_keeps_each_purpose_it_withdrew() -> None:
    """The address ledger re-files every standing revocation, one per purpose: after a stop
    of marketing and a resume, the named "no" to recovery still binds other records."""
    ledger_id = address_ledger_id(Channel.WHATSAPP, PHONE)
    stop = marketing_stop(ledger_id, Channel.WHATSAPP, T0, source="s", text="stop", address=PHONE)
    refiled = address_revocations(ConsentLedger(stop), "cus-2", Channel.WHATSAPP)
    assert {(e.customer_id, e.purpose) for e in refiled} == {
        ("cus-2", Purpose.MARKETING),
        ("cus-2", Purpose.RECOVERY),
    }
    resumed = ConsentLedger(stop).append(
        marketing_resume(ledger_id, Channel.WHATSAPP, T0 + timedelta(hours=1), source="s",
                         text="resume", address=PHONE)
    )  # fmt: skip
    after = address_revocations(resumed, "cus-2", Channel.WHATSAPP)
    assert [e.purpose for e in after] == [Purpose.RECOVERY]
    assert address_revocations(ConsentLedger(), "cus-2", Channel.WHATSAPP) == []


# -- through the Runner ----------------------------------------------------------------------
class Shop:
    """A runner with a fake WhatsApp channel and Meta's webhook endpoint."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FakeClock(T0)
        self.whatsapp = FakeChannel(Channel.WHATSAPP, clock=self.clock)
        self.runner = Runner(POLICY, store, {Channel.WHATSAPP: self.whatsapp}, self.clock)

    def customer(self, who: Customer) -> None:
        with self.store.transaction() as tx:
            tx.save_customer(who)
            tx.append_consent(marketing_grant(who))

    def abandon(self, who: Customer, number: int) -> None:
        price = Money(Decimal("40.00"), "GBP")
        checkout = Checkout(
            id=f"co-{number}",
            customer=who,
            items=(LineItem("SKU-1", "Teapot", 1, price),),
            total=price,
            stage=Stage.PAYMENT,
            abandoned_at=self.clock.now(),
            link=f"https://shop.example/r/{number}",
        )
        self.runner.handle(CheckoutAbandoned(checkout, self.clock.now()))

    def tick(self, hours: float) -> None:
        until = self.clock.now() + timedelta(hours=hours)
        while (due := self.store.next_due()) is not None and due <= until:
            self.clock.set(max(due, self.clock.now()))
            self.runner.run_due()
        self.clock.set(until)

    def touches(self) -> list[tuple[str, int | None]]:
        return [(m.checkout_id, m.touch) for m in self.whatsapp.sent if m.kind is MessageKind.TOUCH]

    def ledger(self, customer_id: str = "cus-1") -> tuple[ConsentEvent, ...]:
        with self.store.transaction() as tx:
            return tx.ledger(customer_id).events

    def status(self, customer_id: str = "co-1") -> str:
        (state,) = [s for s in self.store.states() if s.checkout_id == customer_id]
        return state.status.value


def test_a_stop_in_whatsapp_settings_ends_marketing_templates(store: Store) -> None:
    """The ``user_preferences`` stop is recorded for marketing and recovery on WhatsApp with
    Meta's words as evidence; the open recovery ends, a new abandonment sends nothing, and
    another customer record sharing the number is covered too (SEAMS 5)."""
    shop = Shop(store)
    who, twin = ada(), ada("cus-2")
    shop.customer(who)
    shop.customer(twin)
    shop.abandon(who, 1)
    shop.tick(2)
    assert shop.touches() == [("co-1", 1)]
    assert shop.whatsapp.sent[0].whatsapp_payload is not None  # a marketing template

    request = signed(preferences(preference("stop", shop.clock.now())))
    for fact in META.parse(request, now=shop.clock.now()):
        shop.runner.receive(fact)
    revoked = [e for e in shop.ledger() if e.action is ConsentAction.REVOKED]
    assert [(e.channel, e.purpose, e.source, e.address) for e in revoked] == [
        (Channel.WHATSAPP, Purpose.MARKETING, "whatsapp_user_preferences", PHONE),
        (Channel.WHATSAPP, Purpose.RECOVERY, "whatsapp_user_preferences", PHONE),
    ]
    assert all("marketing_messages=stop" in (e.text or "") for e in revoked)
    assert shop.status("co-1") == "finished"

    # A replay of the webhook writes nothing twice.
    for fact in META.parse(request, now=shop.clock.now()):
        shop.runner.receive(fact)
    assert len([e for e in shop.ledger() if e.action is ConsentAction.REVOKED]) == 2

    shop.abandon(who, 2)
    shop.abandon(twin, 3)
    shop.tick(72)
    assert shop.touches() == [("co-1", 1)]
    assert not any(m.kind is MessageKind.TOUCH for m in shop.whatsapp.attempts[1:])


def test_a_resume_lets_cart_reminders_go_again(store: Store) -> None:
    """After a stop, Meta's ``resume`` grants marketing again: the next abandonment's
    reminder goes out as a template."""
    shop = Shop(store)
    who = ada()
    shop.customer(who)
    for value in ("stop", "resume"):
        shop.clock.advance(timedelta(minutes=10))
        for fact in META.parse(
            signed(preferences(preference(value, shop.clock.now()))), now=shop.clock.now()
        ):
            shop.runner.receive(fact)
    (resume,) = [e for e in shop.ledger() if e.source == "whatsapp_user_preferences"
                 and e.action is ConsentAction.GRANTED]  # fmt: skip
    assert resume.purpose is Purpose.MARKETING
    shop.abandon(who, 1)
    shop.tick(2)
    assert shop.touches() == [("co-1", 1)]


def test_a_stop_from_a_number_no_customer_uses_is_kept_for_that_number(store: Store) -> None:
    """A stop arriving before the number is known is filed under the address's own ledger,
    so the customer who later uses it gets no marketing template."""
    shop = Shop(store)
    for fact in META.parse(signed(preferences(preference("stop", T0))), now=T0):
        shop.runner.receive(fact)
    with store.transaction() as tx:
        held = tx.ledger(address_ledger_id(Channel.WHATSAPP, PHONE)).events
    assert {e.purpose for e in held} == {Purpose.MARKETING, Purpose.RECOVERY}
    shop.clock.advance(timedelta(minutes=5))
    shop.customer(ada())
    shop.abandon(ada(), 1)
    shop.tick(72)
    assert shop.touches() == []


def test_131050_on_a_send_revokes_and_no_template_follows(store: Store) -> None:
    """A send refused with 131050 records the stop (source ``whatsapp_131050``) for
    marketing and recovery, ends the recovery opted out, and the next abandonment sends
    nothing on WhatsApp."""
    shop = Shop(store)
    who = ada()
    shop.customer(who)
    shop.whatsapp.fail_next(whatsapp_error("131050").error("WhatsApp"))
    shop.abandon(who, 1)
    shop.tick(2)
    assert shop.touches() == []
    revoked = [e for e in shop.ledger() if e.action is ConsentAction.REVOKED]
    assert [(e.purpose, e.source) for e in revoked] == [
        (Purpose.MARKETING, "whatsapp_131050"),
        (Purpose.RECOVERY, "whatsapp_131050"),
    ]
    assert shop.status("co-1") == "finished"
    shop.abandon(who, 2)
    shop.tick(72)
    assert len(shop.whatsapp.attempts) == 1


def failed_status(message_id: str, code: str, at: datetime) -> StatusUpdate:
    meaning = whatsapp_error(code)
    return StatusUpdate(
        channel=Channel.WHATSAPP,
        provider_message_id=message_id,
        status=DeliveryStatus.FAILED,
        at=at,
        code=meaning.code,
        permanent=meaning.permanent,
        revoked=meaning.revoked,
        provider_id=f"{message_id}:failed",
    )


@pytest.mark.parametrize("ending", ["ordered", "paused"])
def test_a_revoking_failure_reaches_the_ledger_after_its_recovery_stopped(
    store: Store, ending: str
) -> None:
    """A 131050 reported for a touch of a recovery that has since ended (an order) or is
    paused (a person took over) still writes the stop to the ledger, once."""
    shop = Shop(store)
    who = ada()
    shop.customer(who)
    shop.abandon(who, 1)
    shop.tick(2)
    (touch,) = shop.whatsapp.sent
    if ending == "ordered":
        from recoverykit.engine.events import OrderPlaced

        shop.runner.handle(OrderPlaced("co-1", shop.clock.now(), customer_id=who.id))
        assert shop.status("co-1") == "finished"
    else:
        question = classify_reply("what sizes do you have?", channel=Channel.WHATSAPP)
        shop.runner.handle(ReplyReceived(who.id, Channel.WHATSAPP, question, shop.clock.now()))
        assert shop.status("co-1") == "paused"
    shop.clock.advance(timedelta(minutes=5))
    update = failed_status(f"fake-{touch.idempotency_key}", "131050", shop.clock.now())
    shop.runner.receive(update)
    shop.runner.receive(update)  # the provider retries its webhook
    revoked = [e for e in shop.ledger() if e.action is ConsentAction.REVOKED]
    assert [(e.purpose, e.source, e.address) for e in revoked] == [
        (Purpose.MARKETING, "whatsapp_131050", PHONE),
        (Purpose.RECOVERY, "whatsapp_131050", PHONE),
    ]
    if ending == "paused":
        assert shop.status("co-1") == "finished"  # its only channel was withdrawn


def test_a_revoking_failure_of_a_reply_at_send_time_reaches_the_ledger(store: Store) -> None:
    """A reply refused while sending with a revoking code (no touch, no recovery to tell)
    still records the opt-out."""
    shop = Shop(store)
    who = ada()
    shop.customer(who)
    shop.abandon(who, 1)
    shop.tick(2)
    shop.whatsapp.fail_next(whatsapp_error("131050").error("WhatsApp"))
    help_ = classify_reply("HELP", channel=Channel.WHATSAPP)
    shop.runner.handle(ReplyReceived(who.id, Channel.WHATSAPP, help_, shop.clock.now()))
    (refused,) = [m for m in shop.whatsapp.attempts if m.kind is MessageKind.REPLY]
    assert store.outbox(status=OutboxStatus.FAILED)[0].key == refused.idempotency_key
    sources = [e.source for e in shop.ledger() if e.action is ConsentAction.REVOKED]
    assert sources == ["whatsapp_131050", "whatsapp_131050"]


# -- 131047: outside the window, the same touch as its template ----------------------------
def open_window(shop: Shop, who: Customer, wrote_at: datetime) -> None:
    with shop.store.transaction() as tx:
        tx.open_service_window(who.id, Channel.WHATSAPP, wrote_at + timedelta(hours=24))


def refused_outside_window(store: Store, *, times: int, hours: float) -> tuple[Shop, Customer]:
    """A customer whose stored window looks open abandons; WhatsApp answers the next
    ``times`` sends with 131047; the runner ticks for ``hours``."""
    shop = Shop(store)
    who = ada()
    shop.customer(who)
    open_window(shop, who, T0 - timedelta(hours=1))
    shop.whatsapp.fail_next(whatsapp_error("131047").error("WhatsApp"), times=times)
    shop.abandon(who, 1)
    shop.tick(hours)
    return shop, who


def test_131047_sends_the_same_touch_again_as_its_template(store: Store) -> None:
    """Free text refused as outside the 24 h window (131047) is not a dead channel: the
    same touch goes again at once as its approved template, under a new attempt key."""
    shop, _ = refused_outside_window(store, times=1, hours=2)
    first, again = shop.whatsapp.attempts
    assert (first.touch, first.whatsapp_payload) == (1, None)  # free text: the window looked open
    assert again.touch == 1
    assert again.whatsapp_payload is not None
    assert again.idempotency_key != first.idempotency_key
    assert shop.touches() == [("co-1", 1)]
    (state,) = store.states()
    assert (state.status.value, state.failed_channels) == ("active", frozenset())


def test_131047_on_the_template_itself_is_taken_as_permanent(store: Store) -> None:
    """When the template sent for the closed window fails with 131047 too, the code stands:
    WhatsApp failed for this recovery, with no third try."""
    shop, _ = refused_outside_window(store, times=2, hours=72)
    assert len(shop.whatsapp.attempts) == 2
    (state,) = store.states()
    assert state.failed_channels == frozenset({Channel.WHATSAPP})


def test_a_message_after_131047_reopens_the_window_for_free_text(store: Store) -> None:
    """The closed window lasts until the customer writes again: a newer message opens a new
    window, and the next touch may go as free text."""
    shop, who = refused_outside_window(store, times=1, hours=2)
    assert shop.whatsapp.attempts[-1].whatsapp_payload is not None
    (state,) = store.states()
    assert state.window_closed_at is not None
    open_window(shop, who, shop.clock.now())
    shop.tick(72)
    later = [m for m in shop.whatsapp.sent if m.touch is not None and m.touch > 1]
    assert later
    assert later[0].whatsapp_payload is None
