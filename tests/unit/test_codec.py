"""The store codec: messages, outbox entries and log lines survive JSON unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recoverykit.engine.commands import MessageKind, SendMessage
from recoverykit.errors import DefinitionError
from recoverykit.messages.sms import SegmentInfo, sms_segments
from recoverykit.protocols import LogRecord, OutboxEntry, OutboxStatus
from recoverykit.stores.codec import (
    LOG_RECORDS,
    MESSAGES,
    OUTBOX_ENTRIES,
    SEGMENTS,
    RecordCodec,
    from_micros,
    log_record_from_dict,
    log_record_to_dict,
    message_from_dict,
    message_to_dict,
    micros,
    outbox_entry_from_dict,
    outbox_entry_to_dict,
    segments_from_dict,
    segments_to_dict,
)
from recoverykit.testing.store_contract import every_field_samples
from recoverykit.testing.strategies import aware_datetimes
from recoverykit.values.model import Channel

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

_TEXTS = st.text(max_size=200) | st.sampled_from(
    ["Sklep: koszyk czeka 84,00 zł", "Магазин: корзина ждёт", "Cart {x} ~ [] € 😀"]
)


@st.composite
def messages(draw: st.DrawFn) -> SendMessage:
    text = draw(_TEXTS)
    channel = draw(st.sampled_from(Channel))
    return SendMessage(
        idempotency_key=draw(st.text(min_size=1, max_size=40)),
        checkout_id=draw(st.text(min_size=1, max_size=20)),
        customer_id=draw(st.text(min_size=1, max_size=20)),
        channel=channel,
        to=draw(st.sampled_from(["+48601234567", "ada@example.com", "777"])),
        kind=draw(st.sampled_from(MessageKind)),
        key=draw(st.sampled_from(["remind", "help", "optout_confirm"])),
        text=text,
        locale=draw(st.sampled_from(["en", "pl", "ru", "fr"])),
        touch=draw(st.none() | st.integers(1, 5)),
        attempt=draw(st.integers(0, 3)),
        segments=sms_segments(text) if channel is Channel.SMS else None,
        whatsapp_payload=draw(st.none() | st.just({"name": "cart_reminder", "language": "pl"})),
        subject=draw(st.none() | st.text(max_size=40)),
        discount_code=draw(st.none() | st.text(min_size=1, max_size=12)),
    )


def _through_json(data: dict[str, Any]) -> Any:
    return json.loads(json.dumps(data))


@given(messages())
def test_messages_round_trip_through_json(message: SendMessage) -> None:
    """A message written as JSON text and read back is equal, its WhatsApp payload too."""
    loaded = message_from_dict(_through_json(message_to_dict(message)))
    assert message == loaded
    assert message.whatsapp_payload == loaded.whatsapp_payload


@given(st.text(max_size=400))
def test_segment_counts_round_trip(text: str) -> None:
    """A stored segment count rebuilds the same SegmentInfo."""
    info = sms_segments(text)
    assert info == segments_from_dict(_through_json(segments_to_dict(info)))


#: Stores keep instants, not zones. Python never finds a time inside a fold equal to a
#: time in another zone, so round-trips compare instants expressed in UTC.
_INSTANTS = aware_datetimes().map(lambda moment: moment.astimezone(UTC))


@given(
    messages(),
    _INSTANTS,
    st.sampled_from(OutboxStatus),
    st.none() | st.text(max_size=20),
    st.none() | _INSTANTS,
)
def test_outbox_entries_round_trip(
    message: SendMessage,
    created_at: datetime,
    status: OutboxStatus,
    provider_id: str | None,
    attempted_at: datetime | None,
) -> None:
    """An outbox entry, in any status, survives JSON unchanged."""
    entry = OutboxEntry(
        key=message.idempotency_key,
        message=message,
        created_at=created_at,
        status=status,
        provider_id=provider_id,
        detail="queued",
        attempted_at=attempted_at,
    )
    assert entry == outbox_entry_from_dict(_through_json(outbox_entry_to_dict(entry)))


def test_log_records_round_trip() -> None:
    """A log line with ids and nested data survives JSON unchanged."""
    record = LogRecord(T0, "send", "chk-1", "cus-1", {"touch": 1, "notes": [{"a": None}]})
    assert record == log_record_from_dict(_through_json(log_record_to_dict(record)))
    bare = LogRecord(T0, "event", None, None)
    assert bare == log_record_from_dict(log_record_to_dict(bare))


def test_a_broken_message_reports_every_problem_with_its_path() -> None:
    """Loading a damaged message names each bad field by JSON path, all at once."""
    data = message_to_dict(
        SendMessage(
            idempotency_key="k1",
            checkout_id="chk-1",
            customer_id="cus-1",
            channel=Channel.SMS,
            to="+48601234567",
            kind=MessageKind.TOUCH,
            key="remind",
            text="hi",
            locale="en",
            segments=sms_segments("hi"),
        )
    )
    data["channel"] = "fax"
    del data["text"]
    data["segments"]["encoding"] = "UTF-8"
    data["colour"] = "red"
    with pytest.raises(DefinitionError) as caught:
        message_from_dict(data)
    paths = sorted(problem.path for problem in caught.value.problems)
    assert paths == ["$.channel", "$.colour", "$.segments.encoding", "$.text"]


def test_an_outbox_entry_without_its_message_is_refused() -> None:
    """An entry must carry its message; a missing one is reported at ``$.message``."""
    data = outbox_entry_to_dict(
        OutboxEntry(key="k1", message=message_from_dict(_minimal_message()), created_at=T0)
    )
    del data["message"]
    data["status"] = "lost"
    with pytest.raises(DefinitionError) as caught:
        outbox_entry_from_dict(data)
    assert sorted(p.path for p in caught.value.problems) == ["$.message", "$.status"]


def _minimal_message() -> dict[str, Any]:
    return {
        "idempotency_key": "k1",
        "checkout_id": "chk-1",
        "customer_id": "cus-1",
        "channel": "email",
        "to": "ada@example.com",
        "kind": "touch",
        "key": "remind",
        "text": "Your cart",
        "locale": "en",
    }


def test_optional_message_fields_take_their_defaults() -> None:
    """A stored message that omits the optional fields loads with their defaults."""
    loaded = message_from_dict(_minimal_message())
    assert (loaded.touch, loaded.attempt, loaded.segments, loaded.subject) == (None, 0, None, None)


@given(aware_datetimes())
def test_micros_keep_the_instant_exactly(moment: datetime) -> None:
    """Stored microseconds decode to the same instant, in UTC, and keep the order."""
    assert moment.astimezone(UTC) == from_micros(micros(moment))
    later = moment.astimezone(UTC) + timedelta(microseconds=1)
    assert micros(later) == micros(moment) + 1


def test_micros_ignore_the_zone_the_instant_was_written_in() -> None:
    """Two spellings of one instant encode to the same number."""
    warsaw_winter = timezone(timedelta(hours=1))
    assert micros(T0) == micros(T0.astimezone(warsaw_winter))


def test_a_discount_code_survives_the_outbox_codec() -> None:
    """Regression: ``message_to_dict`` dropped ``discount_code``, so SQLite and PostgreSQL
    outboxes lost the code a final touch carried while ``MemoryStore`` kept it."""
    message = every_field_samples()["message"]
    assert message.discount_code == "SAVE10"
    stored = _through_json(outbox_entry_to_dict(OutboxEntry("k1", message, T0)))
    assert stored["message"]["discount_code"] == "SAVE10"
    assert message == outbox_entry_from_dict(stored).message


@pytest.mark.parametrize(
    ("codec", "cls"),
    [
        (MESSAGES, SendMessage),
        (OUTBOX_ENTRIES, OutboxEntry),
        (LOG_RECORDS, LogRecord),
        (SEGMENTS, SegmentInfo),
    ],
)
def test_every_field_is_a_stored_key(codec: RecordCodec[Any], cls: type) -> None:
    """The stored keys are the class's fields, so a new field is stored from day one."""
    assert {item.name for item in attrs.fields(cls)} == codec.keys
    sample = next(v for v in every_field_samples().values() if isinstance(v, cls))
    assert codec.keys == set(codec.to_dict(sample))


def test_a_type_the_codec_cannot_store_fails_when_the_codec_is_built() -> None:
    """A field of an unknown type is refused at import time, naming the field."""

    @attrs.frozen
    class Odd:
        amount: complex

    with pytest.raises(TypeError, match=r"Odd\.amount"):
        RecordCodec(Odd, "Invalid odd")


def test_a_missing_nullable_field_without_default_loads_as_none() -> None:
    """A log line written without ids loads with ``None`` ids; a missing ``at`` is required."""
    record = log_record_from_dict({"at": T0.isoformat(), "kind": "event"})
    assert LogRecord(T0, "event", None, None) == record
    with pytest.raises(DefinitionError) as caught:
        log_record_from_dict({"kind": "event", "data": []})
    assert sorted(p.path for p in caught.value.problems) == ["$.at", "$.data"]
