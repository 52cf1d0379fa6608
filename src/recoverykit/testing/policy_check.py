"""A ready-made property suite for a store's own recovery policy.

``check_policy(policy)`` plays many short stories through the real ``Runner`` and
a real store: customers with guessed zones (an Idaho number may be in Boise or
Los Angeles time), consent on some channels, abandoned checkouts, then orders,
emptied carts, replies in the policy's pack languages, consent changes, delivery
reports and clock jumps (a worker that was down). Every message is judged when it
is handed to the channel, against the library's invariants:

* a touch goes out inside the contact hours of every candidate zone (the policy's
  hours narrowed by the rules that apply), and never in quiet hours (by default
  outside 08:00-21:00, the widest window any rule allows);
* nothing without a current grant for that channel, nothing after an opt-out;
* each touch at most once, never more than the sequence has;
* nothing after an order (any checkout of the customer) or an emptied cart;
* every cap across all of a customer's checkouts;
* program rules (a US number gets one cart-reminder text per abandonment, within
  48 hours, after a confirmed double opt-in);
* truthful, calm content: no unfilled placeholder, the store named and an opt-out
  line in every SMS, no guard error.

A failure raises ``PolicyViolation`` with the smallest story Hypothesis found, as
lines a person reads::

    story (times in each customer's first candidate zone):
      Mon 02 Mar 10:00  cus-1 abandons chk-1 (USD 84.00) ...
      touch 1 sent 10:42 America/Boise by sms (chk-1)
      touch 2 sent 21:04 America/Boise: quiet hours

Use it in a test (not inside another ``@given``), or subclass ``PolicySuite``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from ..engine.commands import MessageKind, SendMessage
from ..engine.events import (
    CartEmptied,
    CheckoutAbandoned,
    ConsentChanged,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    ReplyReceived,
)
from ..engine.policy import RecoveryPolicy
from ..jurisdictions import rules_for
from ..messages.lint import GuardPolicy, guard
from ..messages.templates import Rendered
from ..policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from ..policies.hours import ContactHours
from ..policies.keywords import KEYWORDS, Intent
from ..policies.replies import classify_reply
from ..policies.resolve import resolve_zones
from ..protocols import Receipt, Store
from ..runtime.runner import Runner
from ..stores.memory import MemoryStore
from ..values.model import Channel, Checkout, Customer
from .fakes import FakeClock
from .strategies import multi_zone_phone_numbers, phone_numbers

__all__ = ["PolicySuite", "PolicyViolation", "check_policy"]

#: The widest window any rule recoverykit knows allows (US federal, 08-21): a touch
#: outside it in some candidate zone is a message at night there, whatever the policy says.
QUIET_FLOOR: Final = ContactHours.preset("us-federal")
#: Where stories start: ordinary weeks and the days around the 2026 DST changes.
_STARTS: Final = (
    datetime(2026, 3, 6, 14, 0, tzinfo=UTC),  # the US springs forward on 8 March
    datetime(2026, 3, 27, 9, 0, tzinfo=UTC),  # Europe on 29 March
    datetime(2026, 6, 15, 18, 0, tzinfo=UTC),
    datetime(2026, 10, 23, 20, 0, tzinfo=UTC),  # Europe falls back on 25 October
    datetime(2026, 10, 30, 3, 0, tzinfo=UTC),  # the US on 1 November
)
_STORY_DAYS: Final = 9
_PLACEHOLDER: Final = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*\}")
_ADDRESSES: Final = {
    Channel.SMS: "phone",
    Channel.WHATSAPP: "phone",
    Channel.TELEGRAM: "telegram_chat_id",
    Channel.VIBER: "viber_id",
    Channel.EMAIL: "email",
}


class PolicyViolation(AssertionError):
    """The policy broke an invariant in a story; ``lines`` tell the story, the last the rule."""

    #: The story, one line per event or message, ending with what went wrong.
    lines: tuple[str, ...]

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


# -- stories ---------------------------------------------------------------------------------
@attrs.frozen
class _Person:
    customer: Customer
    #: Channels the customer granted recovery consent on before the story starts.
    granted: tuple[Channel, ...]
    #: Whether the grants were confirmed by double opt-in (needed for US texts).
    confirmed: bool


@attrs.frozen
class _Step:
    """Something that happens ``minutes`` after the story starts."""

    minutes: int
    kind: str
    who: int = 0
    cart: int = 0
    channel: Channel = Channel.SMS
    text: str = ""
    flag: bool = False


@attrs.frozen
class _Story:
    start: datetime
    people: tuple[_Person, ...]
    #: (minutes after start, person index, cart number) per abandonment.
    carts: tuple[tuple[int, int, int], ...]
    steps: tuple[_Step, ...]


def _languages(policy: RecoveryPolicy) -> tuple[str, ...]:
    return tuple(sorted({template.locale.split("_")[0] for template in policy.pack.templates()}))


def _reply_texts(languages: tuple[str, ...]) -> tuple[str, ...]:
    words = {e.phrase for e in KEYWORDS if e.locale in {"*", *languages} and e.kind != "lead"}
    return tuple(sorted(words | {"1", "2", "hi, is shipping free?", "ok"}))


@st.composite
def _people(draw: st.DrawFn, index: int, languages: tuple[str, ...]) -> _Person:
    phone = draw(st.none() | multi_zone_phone_numbers() | phone_numbers(mobile_only=True))
    customer = Customer(
        id=f"cus-{index + 1}",
        first_name=draw(st.none() | st.sampled_from(["Anna", "Sam", "Ольга", "Chloé"])),
        phone=None if phone is None else phone.e164,
        email=draw(st.none() | st.just(f"buyer{index + 1}@example.com")),
        locale=draw(st.sampled_from(languages)),
        timezone=draw(st.none() | st.sampled_from(["Europe/Warsaw", "America/Chicago"])),
        telegram_chat_id=draw(st.none() | st.just(f"{7_000_000 + index}")),
        viber_id=draw(st.none() | st.just(f"vb{index}AbCdEfGhIjKlMnOpQr==")),
    )
    reachable = [c for c in Channel if getattr(customer, _ADDRESSES[c]) is not None]
    granted = draw(st.sets(st.sampled_from(reachable))) if reachable else set()
    return _Person(customer, tuple(sorted(granted)), draw(st.booleans()))


_KINDS: Final = (
    "reply",
    "order",
    "empty",
    "grant",
    "revoke",
    "delivered",
    "read",
    "failed",
    "click",
    "jump",
)


@st.composite
def _stories(draw: st.DrawFn, policy: RecoveryPolicy) -> _Story:
    languages = _languages(policy) or ("en",)
    count = draw(st.integers(1, 2))
    people = tuple(draw(_people(index, languages)) for index in range(count))
    carts = tuple(
        (draw(st.integers(0, 60 * 36)), draw(st.integers(0, count - 1)), number)
        for number in range(1, draw(st.integers(1, 3)) + 1)
    )
    texts = _reply_texts(languages)
    step = st.builds(
        _Step,
        minutes=st.integers(0, 60 * 24 * (_STORY_DAYS - 1)),
        kind=st.sampled_from(_KINDS),
        who=st.integers(0, count - 1),
        cart=st.integers(1, len(carts)),
        channel=st.sampled_from(Channel),
        text=st.sampled_from(texts),
        flag=st.booleans(),
    )
    steps = draw(st.lists(step, max_size=8))
    return _Story(
        start=draw(st.sampled_from(_STARTS)),
        people=people,
        carts=carts,
        steps=tuple(sorted(steps, key=lambda s: s.minutes)),
    )


# -- playing a story -------------------------------------------------------------------------
@attrs.frozen
class _Handed:
    """A message handed to a channel, and when."""

    at: datetime
    message: SendMessage


class _Recorder:
    """A channel adapter that accepts everything and notes the moment it was handed over."""

    def __init__(self, channel: Channel, clock: FakeClock, sent: list[_Handed]) -> None:
        self.channel = channel
        self._clock = clock
        self._sent = sent

    def send(self, message: SendMessage) -> Receipt:
        self._sent.append(_Handed(self._clock.now(), message))
        return Receipt(provider_id=f"rec-{len(self._sent)}", accepted_at=self._clock.now())


@attrs.frozen
class _Fact:
    """What the story did, for the judge: at, what, about whom and which checkout."""

    at: datetime
    kind: str
    customer_id: str
    checkout_id: str | None = None
    channel: Channel | None = None
    intent: Intent | None = None
    #: How many messages had been handed over when it happened: later ones come after it.
    after: int = 0
    #: The consent event it recorded, if any.
    consent: ConsentEvent | None = None
    #: The message a failure report was about.
    failed: SendMessage | None = None


class _Player:
    def __init__(
        self, policy: RecoveryPolicy, story: _Story, store: Store, lines: list[str]
    ) -> None:
        self.policy = policy
        self.story = story
        self.store = store
        self.clock = FakeClock(story.start)
        self.sent: list[_Handed] = []
        adapters = {c: _Recorder(c, self.clock, self.sent) for c in Channel}
        self.runner = Runner(policy, store, adapters, self.clock)
        self.lines = lines
        self.facts: list[_Fact] = []
        self.checkouts: dict[str, Checkout] = {}
        self.customers = {person.customer.id: person.customer for person in story.people}
        self.grants: list[ConsentEvent] = []
        self._noted = 0

    # -- narration ----------------------------------------------------------------------------
    def zone_of(self, customer: Customer) -> str:
        zones = resolve_zones(customer).zones
        return zones[0] if zones else "UTC"

    def when(self, at: datetime, customer: Customer) -> str:
        return at.astimezone(ZoneInfo(self.zone_of(customer))).strftime("%a %d %b %H:%M")

    def note_sends(self) -> None:
        for handed in self.sent[self._noted :]:
            message = handed.message
            customer = self.customers[message.customer_id]
            zone = self.zone_of(customer)
            local = handed.at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
            what = f"touch {message.touch}" if message.touch is not None else message.key
            self.lines.append(
                f"  {what} sent {local} {zone} by {message.channel} ({message.checkout_id})"
            )
        self._noted = len(self.sent)

    # -- time ---------------------------------------------------------------------------------
    def run_until(self, until: datetime, *, prompt: bool = True) -> None:
        """Tick at every due time up to ``until``; a jump skips the ticks and wakes late."""
        if not prompt and until > self.clock.now():
            self.clock.set(until)
        for _ in range(1_000):
            due = self.store.next_due()
            if due is None or due > until:
                break
            self.clock.set(max(due, self.clock.now()))
            self.runner.run_due()
            self.note_sends()
        if until > self.clock.now():
            self.clock.set(until)

    def fact(self, fact: _Fact) -> None:
        self.facts.append(attrs.evolve(fact, after=len(self.sent)))

    def handle(self, event: Event) -> None:
        self.runner.handle(event)
        self.note_sends()

    # -- the story ----------------------------------------------------------------------------
    def play(self) -> None:
        story = self.story
        with self.store.transaction() as tx:
            for person in story.people:
                action = ConsentAction.CONFIRMED if person.confirmed else ConsentAction.GRANTED
                for channel in person.granted:
                    grant = ConsentEvent(
                        customer_id=person.customer.id,
                        channel=channel,
                        purpose=Purpose.RECOVERY,
                        action=action,
                        at=story.start - timedelta(days=1),
                        source="checkout_checkbox",
                        text="Cart reminders by message; reply STOP to stop.",
                        version="1",
                    )
                    self.grants.append(grant)
                    tx.append_consent(grant)
        for person in story.people:
            customer = person.customer
            zones = ", ".join(resolve_zones(customer).zones) or "none known"
            consent = ", ".join(str(c) for c in person.granted) or "none"
            confirmed = " (confirmed)" if person.confirmed and person.granted else ""
            self.lines.append(
                f"  {customer.id}: phone {customer.phone}, zones {zones}; "
                f"consent {consent}{confirmed}; locale {customer.locale}"
            )
        timeline: list[tuple[int, int, _Step | tuple[int, int]]] = [
            (m, 0, (who, n)) for m, who, n in story.carts
        ]
        timeline.extend((step.minutes, 1, step) for step in story.steps)
        for minutes, _, item in sorted(timeline, key=lambda entry: (entry[0], entry[1])):
            at = story.start + timedelta(minutes=minutes)
            jump = isinstance(item, _Step) and item.kind == "jump"
            self.run_until(at, prompt=not jump)
            if isinstance(item, _Step):
                self.step(item, at)
            else:
                who, number = item
                self.abandon(story.people[who].customer, number, at)
        self.run_until(story.start + timedelta(days=_STORY_DAYS + 8))

    def abandon(self, customer: Customer, number: int, at: datetime) -> None:
        checkout = _checkout(customer, number, at)
        self.checkouts[checkout.id] = checkout
        self.lines.append(
            f"  {self.when(at, customer)}  {customer.id} abandons {checkout.id} "
            f"({checkout.total.amount} {checkout.total.currency})"
        )
        self.fact(_Fact(at, "abandon", customer.id, checkout.id))
        self.handle(CheckoutAbandoned(checkout, at))

    def step(self, step: _Step, at: datetime) -> None:
        person = self.story.people[step.who]
        customer = person.customer
        checkout_id = f"chk-{step.cart}"
        known = checkout_id in self.checkouts
        stamp = self.when(at, customer)
        if step.kind == "jump":
            self.lines.append(f"  {stamp}  the clock jumps here (no tick ran since the last step)")
        elif step.kind == "reply":
            reply = classify_reply(step.text, channel=step.channel, locale=customer.locale)
            self.lines.append(
                f"  {stamp}  {customer.id} replies by {step.channel}: {step.text!r} "
                f"({reply.intent})"
            )
            self.fact(_Fact(at, "reply", customer.id, channel=step.channel, intent=reply.intent))
            self.handle(ReplyReceived(customer.id, step.channel, reply, at))
        elif step.kind == "order":
            self.lines.append(f"  {stamp}  {customer.id} places an order")
            self.fact(_Fact(at, "order", customer.id))
            self.handle(OrderPlaced(f"order-{step.minutes}", at, customer_id=customer.id))
        elif step.kind == "empty" and known:
            owner = self.checkouts[checkout_id].customer.id
            self.lines.append(f"  {stamp}  {checkout_id} is emptied")
            self.fact(_Fact(at, "empty", owner, checkout_id))
            self.handle(CartEmptied(checkout_id, at))
        elif step.kind in {"grant", "revoke"}:
            action = ConsentAction.GRANTED if step.kind == "grant" else ConsentAction.REVOKED
            event = ConsentEvent(
                customer_id=customer.id,
                channel=step.channel,
                purpose=Purpose.RECOVERY if step.flag else Purpose.MARKETING,
                action=action,
                at=at,
                source="api",
                text="Cart reminders by message.",
                version="1",
            )
            self.lines.append(
                f"  {stamp}  {customer.id} consent {action} on {step.channel} ({event.purpose})"
            )
            self.fact(_Fact(at, "consent", customer.id, channel=step.channel, consent=event))
            with self.store.transaction() as tx:
                tx.append_consent(event)
            self.handle(ConsentChanged(event))
        elif step.kind in {"delivered", "read", "failed", "click"}:
            self.report(step, at)

    def report(self, step: _Step, at: datetime) -> None:
        touches = [h for h in self.sent if h.message.touch is not None and h.at <= at]
        if not touches:
            return
        last = touches[-1].message
        assert last.touch is not None
        customer = self.checkouts[last.checkout_id].customer
        stamp = self.when(at, customer)
        event: Event
        if step.kind == "delivered":
            event = MessageDelivered(last.checkout_id, last.touch, last.channel, at)
        elif step.kind == "read":
            event = MessageRead(last.checkout_id, last.touch, last.channel, at)
        elif step.kind == "click":
            event = LinkClicked(last.checkout_id, at, touch=last.touch)
        else:
            event = MessageFailed(
                last.checkout_id,
                last.touch,
                last.channel,
                at,
                permanent=step.flag,
                attempt=last.attempt,
            )
            self.fact(_Fact(at, "failed", customer.id, last.checkout_id, failed=last))
        what = step.kind + (" (permanent)" if step.kind == "failed" and step.flag else "")
        self.lines.append(f"  {stamp}  touch {last.touch} of {last.checkout_id}: {what}")
        self.handle(event)


def _checkout(customer: Customer, number: int, at: datetime) -> Checkout:
    from decimal import Decimal  # noqa: PLC0415

    from ..values.model import LineItem, Stage  # noqa: PLC0415
    from ..values.money import Money  # noqa: PLC0415

    price = Money(Decimal(19 + 40 * number), "USD")
    return Checkout(
        id=f"chk-{number}",
        customer=customer,
        items=(LineItem(f"SKU-{number}", "Linen shirt", 1, price, category="clothing"),),
        total=price,
        stage=Stage.PAYMENT,
        abandoned_at=at,
        link=f"https://shop.example/r/{number}",
    )


# -- judging ---------------------------------------------------------------------------------
class _Judge:
    """Checks every message handed over against the invariants, at the moment it was sent."""

    def __init__(self, policy: RecoveryPolicy, player: _Player, quiet: ContactHours | None) -> None:
        self.policy = policy
        self.player = player
        self.quiet = quiet
        self.guard_policy = GuardPolicy()

    def first_violation(self) -> str | None:
        seen_keys: set[str] = set()
        seen_touches: set[tuple[str, int, int]] = set()
        for index, handed in enumerate(self.player.sent):
            message = handed.message
            found = self.once(message, seen_keys, seen_touches)
            checkout = self.player.checkouts.get(message.checkout_id)
            if checkout is None:
                # A reply with no recovery to belong to (a late STOP's confirmation).
                if found is not None:
                    return f"{message.key} sent: {found.partition('|')[2]}"
                continue
            if found is None and self.counts_as_touch(message):
                found = (
                    self.hours(handed, checkout)
                    or self.stopped(index, checkout)
                    or self.consent(index, handed, checkout)
                    or self.caps(index, handed, checkout)
                    or self.program(index, handed, checkout)
                )
            if found is None and message.kind is MessageKind.TOUCH:
                found = self.content(message, checkout)
            if found is not None:
                return self.line(handed, checkout, found)
        return None

    @staticmethod
    def counts_as_touch(message: SendMessage) -> bool:
        # The double opt-in request is sent like a touch (SEAMS 1): hours and caps apply.
        return message.kind is MessageKind.TOUCH or message.key == "double_optin"

    def line(self, handed: _Handed, checkout: Checkout, why: str) -> str:
        zone, _, rest = why.partition("|")
        where = zone or self.player.zone_of(checkout.customer)
        local = handed.at.astimezone(ZoneInfo(where)).strftime("%H:%M")
        message = handed.message
        what = f"touch {message.touch}" if message.touch is not None else message.key
        return f"{what} sent {local} {where}: {rest}"

    # -- the invariants -------------------------------------------------------------------------
    def once(
        self, message: SendMessage, keys: set[str], touches: set[tuple[str, int, int]]
    ) -> str | None:
        if message.idempotency_key in keys:
            return f"|sent twice (idempotency key {message.idempotency_key!r})"
        keys.add(message.idempotency_key)
        if message.kind is MessageKind.TOUCH and message.touch is not None:
            mark = (message.checkout_id, message.touch, message.attempt)
            if mark in touches:
                return f"|touch {message.touch} of {message.checkout_id} sent a second time"
            touches.add(mark)
            longest = max(
                len(plan.touches)
                for plan in [self.policy.sequence, *(v.sequence for v in self.policy.variants)]
                if plan is not None
            )
            if message.touch > longest:
                return f"|the sequence has only {longest} touches"
        return None

    def hours(self, handed: _Handed, checkout: Checkout) -> str | None:
        customer = checkout.customer
        zones = resolve_zones(customer).zones
        if not zones:
            return None
        if self.quiet is not None:
            for zone in zones:
                if not self.quiet.allows(handed.at, (zone,)):
                    return f"{zone}|quiet hours (only 08:00-21:00 local time is allowed)"
        hours = self.policy.contact_hours
        if self.policy.jurisdiction == "auto":
            hours = rules_for(customer.phone_number, zones, customer.country, base=hours).hours
        for zone in zones:
            if not hours.allows(handed.at, (zone,)):
                return f"{zone}|outside the contact hours that apply there"
        return None

    def before(self, index: int, customer_id: str) -> list[_Fact]:
        """What happened to the customer before message ``index`` was handed over."""
        return [f for f in self.player.facts if f.after <= index and f.customer_id == customer_id]

    def stopped(self, index: int, checkout: Checkout) -> str | None:
        for fact in self.before(index, checkout.customer.id):
            if fact.kind == "order" and checkout.abandoned_at <= fact.at:
                return "|sent after the customer placed an order"
            if fact.kind == "empty" and fact.checkout_id == checkout.id:
                return "|sent after the cart was emptied"
        return None

    def consent(self, index: int, handed: _Handed, checkout: Checkout) -> str | None:
        message = handed.message
        customer_id = checkout.customer.id
        facts = self.before(index, customer_id)
        ledger = ConsentLedger(
            (*self.player.grants, *(f.consent for f in facts if f.consent is not None))
        )
        at = handed.at
        purposes = [Purpose.RECOVERY]
        if self.policy.marketing_consent_ok:
            purposes.append(Purpose.MARKETING)
        if not any(ledger.allows(customer_id, message.channel, p, at) for p in purposes):
            return f"|no current consent on {message.channel}"
        stops = [
            f
            for f in facts
            if f.kind == "reply"
            and (
                (f.intent is Intent.OPT_OUT and f.channel is message.channel)
                or f.intent is Intent.OPT_OUT_ALL
            )
        ]
        if stops:
            last = facts.index(stops[-1])
            regranted = any(
                (f.kind == "reply" and f.intent is Intent.OPT_IN and f.channel is message.channel)
                or (
                    f.consent is not None
                    and f.consent.action is not ConsentAction.REVOKED
                    and f.channel is message.channel
                )
                for f in facts[last + 1 :]
            )
            if not regranted:
                return f"|sent after the customer opted out by {stops[-1].channel}"
        return None

    def delivered(self, index: int, customer_id: str) -> list[_Handed]:
        """Touches handed over up to ``index`` that no failure report took back."""
        failed = {f.failed.idempotency_key for f in self.before(index, customer_id) if f.failed}
        return [
            h
            for h in self.player.sent[: index + 1]
            if self.counts_as_touch(h.message)
            and h.message.idempotency_key not in failed
            and self.player.checkouts[h.message.checkout_id].customer.id == customer_id
        ]

    def caps(self, index: int, handed: _Handed, checkout: Checkout) -> str | None:
        earlier = self.delivered(index, checkout.customer.id)
        for cap in self.policy.contact_caps:
            if not cap.covers(handed.message.channel):
                continue
            inside = [
                h
                for h in earlier
                if h is not handed
                and cap.counts(h.message.channel)
                and handed.at - cap.per < h.at <= handed.at
            ]
            if len(inside) + 1 > cap.limit:
                return (
                    f"|{cap.rule_id} {cap.limit} per {cap.per} exceeded ({len(inside) + 1} touches)"
                )
        return None

    def program(self, index: int, handed: _Handed, checkout: Checkout) -> str | None:
        message = handed.message
        customer = checkout.customer
        phone = customer.phone_number
        if message.channel is not Channel.SMS or phone is None:
            return None
        us = phone.region == "US" or (self.policy.programs_treat_as_us and phone.country_code == 1)
        if not us or message.kind is not MessageKind.TOUCH:
            return None
        disabled = self.policy.disabled_rules
        if "CP-1" not in disabled:
            if handed.at > checkout.abandoned_at + timedelta(hours=48):
                return "|a US cart-reminder text more than 48 h after abandonment (CP-1)"
            texts = [
                h
                for h in self.delivered(index - 1, customer.id)
                if h.message.channel is Channel.SMS
                and h.message.kind is MessageKind.TOUCH
                and h.message.checkout_id == checkout.id
            ]
            if texts:
                return "|a second US cart-reminder text for one abandonment (CP-1)"
        if "CP-2" not in disabled:
            with self.player.store.transaction() as tx:
                ledger = tx.ledger(customer.id)
            if not ledger.allows(
                customer.id, Channel.SMS, Purpose.RECOVERY, handed.at, require_confirmed=True
            ):
                return "|a US cart-reminder text without a confirmed double opt-in (CP-2)"
        return None

    def content(self, message: SendMessage, checkout: Checkout) -> str | None:
        left = _PLACEHOLDER.search(message.text)
        if left is not None:
            return f"|the text still holds the placeholder {left.group()}"
        rendered = Rendered(
            text=message.text,
            channel=message.channel,
            locale=message.locale,
            key=message.key,
            segments=message.segments,
            details=(),
        )
        errors = [
            v
            for v in guard(
                rendered,
                self.guard_policy,
                store_name=self.policy.store_name,
                hold_until_known=checkout.hold_until is not None,
            )
            if v.level == "error"
        ]
        if errors:
            return f"|{errors[0].code}: {errors[0].message}"
        return None


# -- the public API ----------------------------------------------------------------------------
StoreFactory = Callable[[], Store]


def _play(
    policy: RecoveryPolicy, story: _Story, make_store: StoreFactory, quiet: ContactHours | None
) -> None:
    head = f"story from {story.start:%Y-%m-%d %H:%M} UTC (times in the customer's first zone):"
    lines = [head]
    store = make_store()
    try:
        player = _Player(policy, story, store, lines)
        player.play()
        found = _Judge(policy, player, quiet).first_violation()
    finally:
        store.close()
    if found is not None:
        raise PolicyViolation([*lines, found])


def check_policy(
    policy: RecoveryPolicy,
    *,
    max_examples: int = 50,
    store: StoreFactory | None = None,
    quiet_hours: ContactHours | None = QUIET_FLOOR,
    seed: int | None = None,
) -> None:
    """Play up to ``max_examples`` stories through ``Runner`` and a store; raise on a broken rule.

    ``store`` makes a fresh, empty store per story (default: ``MemoryStore``; pass
    ``lambda: SQLiteStore(":memory:")`` or your own to test it too).
    ``quiet_hours`` is the floor no touch may cross in any candidate zone, whatever
    the policy allows (``None``: only the policy's hours and the rules that apply).
    ``seed`` makes the run repeatable (and leaves Hypothesis' example database out
    of it). Raises ``PolicyViolation`` with the smallest
    failing story Hypothesis found. Do not call it inside another ``@given`` test.
    """
    make_store: StoreFactory = store if store is not None else MemoryStore

    # A seeded run is repeatable only without the example database, which replays
    # whatever earlier runs saved.
    database: dict[str, Any] = {"database": None} if seed is not None else {}

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        **database,
    )
    @given(story=_stories(policy))
    def run(story: _Story) -> None:
        _play(policy, story, make_store, quiet_hours)

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    try:
        run()
    except PolicyViolation as exc:
        raise PolicyViolation(exc.lines) from None


class PolicySuite:
    """Subclass it in your tests, name your policy, and pytest runs the whole suite::

    class TestOurPolicy(PolicySuite):
        policy = RecoveryPolicy(store_name="Kettle & Co", ...)
    """

    #: The policy under test.
    policy: ClassVar[RecoveryPolicy]
    #: Stories per run; raise it in a nightly job.
    max_examples: ClassVar[int] = 50
    #: The floor no touch may cross in any candidate zone (``None``: the policy's own hours).
    quiet_hours: ClassVar[ContactHours | None] = QUIET_FLOOR

    def make_store(self) -> Store:
        """A fresh, empty store per story; override to test yours."""
        return MemoryStore()

    def test_policy_keeps_every_invariant(self) -> None:
        """Contact hours, consent, at most once, stops, caps, program rules and content hold
        in every story, at the moment each message is handed to its channel."""
        check_policy(
            self.policy,
            max_examples=self.max_examples,
            store=self.make_store,
            quiet_hours=self.quiet_hours,
        )
