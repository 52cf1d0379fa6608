"""Engine rules that once held only in ``decide``, checked where users run them.

Each test drives the real ``Runner`` over a real ``SQLiteStore`` file, feeds it what
a webhook parser or the shop would, moves a fake clock, and looks at what reached
the fake channels and what the store kept (issue 18, items 4 and 9-13).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from recoverykit.engine.commands import FinishReason, MessageKind, SendMessage
from recoverykit.engine.events import CheckoutAbandoned, ConsentChanged, ReplyReceived
from recoverykit.engine.notes import Skipped
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.engine.state import RecoveryState, RecoveryStatus
from recoverykit.errors import ChannelError
from recoverykit.policies.caps import SendKind
from recoverykit.policies.consent import ConsentAction, ConsentEvent, Purpose
from recoverykit.policies.replies import classify_reply
from recoverykit.policies.sequence import DelayWindow, RecoverySequence, Touch
from recoverykit.protocols import OutboxStatus, Receipt
from recoverykit.runtime.runner import Runner
from recoverykit.stores import SQLiteStore
from recoverykit.testing.fakes import FakeChannel, FakeClock
from recoverykit.values.model import Channel, Checkout, Customer, LineItem, Stage
from recoverykit.values.money import Money
from recoverykit.values.zones import get_zone
from recoverykit.webhooks import InboundMessage

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 10:00 in London: inside contact hours
LONDON_PHONE = "+447400123451"


class TimedChannel(FakeChannel):
    """A ``FakeChannel`` that also notes the clock's time of every accepted send."""

    def __init__(self, channel: Channel, clock: FakeClock) -> None:
        super().__init__(channel, clock=clock)
        self.clock = clock
        self.times: list[datetime] = []

    def send(self, message: SendMessage) -> Receipt:
        receipt = super().send(message)
        self.times.append(self.clock.now())
        return receipt


class Shop:
    """A runner over an SQLite file, with a fake channel per channel and a fake clock."""

    def __init__(self, path: Path, policy: RecoveryPolicy, customer: Customer) -> None:
        self.store = SQLiteStore(path)
        self.clock = FakeClock(T0)
        self.channels = {channel: TimedChannel(channel, self.clock) for channel in Channel}
        self.policy = policy
        self.runner = Runner(policy, self.store, self.channels, self.clock)
        self.customer = customer
        with self.store.transaction() as tx:
            tx.save_customer(customer)

    def consent(
        self,
        channel: Channel,
        action: ConsentAction = ConsentAction.GRANTED,
        *,
        purpose: Purpose | None = Purpose.RECOVERY,
        at: datetime = T0 - timedelta(days=1),
        address: str | None = None,
    ) -> None:
        with self.store.transaction() as tx:
            tx.append_consent(
                ConsentEvent(
                    customer_id=self.customer.id,
                    channel=channel,
                    purpose=purpose,
                    action=action,
                    at=at,
                    source="checkout_checkbox" if action is ConsentAction.GRANTED else "api",
                    text="Send me a reminder about my checkout.",
                    address=address,
                )
            )

    def abandon(self, checkout_id: str = "co-1", at: datetime | None = None) -> None:
        at = self.clock.now() if at is None else at
        price = Money(Decimal("40.00"), "USD" if self.customer.country == "US" else "GBP")
        checkout = Checkout(
            id=checkout_id,
            customer=self.customer,
            items=(LineItem("SKU-1", "Teapot", 1, price),),
            total=price,
            stage=Stage.PAYMENT,
            abandoned_at=at,
            link=f"https://shop.example/r/{checkout_id}",
        )
        self.runner.handle(CheckoutAbandoned(checkout, at))

    def run_until(self, end: datetime) -> None:
        """Tick at every due moment up to ``end``, like a scheduler would."""
        while True:
            due = self.store.next_due()
            if due is None or due > end:
                break
            self.clock.set(max(due, self.clock.now()))
            self.runner.run_due()
        self.clock.set(max(end, self.clock.now()))

    def text_in(self, text: str, provider_id: str, channel: Channel = Channel.SMS) -> None:
        """The customer writes ``text`` from their number (as a parser would report it)."""
        address = self.customer.phone
        assert address is not None
        self.runner.receive(
            InboundMessage(channel, address, text, provider_id, at=self.clock.now())
        )

    def sent(self, channel: Channel | None = None) -> list[SendMessage]:
        chosen = [channel] if channel is not None else list(Channel)
        return [message for c in chosen for message in self.channels[c].sent]

    def sent_at(self) -> list[tuple[datetime, SendMessage]]:
        """Every accepted message with the instant it was handed over, in time order."""
        pairs = [
            pair
            for c in Channel
            for pair in zip(self.channels[c].times, self.channels[c].sent, strict=True)
        ]
        return sorted(pairs, key=lambda pair: pair[0])

    def touches(self) -> list[SendMessage]:
        return [m for m in self.sent() if m.touch is not None]

    def state(self, checkout_id: str) -> RecoveryState:
        with self.store.transaction() as tx:
            claimed = tx.load(checkout_id)
        assert claimed is not None
        return claimed.state

    def allows(self, channel: Channel, at: datetime) -> bool:
        with self.store.transaction() as tx:
            ledger = tx.ledger(self.customer.id)
        return ledger.allows(
            self.customer.id, channel, Purpose.RECOVERY, at, address=self.customer.phone
        )


@pytest.fixture
def london(tmp_path: Path) -> Iterator[Shop]:
    customer = Customer(
        id="cus-1",
        first_name="Sam",
        phone=LONDON_PHONE,
        locale="en",
        timezone="Europe/London",
        country="GB",
    )
    shop = Shop(tmp_path / "shop.db", RecoveryPolicy(store_name="Teapot Shop"), customer)
    yield shop
    shop.store.close()


# -- item 11: START after STOP -------------------------------------------------------------
def test_start_after_stop_regrants_though_the_stop_finished_the_recovery(london: Shop) -> None:
    """SEAMS 8: a START re-grants even when the STOP before it finished every recovery,
    and the next abandonment is messaged again."""
    london.consent(Channel.SMS)
    london.abandon()
    london.run_until(T0 + timedelta(hours=1))
    assert [1] == [m.touch for m in london.touches()]
    london.text_in("STOP", "in-1")
    assert not london.allows(Channel.SMS, london.clock.now())
    london.clock.advance(timedelta(hours=1))
    london.text_in("START", "in-2")
    assert london.allows(Channel.SMS, london.clock.now())
    with london.store.transaction() as tx:
        trail = tx.ledger("cus-1").audit("cus-1")
    assert [ConsentAction.GRANTED, ConsentAction.REVOKED, ConsentAction.GRANTED] == [
        event.action for event in trail
    ]
    assert ("keyword", "START", LONDON_PHONE) == (
        trail[-1].source,
        trail[-1].text,
        trail[-1].address,
    )
    london.clock.advance(timedelta(days=1))
    london.abandon("co-2")
    london.run_until(london.clock.now() + timedelta(hours=2))
    assert ["co-1", "co-2"] == [m.checkout_id for m in london.touches()]


def test_start_with_nothing_ever_open_is_recorded(london: Shop) -> None:
    """A START from a known number with no recovery to route to still reaches the ledger."""
    london.consent(Channel.SMS, ConsentAction.REVOKED, purpose=None, at=T0 - timedelta(days=90))
    assert not london.allows(Channel.SMS, T0)
    london.text_in("UNSTOP", "in-1")
    assert london.allows(Channel.SMS, T0)
    assert [] == london.sent()  # a START is not answered with a marketing message


def test_start_through_handle_with_nothing_open_is_recorded(london: Shop) -> None:
    """The same through ``Runner.handle`` (an application that classifies replies itself)."""
    london.consent(Channel.SMS, ConsentAction.REVOKED, purpose=None, at=T0 - timedelta(days=90))
    london.runner.handle(ReplyReceived("cus-1", Channel.SMS, classify_reply("START"), T0))
    assert london.allows(Channel.SMS, T0)


# -- item 4: an explicit "no reminders" beats a marketing grant ------------------------------
def test_recovery_revocation_stops_touches_though_a_marketing_grant_exists(london: Shop) -> None:
    """SEAMS 7: a marketing grant covers reminders only until the customer withdraws
    ``recovery`` by name; after that no touch goes, even under a newer marketing grant."""
    london.consent(Channel.SMS, purpose=Purpose.MARKETING, address=LONDON_PHONE)
    london.abandon()
    london.run_until(T0 + timedelta(hours=1))
    assert [1] == [m.touch for m in london.touches()]
    london.clock.advance(timedelta(hours=1))
    no_reminders = ConsentEvent(
        customer_id="cus-1",
        channel=Channel.SMS,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.REVOKED,
        at=london.clock.now(),
        source="account_settings",
        text="Turned off cart reminders",
        address=LONDON_PHONE,
    )
    london.runner.handle(ConsentChanged(no_reminders))
    london.run_until(T0 + timedelta(days=8))
    assert [1] == [m.touch for m in london.touches()]
    assert FinishReason.OPTED_OUT == london.state("co-1").finish_reason
    # A newsletter sign-up later does not bring the reminders back.
    london.consent(Channel.SMS, purpose=Purpose.MARKETING, at=london.clock.now())
    london.abandon("co-2")
    london.run_until(london.clock.now() + timedelta(days=8))
    assert ["co-1"] == [m.checkout_id for m in london.touches()]


# -- item 12: a US number keeps its area code's zones ----------------------------------------
def test_miami_number_with_a_london_zone_is_judged_in_miami_time_too(tmp_path: Path) -> None:
    """A +1 305 number whose store-supplied zone is Europe/London: the Florida and TCPA
    windows are checked on the Miami clock as well, so nothing goes before 09:00 there."""
    miami = Customer(
        id="cus-fl", first_name="Ana", phone="+13055550123", locale="en",
        timezone="Europe/London", country="US",
    )  # fmt: skip
    shop = Shop(tmp_path / "shop.db", RecoveryPolicy(store_name="Teapot Shop"), miami)
    try:
        shop.consent(Channel.SMS, ConsentAction.CONFIRMED, address=miami.phone)
        shop.abandon()  # 10:00 in London is 06:00 in Miami
        assert ("Europe/London", "America/New_York") == shop.state("co-1").zones
        shop.run_until(T0 + timedelta(days=3))
        sends = shop.sent_at()
        assert [1] == [message.touch for _, message in sends]  # CP-1: one US text
        local = sends[0][0].astimezone(get_zone("America/New_York"))
        assert 9 <= local.hour < 20
        assert local.date() == T0.date()
    finally:
        shop.store.close()


# -- item 13: a skipped touch leaves the next one's delay as planned ---------------------------
def test_skipped_touch_does_not_pull_the_next_touch_forward(london: Shop) -> None:
    """Touch 1 cannot be composed (no words for it) and is skipped; touch 2, planned for
    18-24 h after abandonment, still goes out then and not at touch 1's moment."""
    words_missing = RecoverySequence(
        "help-after-a-gap",
        (
            Touch(DelayWindow(timedelta(minutes=30), timedelta(hours=1)), "remind", "no-such-key"),
            Touch(DelayWindow(timedelta(hours=18), timedelta(hours=24)), "help", "help"),
        ),
    )
    london.runner.policy = RecoveryPolicy(store_name="Teapot Shop", sequence=words_missing)
    london.consent(Channel.SMS)
    london.abandon()
    london.run_until(T0 + timedelta(hours=17, minutes=59))
    assert [] == london.sent()
    notes = [n for n in london.state("co-1").notes if isinstance(n, Skipped)]
    assert [(1, "template")] == [(n.touch, n.reason) for n in notes]
    london.run_until(T0 + timedelta(days=3))
    [(at, message)] = london.sent_at()
    assert 2 == message.touch
    assert T0 + timedelta(hours=18) <= at <= T0 + timedelta(hours=24)


# -- item 9: one attempt counter ---------------------------------------------------------------
def test_retry_then_whatsapp_limit_gives_the_sms_fallback_a_fresh_key(tmp_path: Path) -> None:
    """A transient failure, its retry hit by WhatsApp 131049 (CP-7), then the touch moves to
    SMS: the SMS send has a key of its own, really goes out, and is what the state records."""
    who = Customer(id="cus-pl", first_name="Ola", phone="+48601234567", locale="pl")
    policy = RecoveryPolicy(store_name="Sklep Ola", channels=(Channel.WHATSAPP, Channel.SMS))
    shop = Shop(tmp_path / "shop.db", policy, who)
    try:
        shop.consent(Channel.WHATSAPP, address=who.phone)
        shop.consent(Channel.SMS, address=who.phone)
        whatsapp = shop.channels[Channel.WHATSAPP]
        whatsapp.fail_next(ChannelError("provider busy", permanent=False, code="timeout"))
        whatsapp.fail_next(ChannelError("per-user limit", permanent=False, code="131049"))
        shop.abandon()
        shop.run_until(T0 + timedelta(hours=3))
        tried = [(m.channel, m.idempotency_key) for m in whatsapp.attempts]
        assert [(Channel.WHATSAPP, "co-1:touch1:0"), (Channel.WHATSAPP, "co-1:touch1:1")] == tried
        assert ["co-1:touch1:2"] == shop.channels[Channel.SMS].keys()
        sent = shop.state("co-1").sent
        assert [
            (Channel.WHATSAPP, 0, True),
            (Channel.WHATSAPP, 1, True),
            (Channel.SMS, 2, False),
        ] == [(s.channel, s.attempt, s.failed) for s in sent]
        keys = [entry.key for entry in shop.store.outbox(status=OutboxStatus.SENT, limit=10)]
        assert ["co-1:touch1:2"] == keys
    finally:
        shop.store.close()


# -- reply routing (SEAMS 2) -------------------------------------------------------------------
def test_reply_goes_to_the_recovery_last_messaged_on_its_channel_not_the_newest(
    london: Shop,
) -> None:
    """A reply reaches the recovery last messaged on the channel it came in on. Here that
    is the older checkout: the newer one is open but its touch waits for the cap, so a
    "newest open recovery" rule would answer and pause the wrong one."""
    london.consent(Channel.SMS)
    london.abandon("co-1")
    london.run_until(T0 + timedelta(hours=1, minutes=30))
    assert ["co-1"] == [m.checkout_id for m in london.touches()]
    london.abandon("co-2")
    london.run_until(T0 + timedelta(hours=3))
    assert ["co-1"] == [m.checkout_id for m in london.touches()]  # co-2 waits for the cap
    assert RecoveryStatus.ACTIVE == london.state("co-2").status
    london.text_in("HELP", "in-1")
    replies = [m for m in london.sent() if m.touch is None]
    assert [("co-1", "help_reply")] == [(m.checkout_id, m.key) for m in replies]
    assert RecoveryStatus.PAUSED == london.state("co-1").status
    assert RecoveryStatus.ACTIVE == london.state("co-2").status


# -- item 10: the double opt-in request is sent like a touch -----------------------------------
def test_double_opt_in_request_to_idaho_waits_for_morning_and_counts(tmp_path: Path) -> None:
    """SEAMS 1 (revised): nobody asked for the double opt-in request, so it is no reply. An
    Idaho number abandoning at 03:00 local gets it when the contact hours of both its zones
    open, never at abandonment; it counts against the caps like a touch."""
    idaho = Customer(id="cus-id", first_name="Jo", phone="+12085550123", locale="en", country="US")
    policy = RecoveryPolicy(store_name="Teapot Shop", request_double_optin=True)
    shop = Shop(tmp_path / "shop.db", policy, idaho)
    try:
        shop.consent(Channel.SMS, address=idaho.phone)  # granted, not yet confirmed (CP-2)
        shop.abandon()  # 10:00 UTC: 04:00 in Boise, 03:00 in Los Angeles
        assert [] == shop.sent()
        shop.run_until(T0 + timedelta(days=1))
        [(at, request)] = shop.sent_at()
        assert ("double_optin", MessageKind.REQUEST) == (request.key, request.kind)
        for zone in ("America/Boise", "America/Los_Angeles"):
            assert 9 <= at.astimezone(get_zone(zone)).hour < 20
        assert T0 + timedelta(hours=6) == at  # 09:00 in Los Angeles, the later zone
        with shop.store.transaction() as tx:
            records = tx.history("cus-id", since=T0).records
        assert [(Channel.SMS, SendKind.TOUCH)] == [(r.channel, r.kind) for r in records]
        assert FinishReason.NO_CONSENT != shop.state("co-1").finish_reason
        # The customer answers YES; the touch that waited for it goes by text.
        shop.clock.set(at + timedelta(minutes=10))
        shop.text_in("YES", "in-1")
        shop.run_until(T0 + timedelta(days=3))
        assert [1] == [m.touch for m in shop.touches()]
    finally:
        shop.store.close()
