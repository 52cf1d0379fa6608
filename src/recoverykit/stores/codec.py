"""JSON shapes for what a store keeps besides recovery states: messages, outbox entries, log lines.

``RecoveryState`` serialises itself; ``SendMessage`` and the store records do not,
because the values layer should not know how a database spells them. Their shapes
are derived from ``attrs.fields`` by ``RecordCodec``: every field of the class is
written under its own name and read back, so a field added to ``SendMessage`` (or
any record here) is stored from the moment it exists, and cannot be forgotten the
way ``discount_code`` once was. Every ``*_from_dict`` collects all problems with
their JSON paths and raises one ``DefinitionError``, so a corrupted row names
exactly what is wrong with it.

The module is public so a store of your own (Redis, DynamoDB, ...) keeps rows in
the same JSON as the bundled ones and can move data between them.
"""

from __future__ import annotations

import enum
import json
import threading
import types
import typing
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, Literal, TypeVar, get_args, get_origin

import attrs

from ..engine.commands import SendMessage
from ..engine.notes import Note
from ..engine.state import RecoveryState, RecoveryStatus
from ..errors import RecoveryKitError
from ..messages.sms import SegmentInfo
from ..policies.consent import ConsentEvent
from ..protocols import LogRecord, OutboxEntry
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    load_or_raise,
    to_datetime,
    to_enum,
    to_int,
    to_str,
    unknown_keys,
)
from ..values.text import replace_surrogates
from ..values.time import require_aware
from .trusted import STAMP, STAMP_KEY, state_from_stored

__all__ = [
    "LOG_RECORDS",
    "MESSAGES",
    "OUTBOX_ENTRIES",
    "SEGMENTS",
    "RecordCodec",
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

#: What a field loader returns after it recorded a problem (``None`` is a real value).
_FAILED: Final = object()

#: Turns a field's value into JSON-safe data; ``None`` means "as it is".
Dumper = Callable[[Any], Any] | None
#: Reads a field's JSON at a path; returns ``_FAILED`` after recording a problem.
Loader = Callable[[Any, str, Problems], Any]


def _plain(convert: Callable[[Any], Any]) -> Loader:
    """A loader from a converter that raises on bad input."""

    def load(value: Any, here: str, problems: Problems) -> Any:
        try:
            return convert(value)
        except (RecoveryKitError, ValueError, TypeError, ArithmeticError) as exc:
            problems.add(here, str(exc))
            return _FAILED

    return load


def _to_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        msg = f"expected an object, got {type(value).__name__} {value!r:.60}"
        raise TypeError(msg)
    return dict(value)


def _to_choice(choices: tuple[Any, ...]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value not in choices:
            allowed = " or ".join(repr(choice) for choice in choices)
            msg = f"unknown value {value!r:.60} (expected {allowed})"
            raise ValueError(msg)
        return value

    return convert


def _load_strings(value: Any, here: str, problems: Problems) -> Any:
    items = expect_list(value, here, problems)
    if items is None:
        return _FAILED
    loaded: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            loaded.append(item)
        else:
            problems.add(f"{here}[{index}]", f"expected a string, got {item!r:.60}")
    return tuple(loaded) if len(loaded) == len(items) else _FAILED


def _optional_dumper(dump: Dumper) -> Dumper:
    if dump is None:
        return None
    inner = dump
    return lambda value: None if value is None else inner(value)


def _field_codec(hint: Any, where: str, names: Mapping[str, Any]) -> tuple[Dumper, Loader]:
    """How one field of type ``hint`` is written and read."""
    origin = get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(args) == 1:
            # ``X | None``: ``None`` is handled by the record (missing or null).
            dump, load = _field_codec(args[0], where, names)
            return _optional_dumper(dump), load
    elif origin is Literal:
        return None, _plain(_to_choice(get_args(hint)))
    elif origin is tuple and get_args(hint) == (str, Ellipsis):
        return list, _load_strings
    elif origin is dict:
        return None, _plain(_to_mapping)
    elif hint is str:
        return None, _plain(to_str)
    elif hint is int:
        return None, _plain(to_int)
    elif hint is datetime:
        return (lambda moment: moment.isoformat()), _plain(to_datetime)
    elif isinstance(hint, type) and issubclass(hint, enum.StrEnum):
        return (lambda member: member.value), _plain(to_enum(hint))
    elif isinstance(hint, type) and attrs.has(hint):
        nested: RecordCodec[Any] = RecordCodec(hint, f"Invalid {hint.__name__}", types=names)
        return nested.to_dict, nested.load
    msg = f"RecordCodec cannot store {where} of type {hint!r}; teach _field_codec that type"
    raise TypeError(msg)


def _admits_none(hint: Any) -> bool:
    return get_origin(hint) in (typing.Union, types.UnionType) and type(None) in get_args(hint)


@attrs.frozen
class _Field:
    name: str
    #: The keyword ``__init__`` takes (attrs drops a leading underscore).
    alias: str
    dump: Dumper
    load: Loader
    #: ``attrs.NOTHING`` when the field must be present.
    default: Any
    nullable: bool


class RecordCodec(Generic[T]):
    """The JSON shape of the attrs class ``cls``, derived from ``attrs.fields(cls)``.

    Each field is stored under its own name. Its type says how: strings and whole
    numbers as they are, string enums by value, instants as ISO 8601, tuples of
    strings as lists, ``dict`` fields as JSON objects, nested attrs classes as nested
    objects, ``X | None`` as the value or ``null``. A type the codec cannot store
    fails when the codec is built (at import), never when a row is written. Reading
    rejects unknown keys, takes each field's default when a key is missing, and
    reports every problem with its path.

    ``types`` names classes the module of ``cls`` imports only for type checking.
    """

    def __init__(self, cls: type[T], what: str, *, types: Mapping[str, Any] | None = None) -> None:
        self.cls = cls
        self.what = what
        names = dict(types or {})
        hints = typing.get_type_hints(cls, localns=names)
        self._fields = tuple(
            _Field(
                item.name,
                item.alias or item.name,
                *_field_codec(hints[item.name], f"{cls.__name__}.{item.name}", names),
                item.default,
                _admits_none(hints[item.name]),
            )
            for item in attrs.fields(typing.cast("type[attrs.AttrsInstance]", cls))
            if item.init
        )
        self._keys = frozenset(item.name for item in self._fields)

    @property
    def keys(self) -> frozenset[str]:
        """The JSON keys a stored object may have: the class's field names."""
        return self._keys

    def to_dict(self, value: T) -> dict[str, Any]:
        """A JSON-safe object that ``from_dict`` turns back into an equal value."""
        data: dict[str, Any] = {}
        for item in self._fields:
            raw = getattr(value, item.name)
            data[item.name] = raw if item.dump is None else item.dump(raw)
        return data

    def load(self, data: Any, path: str, problems: Problems) -> T | None:
        """Read ``data`` at ``path``; ``None`` after recording what is wrong."""
        root = expect_mapping(data, path, problems)
        if root is None:
            return None
        unknown_keys(root, self._keys, path, problems)
        before = len(problems.items)
        values: dict[str, Any] = {}
        for item in self._fields:
            here = f"{path}.{item.name}"
            raw = root.get(item.name)
            if raw is None:
                if item.default is not attrs.NOTHING:
                    continue  # the class fills in its own default
                if not item.nullable:
                    problems.add(here, "is required")
                    continue
                values[item.alias] = None
                continue
            loaded = item.load(raw, here, problems)
            if loaded is not _FAILED:
                values[item.alias] = loaded
        if len(problems.items) > before:
            return None
        try:
            return self.cls(**values)
        except (RecoveryKitError, ValueError, TypeError) as exc:
            problems.add(path, str(exc))
            return None

    def from_dict(self, data: Any) -> T:
        """Rebuild a value saved with ``to_dict``; ``DefinitionError`` lists every problem."""
        return load_or_raise(self.load, data, self.what)


#: The classes ``SendMessage`` and the consent command name only for type checking.
_DEFERRED: Final = {"SegmentInfo": SegmentInfo, "ConsentEvent": ConsentEvent}

SEGMENTS: Final = RecordCodec(SegmentInfo, "Invalid SMS segment count")
MESSAGES: Final = RecordCodec(SendMessage, "Invalid stored message", types=_DEFERRED)
OUTBOX_ENTRIES: Final = RecordCodec(OutboxEntry, "Invalid outbox entry", types=_DEFERRED)
LOG_RECORDS: Final = RecordCodec(LogRecord, "Invalid log record")


#: One encoder for every row a bundled store writes: compact, non-ASCII kept as is
#: (building an encoder per call costs more than encoding a small message).
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(data: Any) -> str:
    """``data`` as the compact JSON text the bundled stores keep.

    Valid UTF-8 by construction: a lone surrogate that got this far (a reply text an
    application built itself, say) becomes U+FFFD instead of failing the write and,
    with it, the whole transaction.
    """
    return replace_surrogates(_ENCODER.encode(data))


# -- recovery states as JSON text ---------------------------------------------------------------
#: How the text ``state_to_json`` writes begins: the trust stamp, then the state's keys.
_STAMPED: Final = f'{{"{STAMP_KEY}":{json.dumps(STAMP)},'
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

    The object is ``state.to_dict()`` with the trust stamp first (``trusted.STAMP``:
    the store wrote it, so it is read back without re-validation) and ``notes``
    moved to the end, so ``state_from_json`` can find their text, which is reused
    rather than encoded again while the notes only grow.
    """
    head = dumps(state.to_dict(notes=False))
    return f"{_STAMPED}{head[1:-1]}{_NOTES_AT}{_notes_json(state.notes)}}}"


def state_from_json(text: str) -> RecoveryState:
    """Read a state that ``state_to_json`` (or plain ``dumps(state.to_dict())``) wrote.

    The notes are parsed apart and their text remembered for the next save. The cut
    checks itself: ``,"notes":`` cannot occur inside a JSON string, and a cut at a
    nested key would leave the head with an unclosed bracket, which does not parse.
    Text in any other layout is read whole. A state carrying this release's stamp is
    rebuilt without re-validation; any other goes through ``RecoveryState.from_dict``
    (``trusted.state_from_stored``).
    """
    cut = text.rfind(_NOTES_AT)
    if cut != -1 and text.endswith("]}"):
        notes_text = text[cut + len(_NOTES_AT) : -1]
        try:
            head, notes = json.loads(text[:cut] + "}"), json.loads(notes_text)
        except ValueError:
            head = None
        if isinstance(head, dict):
            head["notes"] = notes
            state = state_from_stored(head)
            _remember_notes(state.notes, notes_text)
            return state
    return state_from_stored(json.loads(text))


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


# -- the records a store keeps, through their codecs ----------------------------------------
def segments_to_dict(info: SegmentInfo) -> dict[str, Any]:
    """The segment count as a JSON object (the text it was counted on included)."""
    return SEGMENTS.to_dict(info)


def segments_from_dict(data: Any) -> SegmentInfo:
    """Rebuild a ``SegmentInfo`` saved with ``segments_to_dict``."""
    return SEGMENTS.from_dict(data)


def message_to_dict(message: SendMessage) -> dict[str, Any]:
    """A JSON-safe object that ``message_from_dict`` turns back into an equal message."""
    return MESSAGES.to_dict(message)


def message_from_dict(data: Any) -> SendMessage:
    """Rebuild a ``SendMessage`` saved with ``message_to_dict``."""
    return MESSAGES.from_dict(data)


def outbox_entry_to_dict(entry: OutboxEntry) -> dict[str, Any]:
    """A JSON-safe object that ``outbox_entry_from_dict`` turns back into an equal entry."""
    return OUTBOX_ENTRIES.to_dict(entry)


def outbox_entry_from_dict(data: Any) -> OutboxEntry:
    """Rebuild an ``OutboxEntry`` saved with ``outbox_entry_to_dict``."""
    return OUTBOX_ENTRIES.from_dict(data)


def log_record_to_dict(record: LogRecord) -> dict[str, Any]:
    """A JSON-safe object that ``log_record_from_dict`` turns back into an equal record."""
    return LOG_RECORDS.to_dict(record)


def log_record_from_dict(data: Any) -> LogRecord:
    """Rebuild a ``LogRecord`` saved with ``log_record_to_dict``."""
    return LOG_RECORDS.from_dict(data)
