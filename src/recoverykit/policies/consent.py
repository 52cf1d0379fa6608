"""The consent ledger: who said yes, on which channel, to what, when, how and what they were told.

Consent is a trail of immutable events, never a flag. The ledger folds the trail
into answers ("may we send a recovery SMS to +48 600 100 200 now?") by the event
times, not by the order events were appended, so a late-arriving webhook cannot
resurrect consent that a later STOP withdrew.

The rules, in short:

* consent is per channel; a grant naming an address covers only that address
  (a grant without one covers any);
* a revocation beats every grant at or before it; only a later grant re-grants;
* a revocation naming a purpose is an explicit "no" to it: ``withdrew`` reports it,
  so a grant of another purpose cannot stand in for it;
* a revocation without a purpose (a STOP) covers every purpose on its channel, and a
  revocation without a channel (OPT_OUT_ALL) covers every channel;
* ``confirmed`` completes a double opt-in; with ``require_confirmed=True`` a grant
  counts only once a confirmation at or after it (and after any revocation) exists.

Folding is incremental: events are indexed per (customer, channel, purpose) as they
are appended, so a question costs a binary search plus a short walk back, whatever
the length of the trail.
"""

from __future__ import annotations

import bisect
import enum
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

from ..errors import InvalidInputError
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    field,
    to_datetime,
    to_str,
    unknown_keys,
)
from ..values.model import Channel, address_key
from ..values.time import require_aware
from .replies import Intent, Reply

__all__ = [
    "ConsentAction",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentStatus",
    "MARKETING_STOP_CODES",
    "Purpose",
    "grant_for",
    "marketing_resume",
    "marketing_stop",
    "provider_revocations",
    "revocation_for",
]


class Purpose(enum.StrEnum):
    """What the customer agreed to receive."""

    #: Reminders about a checkout they left.
    RECOVERY = "recovery"
    #: Promotions in general; may cover recovery where the policy allows it.
    MARKETING = "marketing"
    #: Order and account messages.
    TRANSACTIONAL = "transactional"


class ConsentAction(enum.StrEnum):
    """What happened to consent."""

    #: The customer opted in (checkbox, keyword, support call, ...).
    GRANTED = "granted"
    #: The customer confirmed an opt-in (double opt-in reply); also counts as a grant.
    CONFIRMED = "confirmed"
    #: The customer withdrew consent.
    REVOKED = "revoked"


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
#: At the same instant a grant sorts first and a revocation last: the revocation wins.
_RANK: Final = {ConsentAction.GRANTED: 0, ConsentAction.CONFIRMED: 1, ConsentAction.REVOKED: 2}
#: Evidence longer than this is cut; a reply is evidence, not an archive.
MAX_EVIDENCE_CHARS: Final = 2000


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _nonempty(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        msg = f"{attribute.name} must be a non-empty string (got {value!r})"
        raise InvalidInputError(msg)


def _aware(_inst: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    require_aware(value, attribute.name)


def _optional_text(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        msg = f"{attribute.name} must be a string or None (got {type(value).__name__})"
        raise InvalidInputError(msg)


@attrs.frozen
class ConsentEvent:
    """One fact in the consent trail; together they demonstrate consent."""

    customer_id: str = attrs.field(validator=_nonempty)
    #: None only for a revocation of every channel (OPT_OUT_ALL).
    channel: Channel | None = attrs.field(converter=attrs.converters.optional(Channel))
    #: None only for a revocation of every purpose on the channel (a STOP).
    purpose: Purpose | None = attrs.field(converter=attrs.converters.optional(Purpose))
    action: ConsentAction = attrs.field(converter=ConsentAction)
    at: datetime = attrs.field(validator=_aware)
    #: How it was captured: "checkout_checkbox", "keyword", "api", "support_agent", ...
    source: str = attrs.field(validator=_nonempty)
    #: Evidence: the verbatim disclosure shown, or the customer's own reply.
    text: str | None = attrs.field(default=None, validator=_optional_text)
    #: Version of the disclosure text.
    version: str | None = attrs.field(default=None, validator=_optional_text)
    #: The number, e-mail or chat id covered (E.164 for phones); None covers any.
    address: str | None = attrs.field(default=None, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.action is not ConsentAction.REVOKED:
            if self.channel is None:
                msg = (
                    f"a {self.action.value!r} event needs a channel (got channel=None); "
                    "only a revocation may cover every channel"
                )
                raise InvalidInputError(msg)
            if self.purpose is None:
                msg = (
                    f"a {self.action.value!r} event needs a purpose (got purpose=None); "
                    "only a revocation may cover every purpose"
                )
                raise InvalidInputError(msg)

    @classmethod
    def revocation(
        cls,
        customer_id: str,
        channel: Channel | None,
        at: datetime,
        *,
        source: str,
        text: str,
        address: str | None = None,
    ) -> ConsentEvent:
        """A revocation of every purpose on ``channel`` (``None``: every channel).

        The one way recoverykit builds a revocation, whoever asked (a STOP, a
        provider's opt-out code, an unsubscribe link): ``text`` is the evidence, cut
        to ``MAX_EVIDENCE_CHARS``; an empty ``address`` covers any.
        """
        return cls(
            customer_id=customer_id,
            channel=channel,
            purpose=None,
            action=ConsentAction.REVOKED,
            at=at,
            source=source,
            text=text[:MAX_EVIDENCE_CHARS],
            address=address or None,
        )

    @classmethod
    def provider_opt_out(
        cls,
        customer_id: str,
        channel: Channel,
        at: datetime,
        *,
        code: str | None,
        address: str | None,
    ) -> ConsentEvent:
        """The revocation a provider's opt-out error code stands for (the recipient
        blocked the sender or replied STOP at the provider)."""
        text = f"provider reported an opt-out (code {code})"
        return cls.revocation(
            customer_id, channel, at, source="provider", text=text, address=address
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "customer_id": self.customer_id,
            "channel": None if self.channel is None else self.channel.value,
            "purpose": None if self.purpose is None else self.purpose.value,
            "action": self.action.value,
            "at": self.at.isoformat(),
            "source": self.source,
        }
        for key in ("text", "version", "address"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_dict(cls, data: Any, *, customer_id: str | None = None) -> ConsentEvent:
        """Load an event; ``customer_id`` fills the key when the event sits inside a customer."""
        problems = Problems()
        event = load_consent_event(data, "$", problems, customer_id=customer_id)
        problems.raise_if_any("Invalid consent event")
        assert event is not None
        return event


@attrs.frozen
class ConsentStatus:
    """The answer to a consent question, with the event that decided it."""

    allowed: bool
    decided_by: ConsentEvent | None
    #: Granted but not yet confirmed while confirmation is required.
    pending_confirmation: bool
    #: "granted", "confirmed", "revoked", "no_grant", "other_address" or "unconfirmed".
    reason: str


# -- the index ---------------------------------------------------------------------------
#: (time in µs, rank, append sequence, event); sorts by time, revocations last on ties.
_Entry = tuple[int, int, int, ConsentEvent]
_TrackKey = tuple[str, Channel, Purpose]


class _Track:
    """Every event bearing on one (customer, channel, purpose), in time order."""

    __slots__ = ("by_address", "entries")

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.by_address: dict[str | None, list[_Entry]] = {}

    def add(self, entry: _Entry, address: str | None) -> None:
        bisect.insort(self.entries, entry)
        bisect.insort(self.by_address.setdefault(address, []), entry)


class _Index:
    """Tracks for a chain of ledgers; ``head`` events of the chain are folded in.

    Ledgers made by ``append`` share one index; each reads only the entries whose
    sequence number is below its own length, so an older ledger still answers for
    its own events. Appending to an older ledger builds a fresh index.
    """

    __slots__ = ("customers", "head", "lock", "tracks")

    def __init__(self) -> None:
        self.head = 0
        self.tracks: dict[_TrackKey, _Track] = {}
        self.customers: dict[str, list[_Entry]] = {}
        self.lock = threading.Lock()

    def fold(self, event: ConsentEvent) -> None:
        entry: _Entry = (_micros(event.at), _RANK[event.action], self.head, event)
        self.head += 1
        bisect.insort(self.customers.setdefault(event.customer_id, []), entry)
        channels = tuple(Channel) if event.channel is None else (event.channel,)
        purposes = tuple(Purpose) if event.purpose is None else (event.purpose,)
        # A revocation of every channel names the address it came from, but it speaks for
        # the customer everywhere: an "unsubscribe all" by SMS binds their Viber id and
        # e-mail too, so it is filed for any address, not only the one it arrived on.
        address = (
            None
            if event.address is None or event.channel is None
            else address_key(event.channel, event.address)
        )
        for channel in channels:
            for purpose in purposes:
                key = (event.customer_id, channel, purpose)
                track = self.tracks.get(key)
                if track is None:
                    track = self.tracks[key] = _Track()
                track.add(entry, address)


def _latest(entries: list[_Entry], limit: int, moment: int) -> Iterator[_Entry]:
    """Entries at or before ``moment`` with sequence below ``limit``, newest first."""
    position = bisect.bisect_right(entries, (moment, 99))
    for index in range(position - 1, -1, -1):
        entry = entries[index]
        if entry[2] < limit:
            yield entry


def _newest(track: _Track, key: str | None, moment: int, limit: int) -> ConsentEvent | None:
    """The newest event bearing on ``key`` (None: any address) at or before ``moment``."""
    probe = (moment, 99)
    if key is None:
        entries = track.entries
        for index in range(bisect.bisect_right(entries, probe) - 1, -1, -1):
            entry = entries[index]
            if entry[2] < limit:
                return entry[3]
        return None
    best: _Entry | None = None
    for stream in (track.by_address.get(None), track.by_address.get(key)):
        if not stream:
            continue
        for index in range(bisect.bisect_right(stream, probe) - 1, -1, -1):
            entry = stream[index]
            if entry[2] < limit:
                if best is None or entry[:3] > best[:3]:
                    best = entry
                break
    return None if best is None else best[3]


def _event_tuple(events: Iterable[ConsentEvent]) -> tuple[ConsentEvent, ...]:
    result = tuple(events)
    for position, event in enumerate(result):
        if not isinstance(event, ConsentEvent):
            msg = f"events[{position}] must be a ConsentEvent (got {type(event).__name__})"
            raise TypeError(msg)
    return result


_NO_GRANT: Final = ConsentStatus(False, None, False, "no_grant")


@attrs.frozen
class ConsentLedger:
    """An append-only trail of consent events, folded into answers by event time."""

    events: tuple[ConsentEvent, ...] = attrs.field(default=(), converter=_event_tuple)
    _index: list[_Index | None] = attrs.field(
        init=False, eq=False, repr=False, hash=False, factory=lambda: [None]
    )

    # -- building ------------------------------------------------------------------------
    @classmethod
    def _trusted(cls, events: tuple[ConsentEvent, ...]) -> ConsentLedger:
        """A ledger over events already checked, without checking them again (O(1))."""
        ledger = cls()
        object.__setattr__(ledger, "events", events)
        return ledger

    def _folded(self) -> _Index:
        index = self._index[0]
        if index is None:
            index = _Index()
            with index.lock:
                for event in self.events:
                    index.fold(event)
            self._index[0] = index
        return index

    def append(self, event: ConsentEvent) -> ConsentLedger:
        """A new ledger with ``event`` added; this one is unchanged."""
        return self.extend((event,))

    def extend(self, events: Iterable[ConsentEvent]) -> ConsentLedger:
        """A new ledger with ``events`` added in order; this one is unchanged."""
        added = _event_tuple(events)
        ledger = ConsentLedger._trusted(self.events + added)
        index = self._index[0]
        if index is not None:
            with index.lock:
                if index.head == len(self.events):
                    for event in added:
                        index.fold(event)
                    ledger._index[0] = index
        return ledger

    # -- questions -----------------------------------------------------------------------
    def status(
        self,
        customer_id: str,
        channel: Channel,
        purpose: Purpose,
        at: datetime,
        *,
        address: str | None = None,
        require_confirmed: bool = False,
    ) -> ConsentStatus:
        """Whether ``purpose`` messages may go to the customer on ``channel`` at ``at``.

        Only events dated at or before ``at`` count. With ``address`` only grants for
        that address (or for none) count, and so do revocations; without it, any.
        """
        moment = _micros(require_aware(at, "at"))
        index = self._index[0] or self._folded()
        limit = len(self.events)
        key = None if address is None else address_key(channel, address)
        with index.lock:
            # Enum members hash like their values, so plain strings find the track too.
            track = index.tracks.get((customer_id, channel, purpose))
            if track is None:
                return _NO_GRANT
            newest = _newest(track, key, moment, limit)
            if newest is None:
                if key is not None:
                    for entry in _latest(track.entries, limit, moment):
                        if entry[3].action is not ConsentAction.REVOKED:
                            return ConsentStatus(False, entry[3], False, "other_address")
                return _NO_GRANT
        action = newest.action
        if action is ConsentAction.REVOKED:
            return ConsentStatus(False, newest, False, "revoked")
        if action is ConsentAction.CONFIRMED:
            return ConsentStatus(True, newest, False, "confirmed")
        if require_confirmed:
            return ConsentStatus(False, newest, True, "unconfirmed")
        return ConsentStatus(True, newest, False, "granted")

    def allows(
        self,
        customer_id: str,
        channel: Channel,
        purpose: Purpose,
        at: datetime,
        *,
        address: str | None = None,
        require_confirmed: bool = False,
    ) -> bool:
        """True when ``status(...)`` allows; see there."""
        return self.status(
            customer_id,
            channel,
            purpose,
            at,
            address=address,
            require_confirmed=require_confirmed,
        ).allowed

    def withdrew(
        self,
        customer_id: str,
        channel: Channel,
        purpose: Purpose,
        at: datetime,
        *,
        address: str | None = None,
    ) -> bool:
        """True when the customer withdrew ``purpose`` by name and has not granted it since.

        Only a revocation naming the purpose counts ("no more cart reminders"), not a
        STOP of the whole channel: a later grant of a broader purpose can follow a STOP,
        but it never overrules an explicit "no" to this one (SEAMS 7). ``address``
        narrows the question as in ``status``.
        """
        return self.withdrawal(customer_id, channel, purpose, at, address=address) is not None

    def withdrawal(
        self,
        customer_id: str,
        channel: Channel,
        purpose: Purpose,
        at: datetime,
        *,
        address: str | None = None,
    ) -> ConsentEvent | None:
        """The revocation behind ``withdrew`` (``None`` when it is ``False``).

        Its time tells a caller whether a grant of another purpose came after it.
        """
        moment = _micros(require_aware(at, "at"))
        index = self._folded()
        limit = len(self.events)
        key = None if address is None else address_key(channel, address)
        with index.lock:
            track = index.tracks.get((customer_id, Channel(channel), Purpose(purpose)))
            if track is None:
                return None
            if key is None:
                streams = [track.entries]
            else:
                streams = [track.by_address.get(None) or [], track.by_address.get(key) or []]
            best: _Entry | None = None
            for stream in streams:
                for entry in _latest(stream, limit, moment):
                    event = entry[3]
                    if event.action is ConsentAction.REVOKED and event.purpose is None:
                        continue  # a STOP: decides the channel, not this purpose by name
                    if best is None or entry[:3] > best[:3]:
                        best = entry
                    break
        if best is None or best[3].action is not ConsentAction.REVOKED:
            return None
        return best[3]

    def opted_out(self, customer_id: str, channel: Channel, at: datetime) -> bool:
        """True when the latest decisive event on ``channel`` (any purpose) is a revocation.

        A revocation of one purpose only (say marketing) decides only that purpose; the
        channel counts as opted out when every purpose that was ever granted on it is
        revoked, or when a channel-wide STOP is not followed by a new grant.
        """
        moment = _micros(require_aware(at, "at"))
        index = self._folded()
        limit = len(self.events)
        channel = Channel(channel)
        revoked_any = False
        with index.lock:
            for purpose in Purpose:
                track = index.tracks.get((customer_id, channel, purpose))
                if track is None:
                    continue
                newest = next(iter(_latest(track.entries, limit, moment)), None)
                if newest is None:
                    continue
                if newest[3].action is not ConsentAction.REVOKED:
                    return False
                revoked_any = True
        return revoked_any

    def audit(self, customer_id: str) -> tuple[ConsentEvent, ...]:
        """The customer's whole trail in time order (append order breaks ties)."""
        index = self._folded()
        limit = len(self.events)
        with index.lock:
            entries = index.customers.get(customer_id, [])
            ordered = sorted((e for e in entries if e[2] < limit), key=lambda e: (e[0], e[2]))
        return tuple(entry[3] for entry in ordered)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"events": [event.to_dict() for event in self.events]}

    @classmethod
    def from_dict(cls, data: Any) -> ConsentLedger:
        """Load ``{"events": [...]}``; every problem is reported with its JSON path."""
        problems = Problems()
        ledger = load_consent_ledger(data, "$", problems)
        problems.raise_if_any("Invalid consent ledger")
        assert ledger is not None
        return ledger


#: Provider error codes that report a stop of marketing on their channel, not a STOP of
#: every message: WhatsApp 131050, the recipient turned off marketing messages from this
#: business (rules.md CP-6, WA-9; Meta's error-code reference).
MARKETING_STOP_CODES: Final = {Channel.WHATSAPP: frozenset({"131050"})}

#: What a platform's "stop marketing" withdraws. Meta files cart reminders under
#: MARKETING templates, so a person who stops marketing in WhatsApp's own settings has
#: said no to recovery messages there too; service replies are not covered.
_MARKETING_STOP_PURPOSES: Final = (Purpose.MARKETING, Purpose.RECOVERY)


def marketing_stop(
    customer_id: str,
    channel: Channel,
    at: datetime,
    *,
    source: str,
    text: str,
    address: str | None = None,
) -> tuple[ConsentEvent, ...]:
    """The revocations a platform's "stop marketing" stands for: marketing and recovery.

    One event per purpose, each naming it, so ``withdrew`` sees an explicit "no" to
    recovery messages on ``channel`` for ``address`` until a newer grant. ``text`` is
    the evidence (the provider's own value), cut to ``MAX_EVIDENCE_CHARS``.
    """
    return tuple(
        _platform_event(customer_id, channel, purpose, ConsentAction.REVOKED, at, source,
                        text, address)
        for purpose in _MARKETING_STOP_PURPOSES
    )  # fmt: skip


def marketing_resume(
    customer_id: str,
    channel: Channel,
    at: datetime,
    *,
    source: str,
    text: str,
    address: str | None = None,
) -> ConsentEvent:
    """The grant a platform's "resume marketing" stands for: marketing on ``channel``.

    Being newer than the stop, it lets recovery messages go again where the policy
    accepts marketing grants for them (``marketing_consent_ok``, SEAMS 7).
    """
    return _platform_event(
        customer_id, channel, Purpose.MARKETING, ConsentAction.GRANTED, at, source, text, address
    )


def _platform_event(  # noqa: PLR0917 - one private constructor for the two above
    customer_id: str,
    channel: Channel,
    purpose: Purpose,
    action: ConsentAction,
    at: datetime,
    source: str,
    text: str,
    address: str | None,
) -> ConsentEvent:
    return ConsentEvent(
        customer_id=customer_id,
        channel=channel,
        purpose=purpose,
        action=action,
        at=at,
        source=source,
        text=text[:MAX_EVIDENCE_CHARS],
        address=address or None,
    )


def provider_revocations(
    customer_id: str,
    channel: Channel,
    at: datetime,
    *,
    code: str | None,
    address: str | None,
) -> tuple[ConsentEvent, ...]:
    """The ledger events a provider's revoking error code stands for.

    A code in ``MARKETING_STOP_CODES`` withdraws marketing and recovery on the channel
    (source ``<channel>_<code>``); any other revoking code (a STOP at the provider, an
    unsubscribed bot) withdraws every purpose on it (source ``provider``).
    """
    if code is not None and code in MARKETING_STOP_CODES.get(Channel(channel), ()):
        return marketing_stop(
            customer_id,
            channel,
            at,
            source=f"{Channel(channel).value}_{code}",
            text=f"provider error {code}: the recipient stopped marketing messages",
            address=address,
        )
    return (ConsentEvent.provider_opt_out(customer_id, channel, at, code=code, address=address),)


def revocation_for(
    reply: Reply,
    customer_id: str,
    channel: Channel,
    at: datetime,
    *,
    address: str | None = None,
) -> ConsentEvent | None:
    """The revocation a reply asks for, with the reply as evidence; None if it asks for none.

    ``OPT_OUT`` revokes every purpose on ``channel``; ``OPT_OUT_ALL`` every channel.
    A keyword is recorded with source ``"keyword"``, a natural-language request with
    ``"reply"`` (the FCC's "any reasonable means").
    """
    if reply.intent is Intent.OPT_OUT:
        revoked_channel: Channel | None = Channel(channel)
    elif reply.intent is Intent.OPT_OUT_ALL:
        revoked_channel = None
    else:
        return None
    return ConsentEvent.revocation(
        customer_id,
        revoked_channel,
        at,
        source="reply" if reply.needs_review else "keyword",
        text=reply.text,
        address=address,
    )


def grant_for(
    reply: Reply,
    customer_id: str,
    channel: Channel,
    at: datetime,
    *,
    address: str | None = None,
) -> ConsentEvent | None:
    """The recovery grant a START (or UNSTOP) asks for, with the reply as evidence.

    ``None`` for any other reply. After an opt-out only these words re-grant (SEAMS 8),
    and only on the channel they came in on. The grant is not a double opt-in: where a
    program needs one (US texts, CP-2), the customer is asked again.
    """
    if reply.intent is not Intent.OPT_IN:
        return None
    return ConsentEvent(
        customer_id=customer_id,
        channel=Channel(channel),
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=at,
        source="keyword",
        text=reply.text[:MAX_EVIDENCE_CHARS],
        address=address,
    )


# -- loaders -----------------------------------------------------------------------------
_EVENT_KEYS: Final = frozenset(
    {"customer_id", "channel", "purpose", "action", "at", "source", "text", "version", "address"}
)


def _optional_enum(kind: type[enum.StrEnum], what: str) -> Any:
    def convert(value: Any) -> Any:
        text = to_str(value)
        try:
            return kind(text)
        except ValueError:
            choices = ", ".join(member.value for member in kind)
            msg = f"unknown {what} {text!r} (known: {choices})"
            raise ValueError(msg) from None

    return convert


def load_consent_event(
    data: Any, path: str, problems: Problems, *, customer_id: str | None = None
) -> ConsentEvent | None:
    """Load one event; used by ``ConsentEvent.from_dict`` and by documents embedding events."""
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, _EVENT_KEYS, path, problems)
    before = len(problems.items)
    values: dict[str, Any] = {
        "customer_id": field(
            mapping, "customer_id", path, problems, to_str,
            **({} if customer_id is None else {"default": customer_id}),
        ),
        "channel": field(
            mapping, "channel", path, problems, _optional_enum(Channel, "channel"), default=None
        ),
        "purpose": field(
            mapping, "purpose", path, problems, _optional_enum(Purpose, "purpose"), default=None
        ),
        "action": field(mapping, "action", path, problems, _optional_enum(ConsentAction, "action")),
        "at": field(mapping, "at", path, problems, to_datetime),
        "source": field(mapping, "source", path, problems, to_str),
        "text": field(mapping, "text", path, problems, to_str, default=None),
        "version": field(mapping, "version", path, problems, to_str, default=None),
        "address": field(mapping, "address", path, problems, to_str, default=None),
    }  # fmt: skip
    if len(problems.items) > before:
        return None
    try:
        return ConsentEvent(**values)
    except (InvalidInputError, ValueError, TypeError) as exc:
        problems.add(path, str(exc))
        return None


def load_consent_ledger(data: Any, path: str, problems: Problems) -> ConsentLedger | None:
    mapping = expect_mapping(data, path, problems)
    if mapping is None:
        return None
    unknown_keys(mapping, frozenset({"events"}), path, problems)
    raw = expect_list(mapping.get("events", []), f"{path}.events", problems)
    if raw is None:
        return None
    events: list[ConsentEvent] = []
    for position, item in enumerate(raw):
        event = load_consent_event(item, f"{path}.events[{position}]", problems)
        if event is not None:
            events.append(event)
    if problems:
        return None
    return ConsentLedger(tuple(events))
