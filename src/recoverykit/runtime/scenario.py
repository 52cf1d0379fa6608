"""Scenario files: a store, its policy, customers, checkouts and timed events, as JSON.

``recoverykit simulate`` plays a scenario through the real runner on a virtual
clock. Loading validates the whole document and reports every problem at once
with its JSON path (``$.events[3].checkout: no checkout with id 'c-9'``), so a
scenario is fixed in one pass. Replies are classified here, at the boundary,
with the customer's locale and the region of their number, so the engine gets
the same ``ReplyReceived`` a webhook parser would give it.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeAlias

import attrs

from ..engine.events import (
    CartEmptied,
    CartUpdated,
    CheckoutAbandoned,
    ConsentChanged,
    Event,
    LinkClicked,
    MessageDelivered,
    MessageFailed,
    MessageRead,
    OrderPlaced,
    RecoveryResumed,
    ReplyReceived,
)
from ..engine.policy import DEFAULT_CHANNEL_ORDER, DEFAULT_READ_SIGNALS, RecoveryPolicy
from ..errors import DefinitionError, RecoveryKitError
from ..policies.caps import DEFAULT_CHANNEL_GAP, DEFAULT_RECOVERY_CAPS, FrequencyCap
from ..policies.consent import ConsentAction, ConsentEvent, Purpose, load_consent_event
from ..policies.discounts import load_discount_policy
from ..policies.hours import ContactHours
from ..policies.replies import classify_reply
from ..policies.sequence import RecoverySequence, load_sequence, parse_duration
from ..policies.vocabulary import Vocabulary
from ..presets import DEFAULT as DEFAULT_SEQUENCE
from ..presets import get as get_preset
from ..values.loading import (
    Problems,
    expect_list,
    expect_mapping,
    field,
    read_json_file,
    to_bool,
    to_datetime,
    to_int,
    to_str,
)
from ..values.loading import unknown_keys as _unknown_keys
from ..values.model import Channel, Checkout, Customer, LineItem, load_checkout, load_customer
from ..values.money import Money, load_money
from .pieces import Streamed, Unstreamable, members
from .receipts import SimulatedReceipts, load_receipts
from .traffic import Traffic, load_traffic

__all__ = ["DeliveryReport", "Scenario", "ScenarioEvent", "load_scenario"]

#: How long a simulation runs past its last input when ``until`` is not given:
#: long enough for any sequence (7 days at most) and its grace period.
DEFAULT_RUN_ON: Final = timedelta(days=9)

_TOP_KEYS: Final = frozenset(
    {
        "store",
        "policy",
        "start",
        "until",
        "customers",
        "checkouts",
        "events",
        "description",
        "traffic",
        "receipts",
        "vocabulary",
    }
)
_STORE_KEYS: Final = frozenset({"name", "locale"})
_POLICY_KEYS: Final = frozenset(
    {
        "sequence",
        "contact_hours",
        "jurisdiction",
        "caps",
        "channel_gap",
        "read_signals",
        "channels",
        "holdout",
        "min_effect",
        "experiment",
        "discounts",
        "stock_lines",
        "stock_fresh_for_minutes",
        "send_rates",
        "handoff_timeout_hours",
    }
)
_CAP_KEYS: Final = frozenset({"limit", "per", "channels", "applies_to", "rule_id"})
_EVENT_KEYS: Final = {
    "reply": frozenset({"customer", "channel", "text", "checkout", "id"}),
    "order_placed": frozenset({"checkout", "total", "order_id", "id"}),
    "cart_emptied": frozenset({"checkout", "id"}),
    "cart_updated": frozenset({"checkout", "items", "total", "id"}),
    "delivery": frozenset({"checkout", "touch", "status", "permanent", "channel", "code", "id"}),
    "click": frozenset({"checkout", "touch", "id"}),
    "resumed": frozenset({"checkout", "id"}),
    "consent": frozenset(
        {"customer", "channel", "purpose", "action", "source", "text", "version", "address"}
    ),
}
_DELIVERY_STATUSES: Final = ("delivered", "read", "failed")


@attrs.frozen
class DeliveryReport:
    """A scenario's delivery receipt whose channel is found when it is played.

    Scenarios may leave the channel out (``{"type": "delivery", "touch": 1}``):
    the channel the touch actually went out on is only known during the run.
    """

    checkout_id: str
    touch: int
    status: str
    at: datetime
    permanent: bool = False
    code: str | None = None
    channel: Channel | None = None
    id: str = ""

    def resolve(self, channel: Channel) -> MessageDelivered | MessageRead | MessageFailed:
        """The engine event for this receipt, on ``channel``."""
        extra: dict[str, Any] = {"id": self.id} if self.id else {}
        if self.status == "delivered":
            return MessageDelivered(self.checkout_id, self.touch, channel, self.at, **extra)
        if self.status == "read":
            return MessageRead(self.checkout_id, self.touch, channel, self.at, **extra)
        return MessageFailed(
            self.checkout_id,
            self.touch,
            channel,
            self.at,
            permanent=self.permanent,
            code=self.code,
            **extra,
        )


ScenarioEvent: TypeAlias = Event | DeliveryReport


@attrs.frozen
class Scenario:
    """A loaded, validated scenario: ready for ``recoverykit simulate``."""

    policy: RecoveryPolicy
    store_locale: str
    customers: tuple[Customer, ...]
    #: Every customer's consent ledger events, in file order.
    consent: tuple[ConsentEvent, ...]
    checkouts: tuple[Checkout, ...]
    #: The scenario's own events (not the abandonments), sorted by time.
    events: tuple[ScenarioEvent, ...]
    start: datetime
    until: datetime
    description: str = ""
    #: Simulated provider receipts for every touch (``None``: only the file's own).
    receipts: SimulatedReceipts | None = None
    #: The generated traffic's settings, when the file asked for some.
    traffic: Traffic | None = None
    #: The checkouts the file itself describes (its stories), as opposed to generated ones.
    stories: tuple[str, ...] = ()

    @property
    def store_name(self) -> str:
        return self.policy.store_name

    def timeline(self) -> list[ScenarioEvent]:
        """Abandonments and scenario events in time order (abandonments first on ties)."""
        items: list[tuple[datetime, int, int, ScenarioEvent]] = [
            (checkout.abandoned_at, 0, index, CheckoutAbandoned(checkout, checkout.abandoned_at))
            for index, checkout in enumerate(self.checkouts)
        ]
        items.extend((event.at, 1, index, event) for index, event in enumerate(self.events))
        items.sort(key=lambda item: (item[0], item[1], item[2]))
        return [item[3] for item in items if self.start <= item[0] <= self.until]

    def customer(self, customer_id: str) -> Customer | None:
        for customer in self.customers:
            if customer.id == customer_id:
                return customer
        return None

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        """Load a scenario; every problem is reported at once in one ``DefinitionError``."""
        return load_scenario(data)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read and load a scenario JSON file, its big arrays item by item.

        Each customer, checkout and event is checked as it is read, and its raw form
        let go, so a file of tens of megabytes never sits in memory whole. A file
        that is not a plain JSON object (or not JSON at all) is read whole, which
        reports its problem as ever.
        """
        where = Path(path)
        what = f"Invalid scenario {str(where)!r}"
        with contextlib.suppress(Unstreamable, OSError):
            document = _Document()
            for key, value in members(where, _STREAMED):
                document.feed(key, value)
            return document.finish(what)
        data = read_json_file(where, "Invalid scenario")
        return load_scenario(data, what=what)


# -- loading ---------------------------------------------------------------------------------
def load_scenario(data: Any, *, what: str = "Invalid scenario") -> Scenario:
    """Validate a whole scenario document; raise ``DefinitionError`` listing every problem."""
    problems = Problems()
    root = expect_mapping(data, "$", problems)
    if root is None:
        problems.raise_if_any(what)
        raise AssertionError  # pragma: no cover - raise_if_any raised
    document = _Document()
    for key, value in root.items():
        document.feed(key, value)
    return document.finish(what)


#: The top-level arrays read item by item, in the order they depend on each other.
_STREAMED: Final = ("customers", "checkouts", "events")
#: Where each part's problems go in the report, whatever order the file has.
_PARTS: Final = ("keys", "store", "policy", *_STREAMED, "rest")


class _Document:
    """A scenario being loaded member by member, each array item checked as it comes.

    An array can be checked only once what it refers to is known: customers need
    the store's locale (and come after the policy in the report), checkouts need
    the customers, events need both. An array that arrives before those is kept
    raw until they are loaded; in the usual order nothing is kept raw. Problems
    are gathered per part and reported in one fixed order, so the report is the
    same whatever order the file's keys are in.
    """

    def __init__(self) -> None:
        failed: set[tuple[str, str]] = set()
        self.parts = {name: Problems() for name in _PARTS}
        for part in self.parts.values():
            part.failed = failed  # a failed customer is not reported again by reference
        #: Every member but the streamed arrays, raw, in file order.
        self.raw: dict[str, Any] = {}
        self.waiting: dict[str, Any] = {}
        self.loaded: set[str] = set()
        self.store_name: str | None = None
        self.locale = "en"
        self.policy: RecoveryPolicy | None = None
        self.customers: list[Customer] = []
        self.consent: list[ConsentEvent] = []
        self.by_id: dict[str, Customer] = {}
        self.checkouts: list[Checkout] = []
        self.known_checkouts: dict[str, Checkout] = {}
        self.events: list[ScenarioEvent] = []
        self.vocabulary: Vocabulary | None = None

    def feed(self, key: str, value: Any) -> None:
        """Take the member ``key`` (a `Streamed` array, or any value whole)."""
        if key == "vocabulary":
            self.raw[key] = value
            if "events" in self.loaded:
                self.parts["rest"].add(
                    "$.vocabulary", "must come before events: replies are read with it"
                )
            else:
                self.vocabulary = _load_vocabulary(value, self.parts["rest"])
            return
        if key not in _STREAMED:
            self.raw[key] = value
            return
        self.raw.setdefault(key, None)  # its place among the keys, for the unknown-key check
        before = _STREAMED[: _STREAMED.index(key)]
        if "store" in self.raw and "policy" in self.raw:
            for earlier in before:  # an earlier array that waited can be loaded now
                if earlier in self.waiting:
                    self._load(earlier, self.waiting.pop(earlier))
            if all(earlier in self.loaded for earlier in before):
                self._load(key, value)
                return
        self.waiting[key] = list(value) if isinstance(value, Streamed) else value

    def _head(self) -> None:
        if "store" in self.loaded:
            return
        self.loaded.add("store")
        self.store_name, self.locale = _load_store(self.raw.get("store"), self.parts["store"])
        self.policy = _load_policy(
            self.raw.get("policy", {}), self.store_name or "Shop", self.parts["policy"]
        )

    def _load(self, key: str, value: Any) -> None:
        self._head()
        self.loaded.add(key)
        problems = self.parts[key]
        if key == "customers":
            self.customers, self.consent = _load_customers(value, self.locale, problems)
            self.by_id = {customer.id: customer for customer in self.customers}
        elif key == "checkouts":
            self.checkouts = _load_checkouts(value, self.by_id, problems)
            self.known_checkouts = {checkout.id: checkout for checkout in self.checkouts}
        else:
            self.events = _load_events(
                value, self.by_id, self.known_checkouts, problems, self.vocabulary
            )

    def finish(self, what: str) -> Scenario:
        """Check what is left, then build the scenario or raise every problem at once."""
        root = self.raw
        _unknown_keys(root, _TOP_KEYS, "$", self.parts["keys"])
        self._head()
        for key in _STREAMED:
            if key not in self.loaded:
                self._load(key, self.waiting.pop(key, root.get(key) or []))
        problems = self.parts["rest"]
        start = field(root, "start", "$", problems, to_datetime, default=None)
        until = field(root, "until", "$", problems, to_datetime, default=None)
        description = field(root, "description", "$", problems, to_str, default="")
        receipts = (
            None
            if "receipts" not in root
            else load_receipts(root["receipts"], "$.receipts", problems)
        )
        traffic = (
            None if "traffic" not in root else load_traffic(root["traffic"], "$.traffic", problems)
        )
        if start is not None and until is not None and until <= start:
            problems.add("$.until", f"must be after start ({start.isoformat()})")
        found = Problems()
        for name in _PARTS:
            found.items += self.parts[name].items
        found.raise_if_any(what)
        return _assemble(self, start, until, description or "", receipts, traffic, what)


def _assemble(  # noqa: PLR0917 - the one place a loaded document becomes a Scenario
    document: _Document,
    start: datetime | None,
    until: datetime | None,
    description: str,
    receipts: SimulatedReceipts | None,
    traffic: Traffic | None,
    what: str,
) -> Scenario:
    policy = document.policy
    assert policy is not None
    customers, consent = document.customers, document.consent
    checkouts, events = document.checkouts, document.events
    stories = tuple(checkout.id for checkout in checkouts)
    moments = [checkout.abandoned_at for checkout in checkouts] + [event.at for event in events]
    first = min(moments) if moments else None
    begin = start or first
    if begin is None:
        problems = Problems()
        problems.add("$", "a scenario needs a start, a checkout or an event")
        problems.raise_if_any(what)
        raise AssertionError  # pragma: no cover
    if traffic is not None:
        batch = traffic.generate(begin, policy)
        customers += batch.customers
        consent += batch.consent
        checkouts += batch.checkouts
        events += batch.events
        moments += [checkout.abandoned_at for checkout in batch.checkouts]
        moments += [event.at for event in batch.events]
    end = until or (max(moments) if moments else begin) + DEFAULT_RUN_ON
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].at, pair[0]))
    return Scenario(
        policy=policy,
        store_locale=document.locale,
        customers=tuple(customers),
        consent=tuple(consent),
        checkouts=tuple(checkouts),
        events=tuple(event for _, event in ordered),
        start=begin,
        until=end,
        description=description,
        receipts=receipts,
        traffic=traffic,
        stories=stories,
    )


def _load_store(raw: Any, problems: Problems) -> tuple[str | None, str]:
    if raw is None:
        problems.add("$.store", 'is required (give at least {"name": "Your shop"})')
        return None, "en"
    mapping = expect_mapping(raw, "$.store", problems)
    if mapping is None:
        return None, "en"
    _unknown_keys(mapping, _STORE_KEYS, "$.store", problems)
    name = field(mapping, "name", "$.store", problems, to_str)
    locale = field(mapping, "locale", "$.store", problems, to_str, default="en")
    return name, locale or "en"


def _load_policy(raw: Any, store_name: str, problems: Problems) -> RecoveryPolicy | None:
    path = "$.policy"
    mapping = expect_mapping(raw, path, problems)
    if mapping is None:
        return None
    _unknown_keys(mapping, _POLICY_KEYS, path, problems)
    before = len(problems.items)
    sequence = _load_policy_sequence(mapping.get("sequence"), f"{path}.sequence", problems)
    hours = _load_hours(mapping.get("contact_hours"), f"{path}.contact_hours", problems)
    jurisdiction = field(mapping, "jurisdiction", path, problems, _jurisdiction, default="auto")
    caps = _load_caps(mapping.get("caps"), f"{path}.caps", problems)
    gap: timedelta | None = None
    if "channel_gap" not in mapping or mapping["channel_gap"] is not None:  # null: no gap
        gap = field(mapping, "channel_gap", path, problems, _gap, default=DEFAULT_CHANNEL_GAP)
    read_signals = field(
        mapping, "read_signals", path, problems, _channel_list, default=DEFAULT_READ_SIGNALS
    )
    channels = _load_channel_order(mapping.get("channels"), f"{path}.channels", problems)
    holdout = field(mapping, "holdout", path, problems, _share, default=0.0)
    min_effect = field(mapping, "min_effect", path, problems, _share, default=0.05)
    experiment = field(mapping, "experiment", path, problems, to_str, default="default")
    discounts = None
    if "discounts" in mapping:
        discounts = load_discount_policy(mapping["discounts"], f"{path}.discounts", problems)
    stock_lines = field(mapping, "stock_lines", path, problems, to_bool, default=False)
    fresh_minutes = field(
        mapping, "stock_fresh_for_minutes", path, problems, _positive_int, default=60
    )
    send_rates = _load_send_rates(mapping.get("send_rates"), f"{path}.send_rates", problems)
    handoff_hours = field(
        mapping, "handoff_timeout_hours", path, problems, _positive_int, default=24
    )
    if len(problems.items) > before:
        return None
    try:
        return RecoveryPolicy(
            store_name=store_name,
            sequence=sequence,  # type: ignore[arg-type]
            contact_hours=hours,  # type: ignore[arg-type]
            jurisdiction=jurisdiction,  # type: ignore[arg-type]
            caps=caps,
            channel_gap=gap,
            read_signals=read_signals,  # type: ignore[arg-type]
            channels=channels,
            holdout=holdout or 0.0,
            min_effect=0.05 if min_effect is None else min_effect,
            experiment=experiment or "default",
            discounts=discounts,
            stock_lines=bool(stock_lines),
            stock_fresh_for=timedelta(minutes=fresh_minutes or 60),
            send_rates=send_rates,
            handoff_timeout=None
            if mapping.get("handoff_timeout_hours", 24) is None
            else timedelta(hours=handoff_hours or 24),
        )
    except (RecoveryKitError, ValueError, TypeError) as exc:
        problems.add(path, str(exc))
        return None


def _positive_int(value: Any) -> int:
    number = to_int(value)
    if number < 1:
        msg = f"expected a whole number of 1 or more (got {value!r})"
        raise ValueError(msg)
    return number


def _load_policy_sequence(raw: Any, path: str, problems: Problems) -> RecoverySequence | None:
    if raw is None:
        return get_preset(DEFAULT_SEQUENCE)
    if isinstance(raw, str):
        try:
            return get_preset(raw)
        except ValueError as exc:
            problems.add(path, str(exc))
            return None
    return load_sequence(raw, path, problems)


def _load_hours(raw: Any, path: str, problems: Problems) -> ContactHours | None:
    if raw is None:
        return ContactHours.preset("polite")
    if isinstance(raw, str):
        try:
            return ContactHours.preset(raw)
        except ValueError as exc:
            problems.add(path, str(exc))
            return None
    if not isinstance(raw, Mapping):
        problems.add(path, f"expected a preset name or an object of weekdays, got {raw!r:.60}")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return ContactHours.from_dict(raw)
    except DefinitionError as exc:
        for problem in exc.problems:
            problems.add(path + problem.path[1:], problem.message)
    except (RecoveryKitError, ValueError, TypeError, UserWarning) as exc:
        problems.add(path, str(exc))
    return None


def _jurisdiction(value: Any) -> str:
    text = to_str(value)
    if text not in ("auto", "off"):
        msg = f"expected 'auto' or 'off', got {text!r}"
        raise ValueError(msg)
    return text


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"expected a number from 0 to 1, got {value!r:.60}"
        raise TypeError(msg)
    if not 0 <= value <= 1:
        msg = f"expected a share from 0 to 1, got {value!r}"
        raise ValueError(msg)
    return float(value)


def _channel(value: Any) -> Channel:
    text = to_str(value)
    try:
        return Channel(text)
    except ValueError:
        choices = ", ".join(channel.value for channel in Channel)
        msg = f"unknown channel {text!r} (choose one of {choices})"
        raise ValueError(msg) from None


def _gap(value: Any) -> timedelta:
    """The gap between personal channels and e-mail, ``"12h"`` (``null`` turns it off)."""
    return parse_duration(value)


def _channel_list(value: Any) -> frozenset[Channel]:
    """A list of channels that may be empty (``[]``: no channel reports reads)."""
    if not isinstance(value, list | tuple):
        msg = f"expected a list of channels, got {value!r:.60}"
        raise TypeError(msg)
    return frozenset(_channel(item) for item in value)


def _channels(value: Any) -> tuple[Channel, ...]:
    if not isinstance(value, list | tuple) or not value:
        msg = f"expected a non-empty list of channels, got {value!r:.60}"
        raise TypeError(msg)
    return tuple(_channel(item) for item in value)


def _load_caps(raw: Any, path: str, problems: Problems) -> tuple[FrequencyCap, ...]:
    if raw is None:
        return DEFAULT_RECOVERY_CAPS
    listed = expect_list(raw, path, problems) or []
    caps: list[FrequencyCap] = []
    for index, item in enumerate(listed):
        here = f"{path}[{index}]"
        mapping = expect_mapping(item, here, problems)
        if mapping is None:
            continue
        _unknown_keys(mapping, _CAP_KEYS, here, problems)
        before = len(problems.items)
        limit = field(mapping, "limit", here, problems, to_int)
        per = field(mapping, "per", here, problems, parse_duration)
        channels = field(mapping, "channels", here, problems, _channels, default=None)
        applies_to = field(mapping, "applies_to", here, problems, _channels, default=None)
        rule_id = field(mapping, "rule_id", here, problems, to_str, default="recovery-cap")
        if len(problems.items) > before:
            continue
        try:
            caps.append(
                FrequencyCap(
                    limit,  # type: ignore[arg-type]
                    per,  # type: ignore[arg-type]
                    channels=channels,
                    rule_id=rule_id or "",
                    applies_to=applies_to,
                )
            )
        except (RecoveryKitError, ValueError, TypeError) as exc:
            problems.add(here, str(exc))
    return tuple(caps)


def _load_channel_order(raw: Any, path: str, problems: Problems) -> tuple[Channel, ...]:
    if raw is None:
        return DEFAULT_CHANNEL_ORDER
    try:
        order = _channels(raw)
    except (ValueError, TypeError) as exc:
        problems.add(path, str(exc))
        return DEFAULT_CHANNEL_ORDER
    if len(set(order)) != len(order):
        problems.add(path, "names a channel twice; list each channel once")
    return order


def _load_send_rates(raw: Any, path: str, problems: Problems) -> dict[Channel, float]:
    """``{"sms": 1.0}``: most messages per second per channel; a channel left out has none."""
    if raw is None:
        return {}
    mapping = expect_mapping(raw, path, problems)
    rates: dict[Channel, float] = {}
    for name, rate in (mapping or {}).items():
        try:
            channel = Channel(name)
        except ValueError:
            known = ", ".join(channel.value for channel in Channel)
            problems.add(f"{path}.{name}", f"unknown channel {name!r}; use one of {known}")
            continue
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            problems.add(
                f"{path}.{name}",
                f"must be a number of messages per second above 0 (got {rate!r}), e.g. 1 or 0.5",
            )
            continue
        rates[channel] = float(rate)
    return rates


def _items(raw: Any, path: str, problems: Problems) -> Iterable[Any]:
    """An array's items: read on demand when streamed, else checked to be a list."""
    if isinstance(raw, Streamed):
        return raw
    return expect_list(raw, path, problems) or []


def _load_customers(
    raw: Any, locale: str, problems: Problems
) -> tuple[list[Customer], list[ConsentEvent]]:
    listed = _items(raw, "$.customers", problems)
    customers: list[Customer] = []
    consent: list[ConsentEvent] = []
    seen: set[str] = set()
    for index, item in enumerate(listed):
        here = f"$.customers[{index}]"
        mapping = expect_mapping(item, here, problems)
        if mapping is None:
            continue
        fields = {key: value for key, value in mapping.items() if key != "consent"}
        fields.setdefault("locale", locale)
        customer = load_customer(fields, here, problems)
        if customer is None:
            problems.fail("customer", mapping)
            continue
        if customer.id in seen:
            problems.add(f"{here}.id", f"customer id {customer.id!r} is used twice")
        seen.add(customer.id)
        customers.append(customer)
        grants = expect_list(mapping.get("consent", []), f"{here}.consent", problems) or []
        for position, grant in enumerate(grants):
            event = load_consent_event(
                grant, f"{here}.consent[{position}]", problems, customer_id=customer.id
            )
            if event is not None:
                if event.customer_id != customer.id:
                    problems.add(
                        f"{here}.consent[{position}].customer_id",
                        f"names {event.customer_id!r} inside customer {customer.id!r}; "
                        "leave it out",
                    )
                consent.append(event)
    return customers, consent


def _load_checkouts(
    raw: Any, customers: Mapping[str, Customer], problems: Problems
) -> list[Checkout]:
    listed = _items(raw, "$.checkouts", problems)
    checkouts: list[Checkout] = []
    seen: set[str] = set()
    for index, item in enumerate(listed):
        here = f"$.checkouts[{index}]"
        checkout = load_checkout(item, here, problems, customers=customers)
        if checkout is None:
            problems.fail("checkout", item)
            continue
        if checkout.id in seen:
            problems.add(f"{here}.id", f"checkout id {checkout.id!r} is used twice")
        seen.add(checkout.id)
        items = _stamped(checkout.items, checkout.abandoned_at)
        if items != checkout.items:
            checkout = attrs.evolve(checkout, items=items)
        checkouts.append(checkout)
    return checkouts


def _stamped(items: tuple[LineItem, ...], at: datetime) -> tuple[LineItem, ...]:
    """Stock facts without ``stock_as_of`` are taken as known when their event happened."""
    return tuple(
        attrs.evolve(item, stock_as_of=at)
        if item.stock_as_of is None and (item.stock_level is not None or not item.in_stock)
        else item
        for item in items
    )


def _load_vocabulary(raw: Any, problems: Problems) -> Vocabulary | None:
    """The store's own reply words (``Vocabulary.from_dict``), read by every reply."""
    if raw is None:
        return None
    try:
        return Vocabulary.from_dict(raw, path="$.vocabulary")
    except DefinitionError as exc:
        for problem in exc.problems:
            problems.add(problem.path, problem.message)
        return None


def _load_events(
    raw: Any,
    customers: Mapping[str, Customer],
    checkouts: Mapping[str, Checkout],
    problems: Problems,
    vocabulary: Vocabulary | None = None,
) -> list[ScenarioEvent]:
    listed = _items(raw, "$.events", problems)
    events: list[ScenarioEvent] = []
    for index, item in enumerate(listed):
        here = f"$.events[{index}]"
        mapping = expect_mapping(item, here, problems)
        if mapping is None:
            continue
        kind = field(mapping, "type", here, problems, to_str)
        at = field(mapping, "at", here, problems, to_datetime)
        if kind is None:
            continue
        allowed = _EVENT_KEYS.get(kind)
        if allowed is None:
            choices = ", ".join(sorted(_EVENT_KEYS))
            problems.add(f"{here}.type", f"unknown event type {kind!r} (choose one of {choices})")
            continue
        rest = {key: value for key, value in mapping.items() if key not in ("type", "at")}
        _unknown_keys(rest, allowed, here, problems)
        before = len(problems.items)
        event = _load_event(kind, rest, at, here, customers, checkouts, problems, vocabulary)
        if event is not None and at is not None and len(problems.items) == before:
            events.append(event)
    return events


def _load_event(  # noqa: PLR0917 - one private loader, called once
    kind: str,
    data: Mapping[str, Any],
    at: datetime | None,
    path: str,
    customers: Mapping[str, Customer],
    checkouts: Mapping[str, Checkout],
    problems: Problems,
    vocabulary: Vocabulary | None,
) -> ScenarioEvent | None:
    extra: dict[str, Any] = {}
    if "id" in data:
        event_id = field(data, "id", path, problems, to_str)
        extra = {} if event_id is None else {"id": event_id}
    if kind == "consent":
        customer = _customer_ref(data, path, customers, problems)
        if customer is None or at is None:
            return None
        body = {key: value for key, value in data.items() if key != "customer"}
        body["at"] = at.isoformat()
        grant = load_consent_event(body, path, problems, customer_id=customer.id)
        return None if grant is None else ConsentChanged(grant)
    if kind == "reply":
        customer = _customer_ref(data, path, customers, problems)
        channel = field(data, "channel", path, problems, _channel)
        text = field(data, "text", path, problems, to_str)
        checkout_id = None
        if "checkout" in data:
            named = _checkout_ref(data, path, checkouts, problems)
            checkout_id = None if named is None else named.id
        if customer is None or channel is None or text is None or at is None:
            return None
        phone = customer.phone_number
        reply = classify_reply(
            text,
            locale=customer.locale,
            channel=channel,
            region=None if phone is None else phone.region,
            vocabulary=vocabulary,
        )
        return ReplyReceived(customer.id, channel, reply, at, checkout_id=checkout_id, **extra)
    checkout = _checkout_ref(data, path, checkouts, problems)
    if checkout is None or at is None:
        return None
    if kind == "order_placed":
        total = _optional_money(data, "total", path, problems)
        order_id = field(data, "order_id", path, problems, to_str, default=None)
        return OrderPlaced(
            checkout.id, at, customer_id=checkout.customer.id, total=total or checkout.total,
            order_id=order_id, **extra,
        )  # fmt: skip
    if kind == "cart_emptied":
        return CartEmptied(checkout.id, at, **extra)
    if kind == "cart_updated":
        items = _load_items(data.get("items", []), f"{path}.items", problems)
        total = _optional_money(data, "total", path, problems)
        if items is None:
            return None
        return CartUpdated(checkout.id, at, _stamped(items, at), total, **extra)
    if kind == "click":
        touch = field(data, "touch", path, problems, to_int, default=None)
        return LinkClicked(checkout.id, at, touch=touch, **extra)
    if kind == "resumed":
        return RecoveryResumed(checkout.id, at, **extra)
    # delivery
    touch = field(data, "touch", path, problems, to_int)
    status = field(data, "status", path, problems, _delivery_status, default="delivered")
    permanent = field(data, "permanent", path, problems, to_bool, default=False)
    channel = field(data, "channel", path, problems, _channel, default=None)
    code = field(data, "code", path, problems, to_str, default=None)
    if touch is None or status is None:
        return None
    return DeliveryReport(
        checkout.id, touch, status, at, permanent=bool(permanent), code=code, channel=channel,
        id=extra.get("id", ""),
    )  # fmt: skip


def _delivery_status(value: Any) -> str:
    text = to_str(value)
    if text not in _DELIVERY_STATUSES:
        msg = f"unknown delivery status {text!r} (choose one of {', '.join(_DELIVERY_STATUSES)})"
        raise ValueError(msg)
    return text


def _customer_ref(
    data: Mapping[str, Any], path: str, customers: Mapping[str, Customer], problems: Problems
) -> Customer | None:
    name = field(data, "customer", path, problems, to_str)
    if name is None:
        return None
    if name not in customers:
        problems.add_unknown(f"{path}.customer", "customer", name)
        return None
    return customers[name]


def _checkout_ref(
    data: Mapping[str, Any], path: str, checkouts: Mapping[str, Checkout], problems: Problems
) -> Checkout | None:
    name = field(data, "checkout", path, problems, to_str)
    if name is None:
        return None
    if name not in checkouts:
        problems.add_unknown(f"{path}.checkout", "checkout", name)
        return None
    return checkouts[name]


def _optional_money(
    data: Mapping[str, Any], key: str, path: str, problems: Problems
) -> Money | None:
    if data.get(key) is None:
        return None
    return load_money(data[key], f"{path}.{key}", problems)


def _load_items(raw: Any, path: str, problems: Problems) -> tuple[LineItem, ...] | None:
    from ..values.model import load_line_item  # noqa: PLC0415 - only cart updates need it

    listed = expect_list(raw, path, problems)
    if listed is None:
        return None
    items = [
        load_line_item(item, f"{path}[{index}]", problems) for index, item in enumerate(listed)
    ]
    if any(item is None for item in items):
        return None
    return tuple(item for item in items if item is not None)


# -- plan input ----------------------------------------------------------------------------
_PLAN_KEYS: Final = frozenset({"checkout", "customer", "policy", "store"})


@attrs.frozen
class PlanInput:
    """What ``recoverykit plan`` reads: one checkout, its customer, the store's policy."""

    policy: RecoveryPolicy
    checkout: Checkout
    #: The customer's consent events; ``assumed`` when the file gave none.
    consent: tuple[ConsentEvent, ...]
    assumed_consent: bool


def load_plan_input(data: Any, *, what: str = "Invalid checkout file") -> PlanInput:
    """Load ``{"checkout": ..., "customer": ..., "policy": ..., "store": ...}``.

    Without consent events in the file, the plan assumes a recovery grant on every
    channel the customer can be reached on, and says so.
    """
    problems = Problems()
    root = expect_mapping(data, "$", problems)
    if root is None:
        problems.raise_if_any(what)
        raise AssertionError  # pragma: no cover
    _unknown_keys(root, _PLAN_KEYS, "$", problems)
    store_name, locale = ("Shop", "en")
    if "store" in root:
        name, locale = _load_store(root["store"], problems)
        store_name = name or store_name
    policy = _load_policy(root.get("policy", {}), store_name, problems)
    customers: dict[str, Customer] = {}
    consent: list[ConsentEvent] = []
    if "customer" in root:
        inner = Problems()
        loaded, consent = _load_customers([root["customer"]], locale, inner)
        for problem in inner.items:  # a plan file has one $.customer, not a list
            problems.add(problem.path.replace("$.customers[0]", "$.customer", 1), problem.message)
        customers = {customer.id: customer for customer in loaded}
    checkout = load_checkout(root.get("checkout"), "$.checkout", problems, customers=customers)
    problems.raise_if_any(what)
    assert policy is not None
    assert checkout is not None
    assumed = not consent
    if assumed:
        consent = _assumed_grants(checkout)
    return PlanInput(policy, checkout, tuple(consent), assumed)


def _assumed_grants(checkout: Checkout) -> list[ConsentEvent]:
    customer = checkout.customer
    addresses = {channel: customer.address_for(channel) for channel in Channel}
    at = checkout.abandoned_at - timedelta(minutes=1)
    return [
        ConsentEvent(
            customer_id=customer.id,
            channel=channel,
            purpose=Purpose.RECOVERY,
            action=ConsentAction.CONFIRMED,
            at=at,
            source="assumed_by_plan",
            text="recoverykit plan assumes consent when the file gives none",
        )
        for channel, address in addresses.items()
        if address is not None
    ]
