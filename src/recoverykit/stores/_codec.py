"""JSON shapes for what a store keeps besides recovery states: messages, outbox entries, log lines.

``RecoveryState`` serialises itself; ``SendMessage`` and the store records do not,
because the values layer should not know how a database spells them. Every
``*_from_dict`` collects all problems with their JSON paths and raises one
``DefinitionError``, so a corrupted row names exactly what is wrong with it.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from ..engine.commands import MessageKind, SendMessage
from ..engine.notes import Note
from ..engine.state import RecoveryState, RecoveryStatus
from ..messages.sms import SegmentInfo
from ..protocols import LogRecord, OutboxEntry, OutboxStatus
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    field,
    load_or_raise,
    to_datetime,
    to_int,
    to_str,
    unknown_keys,
)
from ..values.model import Channel, Customer
from ..values.time import require_aware

__all__ = [
    "address_key",
    "addresses_of",
    "due_of",
    "dumps",
    "finished_of",
    "from_micros",
    "log_record_from_dict",
    "log_record_to_dict",
    "message_from_dict",
    "message_to_dict",
    "micros",
    "outbox_entry_from_dict",
    "outbox_entry_to_dict",
    "segments_from_dict",
    "segments_to_dict",
    "started_of",
    "state_from_json",
    "state_to_json",
]

T = TypeVar("T")

_SEGMENT_KEYS: Final = frozenset(
    {"encoding", "segments", "units", "units_per_segment", "forced_ucs2", "text"}
)
_MESSAGE_KEYS: Final = frozenset(
    {
        "idempotency_key",
        "checkout_id",
        "customer_id",
        "channel",
        "to",
        "kind",
        "key",
        "text",
        "locale",
        "touch",
        "attempt",
        "segments",
        "whatsapp_payload",
        "subject",
    }
)
_OUTBOX_KEYS: Final = frozenset(
    {"key", "message", "created_at", "status", "provider_id", "detail", "attempted_at"}
)
_LOG_KEYS: Final = frozenset({"at", "kind", "checkout_id", "customer_id", "data"})
_ENCODINGS: Final = ("GSM-7", "UCS-2")


def _optional(convert: Callable[[Any], T]) -> Callable[[Any], T | None]:
    def inner(value: Any) -> T | None:
        return None if value is None else convert(value)

    return inner


def _to_encoding(value: Any) -> str:
    text = to_str(value)
    if text not in _ENCODINGS:
        msg = f"unknown SMS encoding {text!r} (expected 'GSM-7' or 'UCS-2')"
        raise ValueError(msg)
    return text


def _to_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        msg = f"expected an object, got {type(value).__name__} {value!r:.60}"
        raise TypeError(msg)
    return dict(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


#: One encoder for every row a bundled store writes: compact, non-ASCII kept as is
#: (building an encoder per call costs more than encoding a small message).
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(data: Any) -> str:
    """``data`` as the compact JSON text the bundled stores keep."""
    return _ENCODER.encode(data)


# -- recovery states as JSON text ---------------------------------------------------------------
#: Where a state's notes start in the text ``state_to_json`` writes: they come last.
_NOTES_AT: Final = ',"notes":'
#: Most notes lists remembered with their text (about two claimed batches' worth).
_NOTES_KEPT: Final = 1024
#: id(first note) -> (the notes tuple, its JSON text), oldest first. The tuple is held,
#: so the id cannot be reused for another object while the entry lives.
_notes_seen: OrderedDict[int, tuple[tuple[Note, ...], str]] = OrderedDict()
_notes_lock: Final = threading.Lock()


def _remember_notes(notes: tuple[Note, ...], text: str) -> None:
    if not notes:
        return
    key = id(notes[0])
    with _notes_lock:
        _notes_seen[key] = (notes, text)
        _notes_seen.move_to_end(key)
        if len(_notes_seen) > _NOTES_KEPT:
            _notes_seen.popitem(last=False)


def _notes_json(notes: tuple[Note, ...]) -> str:
    """The notes as a JSON array, reusing the text of notes read or written before.

    The engine only ever appends notes, and keeps the note objects it was given, so
    a state about to be saved usually starts with the very objects its stored form
    was read with: those are not encoded again. Notes are immutable values, so the
    same objects always stand for the same text.
    """
    if not notes:
        return "[]"
    known = _notes_seen.get(id(notes[0]))
    if known is not None:
        earlier, text = known
        count = len(earlier)
        if count <= len(notes) and all(a is b for a, b in zip(earlier, notes[:count], strict=True)):
            if count < len(notes):
                added = ",".join(dumps(note.to_dict()) for note in notes[count:])
                text = f"{text[:-1]},{added}]"
                _remember_notes(notes, text)
            return text
    text = dumps([note.to_dict() for note in notes])
    _remember_notes(notes, text)
    return text


def state_to_json(state: RecoveryState) -> str:
    """A recovery state as the compact JSON text the bundled stores keep.

    The same object as ``dumps(state.to_dict())``, with ``notes`` moved to the end so
    ``state_from_json`` can find their text, which is reused rather than encoded
    again while the notes only grow.
    """
    head = dumps(state.to_dict(notes=False))
    return f"{head[:-1]}{_NOTES_AT}{_notes_json(state.notes)}}}"


def state_from_json(text: str) -> RecoveryState:
    """Read a state that ``state_to_json`` (or plain ``dumps(state.to_dict())``) wrote.

    The notes are parsed apart and their text remembered for the next save. The cut
    checks itself: ``,"notes":`` cannot occur inside a JSON string, and a cut at a
    nested key would leave the head with an unclosed bracket, which does not parse.
    Text in any other layout is read whole.
    """
    cut = text.rfind(_NOTES_AT)
    if cut != -1 and text.endswith("]}"):
        notes_text = text[cut + len(_NOTES_AT) : -1]
        try:
            head, notes = json.loads(text[:cut] + "}"), json.loads(notes_text)
        except ValueError:
            head = None
        if isinstance(head, dict):
            state = RecoveryState.from_dict({**head, "notes": notes})
            _remember_notes(state.notes, notes_text)
            return state
    return RecoveryState.from_dict(json.loads(text))


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


# -- what a store indexes -------------------------------------------------------------------
def micros(moment: datetime) -> int:
    """An instant as whole microseconds since 1970 UTC: sortable, exact, zone-free."""
    return (require_aware(moment, "stored instant") - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The UTC instant ``micros`` encoded."""
    return _EPOCH + timedelta(microseconds=value)


def due_of(state: RecoveryState) -> datetime | None:
    """When the recovery is due: its ``wakeup_at`` while it is not finished, else never."""
    return None if state.status is RecoveryStatus.FINISHED else state.wakeup_at


def finished_of(state: RecoveryState) -> datetime | None:
    """When a finished recovery ended (``finished_at``, else its last event); ``None`` if open.

    Retention purges count from this instant; a finished state with neither time is kept.
    """
    if state.status is not RecoveryStatus.FINISHED:
        return None
    return state.finished_at or state.updated_at


def started_of(state: RecoveryState) -> datetime | None:
    """When the checkout was abandoned (``open_recoveries`` lists newest first by it)."""
    return None if state.checkout is None else state.checkout.abandoned_at


def addresses_of(customer: Customer) -> list[tuple[Channel, str]]:
    """The (channel, address) pairs under which ``customer_for`` finds the customer.

    The phone serves SMS and WhatsApp; e-mail is matched case-insensitively, so it is
    kept lower-cased here and by every lookup.
    """
    pairs: list[tuple[Channel, str]] = []
    if customer.phone is not None:
        pairs += [(Channel.SMS, customer.phone), (Channel.WHATSAPP, customer.phone)]
    if customer.email is not None:
        pairs.append((Channel.EMAIL, customer.email.lower()))
    if customer.telegram_chat_id is not None:
        pairs.append((Channel.TELEGRAM, customer.telegram_chat_id))
    if customer.viber_id is not None:
        pairs.append((Channel.VIBER, customer.viber_id))
    return pairs


def address_key(channel: Channel, address: str) -> str:
    """How an address is looked up: e-mail lower-cased, everything else as given."""
    return address.lower() if channel is Channel.EMAIL else address


# -- SMS segments --------------------------------------------------------------------------
def segments_to_dict(info: SegmentInfo) -> dict[str, Any]:
    """The segment count as a JSON object (the text it was counted on included)."""
    return {
        "encoding": info.encoding,
        "segments": info.segments,
        "units": info.units,
        "units_per_segment": info.units_per_segment,
        "forced_ucs2": list(info.forced_ucs2),
        "text": info.text,
    }


def _load_segments(data: Any, path: str, problems: Problems) -> SegmentInfo | None:
    root = expect_mapping(data, path, problems)
    if root is None:
        return None
    unknown_keys(root, _SEGMENT_KEYS, path, problems)
    before = len(problems.items)
    encoding = field(root, "encoding", path, problems, _to_encoding)
    segments = field(root, "segments", path, problems, to_int)
    units = field(root, "units", path, problems, to_int)
    per = field(root, "units_per_segment", path, problems, to_int)
    text = field(root, "text", path, problems, to_str)
    forced: list[str] = []
    for index, item in enumerate(
        expect_list(root.get("forced_ucs2", []), f"{path}.forced_ucs2", problems) or []
    ):
        if isinstance(item, str):
            forced.append(item)
        else:
            problems.add(f"{path}.forced_ucs2[{index}]", f"expected a string, got {item!r:.60}")
    if len(problems.items) > before:
        return None
    assert encoding is not None
    assert segments is not None
    assert units is not None
    assert per is not None
    assert text is not None
    return SegmentInfo(encoding, segments, units, per, tuple(forced), text)  # type: ignore[arg-type]


def segments_from_dict(data: Any) -> SegmentInfo:
    """Rebuild a ``SegmentInfo`` saved with ``segments_to_dict``."""
    return load_or_raise(_load_segments, data, "Invalid SMS segment count")


# -- messages ------------------------------------------------------------------------------
def message_to_dict(message: SendMessage) -> dict[str, Any]:
    """A JSON-safe object that ``message_from_dict`` turns back into an equal message."""
    return {
        "idempotency_key": message.idempotency_key,
        "checkout_id": message.checkout_id,
        "customer_id": message.customer_id,
        "channel": message.channel.value,
        "to": message.to,
        "kind": message.kind.value,
        "key": message.key,
        "text": message.text,
        "locale": message.locale,
        "touch": message.touch,
        "attempt": message.attempt,
        "segments": None if message.segments is None else segments_to_dict(message.segments),
        "whatsapp_payload": message.whatsapp_payload,
        "subject": message.subject,
    }


def _load_message(data: Any, path: str, problems: Problems) -> SendMessage | None:
    root = expect_mapping(data, path, problems)
    if root is None:
        return None
    unknown_keys(root, _MESSAGE_KEYS, path, problems)
    before = len(problems.items)
    values: dict[str, Any] = {
        name: field(root, name, path, problems, to_str)
        for name in ("idempotency_key", "checkout_id", "customer_id", "to", "key", "text")
    }
    values["locale"] = field(root, "locale", path, problems, to_str)
    values["channel"] = field(root, "channel", path, problems, Channel)
    values["kind"] = field(root, "kind", path, problems, MessageKind)
    values["touch"] = field(root, "touch", path, problems, to_int, default=None)
    values["attempt"] = field(root, "attempt", path, problems, to_int, default=0)
    values["subject"] = field(root, "subject", path, problems, to_str, default=None)
    values["whatsapp_payload"] = field(
        root, "whatsapp_payload", path, problems, _to_mapping, default=None
    )
    raw_segments = root.get("segments")
    values["segments"] = (
        None if raw_segments is None else _load_segments(raw_segments, f"{path}.segments", problems)
    )
    if len(problems.items) > before:
        return None
    return SendMessage(**values)


def message_from_dict(data: Any) -> SendMessage:
    """Rebuild a ``SendMessage`` saved with ``message_to_dict``."""
    return load_or_raise(_load_message, data, "Invalid stored message")


# -- outbox entries ----------------------------------------------------------------------
def outbox_entry_to_dict(entry: OutboxEntry) -> dict[str, Any]:
    """A JSON-safe object that ``outbox_entry_from_dict`` turns back into an equal entry."""
    return {
        "key": entry.key,
        "message": message_to_dict(entry.message),
        "created_at": entry.created_at.isoformat(),
        "status": entry.status.value,
        "provider_id": entry.provider_id,
        "detail": entry.detail,
        "attempted_at": _iso(entry.attempted_at),
    }


def outbox_entry_from_dict(data: Any) -> OutboxEntry:
    """Rebuild an ``OutboxEntry`` saved with ``outbox_entry_to_dict``."""
    problems = Problems()
    entry: OutboxEntry | None = None
    root = expect_mapping(data, "$", problems)
    if root is not None:
        unknown_keys(root, _OUTBOX_KEYS, "$", problems)
        key = field(root, "key", "$", problems, to_str)
        message = (
            _load_message(root["message"], "$.message", problems)
            if root.get("message") is not None
            else field(root, "message", "$", problems, _to_mapping)
        )
        created_at = field(root, "created_at", "$", problems, to_datetime)
        status = field(root, "status", "$", problems, OutboxStatus, default=OutboxStatus.PENDING)
        provider_id = field(root, "provider_id", "$", problems, to_str, default=None)
        detail = field(root, "detail", "$", problems, to_str, default=None)
        attempted_at = field(
            root, "attempted_at", "$", problems, _optional(to_datetime), default=None
        )
        if not problems:
            assert key is not None
            assert isinstance(message, SendMessage)
            assert created_at is not None
            assert status is not None
            entry = OutboxEntry(
                key=key,
                message=message,
                created_at=created_at,
                status=status,
                provider_id=provider_id,
                detail=detail,
                attempted_at=attempted_at,
            )
    problems.raise_if_any("Invalid outbox entry")
    assert entry is not None
    return entry


# -- log records ---------------------------------------------------------------------------
def log_record_to_dict(record: LogRecord) -> dict[str, Any]:
    """A JSON-safe object that ``log_record_from_dict`` turns back into an equal record."""
    return {
        "at": record.at.isoformat(),
        "kind": record.kind,
        "checkout_id": record.checkout_id,
        "customer_id": record.customer_id,
        "data": record.data,
    }


def log_record_from_dict(data: Any) -> LogRecord:
    """Rebuild a ``LogRecord`` saved with ``log_record_to_dict``."""
    problems = Problems()
    record: LogRecord | None = None
    root = expect_mapping(data, "$", problems)
    if root is not None:
        unknown_keys(root, _LOG_KEYS, "$", problems)
        at = field(root, "at", "$", problems, to_datetime)
        kind = field(root, "kind", "$", problems, to_str)
        checkout_id = field(root, "checkout_id", "$", problems, to_str, default=None)
        customer_id = field(root, "customer_id", "$", problems, to_str, default=None)
        payload = field(root, "data", "$", problems, _to_mapping, default={})
        if not problems:
            assert at is not None
            assert kind is not None
            record = LogRecord(
                at=at,
                kind=kind,
                checkout_id=checkout_id,
                customer_id=customer_id,
                data=payload or {},
            )
    problems.raise_if_any("Invalid log record")
    assert record is not None
    return record
