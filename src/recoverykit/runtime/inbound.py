"""Inbound facts → engine events: what a webhook parser returns, as the engine's events.

A provider's message, delivery report, chat start or unsubscribe request becomes
the engine event it stands for, with an id derived from the provider's own id, so
a webhook retried by the provider is a duplicate. ``InboundFacts`` is the part of
``Runner`` that does it; it hands every event to ``Runner.handle``.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from datetime import datetime, timedelta
from typing import Final

import attrs

from ..engine.commands import SendMessage
from ..engine.compose import Unsendable, compose_notice
from ..engine.events import (
    ConsentChanged,
    Event,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    ReplyReceived,
    event_id,
)
from ..engine.machine import Decision
from ..engine.policy import RecoveryPolicy
from ..policies.caps import ContactRecord, SendKind
from ..policies.consent import (
    ConsentAction,
    ConsentEvent,
    Purpose,
    grant_for,
    marketing_resume,
    marketing_stop,
    revocation_for,
)
from ..policies.replies import Intent, Reply, classify_reply
from ..policies.vocabulary import ReplyClassifier, Vocabulary
from ..protocols import (
    ChannelAdapter,
    Clock,
    LogRecord,
    OutboxEntry,
    OutboxStatus,
    Store,
    Transaction,
)
from ..values.model import Channel, Customer
from ..webhooks.types import (
    ChatStarted,
    DeliveryStatus,
    Inbound,
    InboundMessage,
    MarketingPreference,
    StatusUpdate,
    UnsubscribeRequest,
)
from .addresses import address_ledger_id, record_consent
from .apply import Pending
from .optouts import record_provider_opt_out
from .records import RecordKind, outbox_record, send_data
from .routing import STOPPING, answerable

__all__ = ["InboundFacts", "Reader"]

#: The runtime layer's logger (docs/reference/logging.md): no personal data at INFO+.
_log: Final = logging.getLogger("recoverykit.runtime")


class InboundFacts:
    """``Runner.receive``: webhook facts in, engine events out to ``handle``."""

    policy: RecoveryPolicy
    store: Store
    clock: Clock
    history_window: timedelta
    vocabulary: Vocabulary | None
    classifier: ReplyClassifier | None

    channels: dict[Channel, ChannelAdapter]

    @abstractmethod
    def handle(self, event: Event) -> list[Decision]:
        """Apply one engine event (``Runner.handle``)."""

    @abstractmethod
    def _handle(self, event: Event, *, answer: bool) -> list[Decision]:
        """``handle``; with ``answer=False`` no reply goes out."""

    @abstractmethod
    def _deliver(self, entries: list[OutboxEntry]) -> int:
        """Hand committed entries to their channels (``outbox.Delivery``)."""

    def receive(self, inbound: Inbound) -> list[Decision]:
        """Apply one fact a webhook parser returned (``recoverykit.webhooks``), then send.

        The fact becomes the engine's event, its id derived from the provider's own
        id, so a provider's retry is a duplicate that ``handle`` logs and ignores
        (DESIGN invariant 10):

        * ``InboundMessage`` → ``ReplyReceived`` for the customer using that address,
          classified in their language (a tapped button reads like its payload
          typed). A STOP with no recovery to answer it still revokes consent;
        * ``StatusUpdate`` → ``MessageDelivered``, ``MessageRead`` or ``MessageFailed``
          for the touch the outbox sent under that provider id; statuses of replies
          and ``sent`` reports are only logged (``info``); a revoking failure
          reaches the ledger whatever became of its recovery (a reply's too);
        * ``ChatStarted`` → the chat id saved on the customer, and a ``recovery``
          grant on that channel (source ``<channel>_start_link``);
        * ``UnsubscribeRequest`` → a revocation of that channel, its source kept
          as evidence;
        * ``MarketingPreference`` → a stop revokes marketing and recovery on that
          channel for that address (cart reminders are marketing templates there),
          a resume grants marketing again; the provider's value is the evidence.
          An address no customer uses is filed under the address's own ledger.

        An address, message or customer the store does not know changes nothing and
        is logged as ``ignored`` (``unknown``).
        """
        match inbound:
            case InboundMessage():
                return self._receive_message(inbound)
            case StatusUpdate():
                return self._receive_status(inbound)
            case ChatStarted():
                return self._receive_chat(inbound)
            case UnsubscribeRequest():
                return self._receive_unsubscribe(inbound)
            case MarketingPreference():
                return self._receive_preference(inbound)
            case _:
                msg = (
                    "receive() takes what a webhook parser returns "
                    f"(got {type(inbound).__name__}); pass engine events to handle()"
                )
                raise TypeError(msg)

    def _reader(self) -> Reader:
        return Reader(self.vocabulary, self.classifier)

    def _receive_message(self, message: InboundMessage) -> list[Decision]:
        try:
            return self._read_message(message)
        finally:
            if message.callback_id:
                self._answer_callback(message)

    def _answer_callback(self, message: InboundMessage) -> None:
        """Acknowledge a tapped button through its adapter, when the adapter can.

        A refusal is logged and changes nothing else: the tap was read already, and a
        spinner left on a button is cosmetic.
        """
        answer = getattr(self.channels.get(message.channel), "answer_callback", None)
        if not callable(answer):
            return
        try:
            answer(message.callback_id)
        except Exception as exc:  # an adapter's failure stays its own
            _log.warning(
                "could not answer a %s button tap: %s", message.channel.value,
                type(exc).__name__, extra={"channel": message.channel.value},
            )  # fmt: skip

    def _read_message(self, message: InboundMessage) -> list[Decision]:
        now = self.clock.now()
        confirm = not message.answered_by_provider
        notice: SendMessage | None = None
        with self.store.transaction() as tx:
            customer_id = tx.customer_for(message.channel, message.address)
            if customer_id is None:
                notice = self._unknown_address(tx, message, now)
                if notice is None or not confirm:
                    return []
        if customer_id is None:
            if notice is not None:
                self._send_notice(notice)
            return []
        with self.store.transaction() as tx:
            reply = classify_inbound(message, tx.customer(customer_id), self._reader())
            event: Event = ReplyReceived(
                customer_id,
                message.channel,
                reply,
                message.at,
                id=inbound_id("reply", message.channel, message.provider_id),
            )
            notice = None
            change = consent_change(reply, customer_id, message.channel, message.at,
                                    message.address)  # fmt: skip
            if change is not None and not answerable(
                tx, customer_id, now, history_window=self.history_window
            ):
                # No recovery can answer (SEAMS 2 routing finds none): the STOP or
                # START must not be lost with it, so it goes in as a consent change;
                # a STOP the runner confirms itself (FCC-4).
                event = ConsentChanged(change, id=event.id)
                if reply.intent in STOPPING and confirm:
                    notice = self._opt_out_notice(
                        tx, customer_id, message.channel, message.address, event.id
                    )
        decisions = self._handle(event, answer=confirm)
        if notice is not None:
            self._send_notice(notice)
        return decisions

    def _unknown_address(
        self, tx: Transaction, message: InboundMessage, now: datetime
    ) -> SendMessage | None:
        """A message from an address no customer uses: a STOP or START still counts.

        It is filed under the address's own ledger, so it binds any customer record
        that uses the address later; a STOP gets its one confirmation (FCC-4), which
        the caller sends. Anything else is logged as ``unknown``.
        """
        ledger_id = address_ledger_id(message.channel, message.address)
        reply = classify_inbound(message, None, self._reader())
        change = consent_change(reply, ledger_id, message.channel, message.at, message.address)
        if change is None:
            log_unknown(tx, now, message, "no customer uses this address")
            return None
        record_consent(tx, change)
        tx.log(LogRecord(now, RecordKind.INFO, None, None,
                         {"what": "consent", "detail": consent_detail(change)
                          + " (an address no customer uses)"}))  # fmt: skip
        if reply.intent not in STOPPING:
            return None
        ident = inbound_id("reply", message.channel, message.provider_id)
        return self._opt_out_notice(tx, ledger_id, message.channel, message.address, ident)

    def _consent_alone(
        self,
        tx: Transaction,
        event: ReplyReceived,
        now: datetime,
        pending: Pending,
        *,
        confirm: bool = True,
    ) -> bool:
        """A STOP or START no recovery can route to: record it; confirm a STOP once (FCC-4).

        The change binds the address the customer uses on that channel, so a STOP
        also covers other customer records sharing it. ``False`` for other replies.
        ``confirm=False`` records without confirming (the provider confirmed it).
        """
        customer = tx.customer(event.customer_id)
        address = None if customer is None else customer.address_for(event.channel)
        change = consent_change(event.reply, event.customer_id, event.channel, event.at, address)
        if change is None:
            return False
        record_consent(tx, change)
        tx.log(LogRecord(now, RecordKind.INFO, None, event.customer_id,
                         {"what": "consent", "detail": consent_detail(change)}))  # fmt: skip
        if address is None or event.reply.intent not in STOPPING or not confirm:
            return True
        notice = self._opt_out_notice(tx, event.customer_id, event.channel, address, event.id)
        if notice is None:
            return True
        entry = OutboxEntry(key=notice.idempotency_key, message=notice, created_at=now)
        if tx.add_outbox(entry):
            tx.add_contact(
                notice.customer_id, ContactRecord(now, notice.channel, "", SendKind.REPLY)
            )
            tx.log(LogRecord(now, RecordKind.CONFIRM, None, notice.customer_id,
                             send_data(notice, None)))  # fmt: skip
            pending.entries.append(entry)
        return True

    def _opt_out_notice(
        self, tx: Transaction, customer_id: str, channel: Channel, address: str, ident: str
    ) -> SendMessage | None:
        customer = tx.customer(customer_id) or Customer(id=customer_id)
        try:
            return compose_notice(
                key="optout_confirm",
                customer=customer,
                channel=channel,
                address=address,
                policy=self.policy,
                event_id=ident or event_id("optout", channel.value, address),
            )
        except Unsendable as exc:
            tx.log(
                LogRecord(
                    self.clock.now(), RecordKind.SKIP, None, customer_id,
                    {"touch": None, "reason": exc.reason, "detail": exc.detail},
                )
            )  # fmt: skip
            return None

    def _send_notice(self, notice: SendMessage) -> None:
        """Queue and send a reply that belongs to no recovery, at most once."""
        now = self.clock.now()
        entry = OutboxEntry(key=notice.idempotency_key, message=notice, created_at=now)
        with self.store.transaction() as tx:
            if not tx.add_outbox(entry):
                return  # a replayed webhook: confirmed already
            tx.add_contact(
                notice.customer_id, ContactRecord(now, notice.channel, "", SendKind.REPLY)
            )
            tx.log(LogRecord(now, RecordKind.CONFIRM, None, notice.customer_id,
                             send_data(notice, None)))  # fmt: skip
        self._deliver([entry])

    def _receive_status(self, update: StatusUpdate) -> list[Decision]:
        now = self.clock.now()
        reported = update.provider_id or f"{update.provider_message_id}:{update.status.value}"
        status_id = inbound_id("status", update.channel, reported)
        settled: OutboxStatus | None = None
        with self.store.transaction() as tx:
            entry = tx.sent_message(update.channel, update.provider_message_id)
            if entry is None and update.idempotency_key:
                entry, settled = _by_key(tx, update, now)
            if entry is None:
                log_unknown(tx, now, update, "no sent message has this provider id")
                return []
            message = entry.message
            event: Event | None = None
            if message.touch is not None and update.status is not DeliveryStatus.SENT:
                event = status_event(update, message, message.touch, status_id)
            else:
                log_status(tx, now, update, entry, status_id)
        if settled is not None:
            self.store.mark_outbox(
                entry.key, settled, at=now, provider_id=update.provider_message_id
            )
        decisions = [] if event is None else self.handle(event)
        if update.revoked and update.status is DeliveryStatus.FAILED:
            # The recipient's word stands even when no recovery took the failure.
            decisions += record_provider_opt_out(
                self.handle, self.store, message, code=update.code, at=update.at, ident=status_id
            )
        return decisions

    def _receive_chat(self, started: ChatStarted) -> list[Decision]:
        with self.store.transaction() as tx:
            known = tx.customer(started.customer_id)
            bound = (known or Customer(id=started.customer_id)).with_address(
                started.channel, started.address
            )
            if bound != known:
                tx.save_customer(bound)
        grant = ConsentEvent(
            customer_id=started.customer_id,
            channel=started.channel,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.GRANTED,
            at=started.at,
            source=f"{started.channel.value}_start_link",
            text="opened the chat through the store's signed start link and pressed Start",
            address=started.address,
        )
        chat_id = inbound_id("start", started.channel, started.provider_id)
        return self.handle(ConsentChanged(grant, id=chat_id))

    def _receive_unsubscribe(self, request: UnsubscribeRequest) -> list[Decision]:
        customer_id = request.customer_id
        if customer_id is None:
            with self.store.transaction() as tx:
                customer_id = tx.customer_for(request.channel, request.address)
                if customer_id is None:
                    log_unknown(tx, self.clock.now(), request, "no customer uses this address")
                    return []
        source = request.source or "webhook"
        revocation = ConsentEvent(
            customer_id=customer_id,
            channel=request.channel,
            purpose=None,
            action=ConsentAction.REVOKED,
            at=request.at,
            source=source,
            text=f"unsubscribe request received by webhook ({source})",
            address=request.address or None,
        )
        request_id = inbound_id("unsubscribe", request.channel, request.provider_id)
        return self.handle(ConsentChanged(revocation, id=request_id))

    def _receive_preference(self, preference: MarketingPreference) -> list[Decision]:
        """A stop or resume of marketing from the messenger's settings, into the ledger.

        The events name the address, so ``record_consent`` also files them under the
        address's own ledger: the last look before a send then applies a stop to every
        customer record sharing the number (SEAMS 5).
        """
        with self.store.transaction() as tx:
            customer_id = tx.customer_for(preference.channel, preference.address)
            if customer_id is None:
                ledger_id = address_ledger_id(preference.channel, preference.address)
                for change in preference_changes(preference, ledger_id):
                    record_consent(tx, change)
                tx.log(LogRecord(self.clock.now(), RecordKind.INFO, None, None,
                                 {"what": "consent", "detail": preference_detail(preference)
                                  + " (an address no customer uses)"}))  # fmt: skip
                return []
        decisions: list[Decision] = []
        for change in preference_changes(preference, customer_id):
            purpose = "all" if change.purpose is None else change.purpose.value
            ident = inbound_id("preference", preference.channel, preference.provider_id)
            decisions += self.handle(
                ConsentChanged(change, id=event_id(ident, purpose) if ident else "")
            )
        return decisions


# -- helpers ------------------------------------------------------------------------------------
def preference_changes(
    preference: MarketingPreference, customer_id: str
) -> tuple[ConsentEvent, ...]:
    """The ledger events a stop or resume of marketing stands for."""
    build = marketing_stop if preference.stopped else marketing_resume
    made = build(
        customer_id,
        preference.channel,
        preference.at,
        source=preference.source,
        text=preference.text or preference_detail(preference),
        address=preference.address,
    )
    return made if isinstance(made, tuple) else (made,)


def preference_detail(preference: MarketingPreference) -> str:
    """How the log names a stop or resume of marketing."""
    what = "stopped" if preference.stopped else "resumed"
    return f"marketing {what} on {preference.channel.value} in the messenger's settings"


#: Outbox states a delivery report may settle: handed over, outcome never recorded.
_UNSETTLED: Final = frozenset({OutboxStatus.UNCERTAIN, OutboxStatus.PENDING})


def _by_key(
    tx: Transaction, update: StatusUpdate, now: datetime
) -> tuple[OutboxEntry | None, OutboxStatus | None]:
    """The entry a report names by its idempotency key, and what the report settles it as.

    A send left ``uncertain`` (or still pending after its hand-over) has no provider
    id on record: a report that carries its key back proves the provider took it
    (``sent``), or says it failed (``failed``). Anything else is left as it is.
    """
    assert update.idempotency_key is not None
    entry = tx.outbox_entry(update.idempotency_key)
    if entry is None or entry.message.channel is not update.channel:
        return None, None
    if entry.status not in _UNSETTLED or (
        entry.status is OutboxStatus.PENDING and entry.attempted_at is None
    ):
        return entry, None
    settled = OutboxStatus.FAILED if update.status is DeliveryStatus.FAILED else OutboxStatus.SENT
    detail = f"settled by a {update.status.value} report that named its key"
    tx.log(outbox_record(now, entry, settled, detail))
    return entry, settled


def inbound_id(kind: str, channel: Channel, provider_id: str) -> str:
    """The event id for a provider's report: the same on every retry of the webhook.

    Without a provider id the event derives one from its own content.
    """
    return event_id("webhook", kind, channel.value, provider_id) if provider_id else ""


def log_unknown(tx: Transaction, now: datetime, inbound: Inbound, detail: str) -> None:
    """Log a webhook fact about an address, message or customer the store does not know."""
    tx.log(
        LogRecord(
            now, RecordKind.IGNORED, None, None,
            {"reason": "unknown", "event": type(inbound).__name__,
             "channel": inbound.channel.value, "detail": detail},
        )
    )  # fmt: skip


@attrs.frozen
class Reader:
    """How a runner reads replies: the store's vocabulary and its own classifier."""

    vocabulary: Vocabulary | None = None
    classifier: ReplyClassifier | None = None

    def read(self, text: str, *, locale: str | None, channel: Channel, region: str | None) -> Reply:
        """The reply ``text`` means; a classifier that raises is logged and skipped, so
        one bug in the store's code never loses a customer's STOP."""
        vocabulary = self.vocabulary
        classifier = self.classifier
        if classifier is not None:
            try:
                return classify_reply(text, locale=locale, channel=channel, region=region,
                                      vocabulary=vocabulary, classifier=classifier)  # fmt: skip
            except Exception:
                _log.exception("reply classifier failed; the built-in reading decides")
        return classify_reply(text, locale=locale, channel=channel, region=region,
                              vocabulary=vocabulary)  # fmt: skip


def classify_inbound(
    message: InboundMessage, customer: Customer | None, reader: Reader | None = None
) -> Reply:
    """The reply an inbound message means, read in the customer's language and region.

    A tapped button's payload ("1", "STOP_PROMOS") decides when it means anything;
    otherwise the text (the button's label, or what was typed) does.
    """
    reader = reader or Reader()
    locale = None if customer is None else customer.locale
    region = None
    if customer is not None:
        phone = customer.phone_number
        region = phone.region if phone is not None else customer.country
    if message.button:
        tapped = reader.read(message.button, locale=locale, channel=message.channel, region=region)
        if tapped.intent is not Intent.UNKNOWN or not message.text:
            return tapped
    return reader.read(message.text, locale=locale, channel=message.channel, region=region)


def status_event(update: StatusUpdate, message: SendMessage, touch: int, ident: str) -> Event:
    """The engine event a delivery report on a touch stands for."""
    if update.status is DeliveryStatus.DELIVERED:
        return MessageDelivered(
            message.checkout_id, touch, message.channel, update.at,
            message_id=update.provider_message_id, id=ident,
        )  # fmt: skip
    if update.status is DeliveryStatus.READ:
        return MessageRead(
            message.checkout_id, touch, message.channel, update.at,
            message_id=update.provider_message_id, id=ident,
        )  # fmt: skip
    return MessageFailed(
        message.checkout_id, touch, message.channel, update.at,
        permanent=update.permanent, code=update.code, revoked=update.revoked,
        attempt=message.attempt, id=ident,
    )  # fmt: skip


def log_status(
    tx: Transaction, now: datetime, update: StatusUpdate, entry: OutboxEntry, status_id: str
) -> None:
    """Log a report the engine has no use for (a reply's, or ``sent``), once."""
    message = entry.message
    if not tx.mark_seen(status_id):
        tx.log(
            LogRecord(
                now, RecordKind.IGNORED, message.checkout_id, message.customer_id,
                {"reason": "duplicate", "event": "StatusUpdate", "detail": "event id seen before"},
            )
        )  # fmt: skip
        return
    what = "reply" if message.touch is None else f"touch {message.touch}"
    detail = f"{what} on {message.channel.value}: {update.status.value}"
    tx.log(
        LogRecord(
            now, RecordKind.INFO, message.checkout_id, message.customer_id,
            {"what": "status", "detail": detail, "key": entry.key,
             "status": update.status.value, "code": update.code},
        )
    )  # fmt: skip


def consent_change(
    reply: Reply, customer_id: str, channel: Channel, at: datetime, address: str | None
) -> ConsentEvent | None:
    """The ledger event a STOP or a START stands for (``None`` for any other reply)."""
    return revocation_for(reply, customer_id, channel, at, address=address) or grant_for(
        reply, customer_id, channel, at, address=address
    )


def consent_detail(change: ConsentEvent) -> str:
    """How the log names a consent change no recovery took."""
    channel = "every channel" if change.channel is None else change.channel.value
    return f"{change.action.value} on {channel} with no recovery to route to"
