"""The consent ledger: per-channel, per-address grants, revocations and double opt-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recoverykit.errors import DefinitionError, InvalidInputError, NaiveDatetimeError
from recoverykit.policies.consent import (
    ConsentAction,
    ConsentEvent,
    ConsentLedger,
    ConsentStatus,
    Purpose,
    grant_for,
    revocation_for,
)
from recoverykit.policies.replies import classify_reply
from recoverykit.values.model import Channel

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PHONE = "+48600100200"
OTHER = "+48600100201"


def event(
    action: ConsentAction = ConsentAction.GRANTED,
    *,
    minutes: int = 0,
    channel: Channel | None = Channel.SMS,
    purpose: Purpose | None = Purpose.RECOVERY,
    address: str | None = PHONE,
    customer_id: str = "cus-1",
) -> ConsentEvent:
    return ConsentEvent(
        customer_id=customer_id,
        channel=channel,
        purpose=purpose,
        action=action,
        at=T0 + timedelta(minutes=minutes),
        source="checkout_checkbox",
        text="Send me a reminder about my cart by SMS. Reply STOP to stop.",
        version="v3",
        address=address,
    )


def ask(ledger: ConsentLedger, minutes: int = 60, **kwargs: object) -> ConsentStatus:
    return ledger.status(
        "cus-1",
        Channel.SMS,
        Purpose.RECOVERY,
        T0 + timedelta(minutes=minutes),
        **kwargs,  # type: ignore[arg-type]
    )


def test_grant_allows_on_its_channel_only() -> None:
    """Consent is per channel: SMS consent never covers WhatsApp."""
    ledger = ConsentLedger().append(event())
    assert ledger.allows("cus-1", Channel.SMS, Purpose.RECOVERY, T0)
    assert not ledger.allows("cus-1", Channel.WHATSAPP, Purpose.RECOVERY, T0)
    assert not ledger.allows("cus-2", Channel.SMS, Purpose.RECOVERY, T0)


def test_grant_for_another_number_does_not_cover_a_new_one() -> None:
    """A grant naming a number covers that number only; the status says why."""
    ledger = ConsentLedger().append(event())
    status = ask(ledger, address=OTHER)
    assert (status.allowed, status.reason) == (False, "other_address")
    assert ask(ledger, address=PHONE).allowed


def test_grant_without_address_covers_any() -> None:
    """A grant that names no address covers every address on the channel."""
    ledger = ConsentLedger().append(event(address=None))
    assert ask(ledger, address=OTHER).allowed


def test_events_after_the_question_do_not_count() -> None:
    """allows(at) only considers events dated at or before ``at``."""
    ledger = ConsentLedger().append(event(minutes=30))
    assert not ask(ledger, minutes=29).allowed
    assert ask(ledger, minutes=30).allowed


def test_stop_revokes_every_purpose_on_the_channel() -> None:
    """OPT_OUT (purpose None) revokes recovery, marketing and transactional on that channel."""
    stop = revocation_for(classify_reply("STOP"), "cus-1", Channel.SMS, T0 + timedelta(minutes=5))
    assert stop is not None
    ledger = ConsentLedger((event(), event(purpose=Purpose.MARKETING), stop))
    later = T0 + timedelta(hours=1)
    for purpose in Purpose:
        status = ledger.status("cus-1", Channel.SMS, purpose, later)
        assert (False, "revoked", stop) == (status.allowed, status.reason, status.decided_by)
    assert ledger.opted_out("cus-1", Channel.SMS, later)


def test_stop_on_sms_leaves_whatsapp() -> None:
    """A STOP revokes the channel that received it, not the others."""
    stop = revocation_for(classify_reply("STOP"), "cus-1", Channel.SMS, T0 + timedelta(minutes=5))
    assert stop is not None
    ledger = ConsentLedger((event(), event(channel=Channel.WHATSAPP), stop))
    later = T0 + timedelta(hours=1)
    assert ledger.allows("cus-1", Channel.WHATSAPP, Purpose.RECOVERY, later)
    assert not ledger.opted_out("cus-1", Channel.WHATSAPP, later)


def test_opt_out_all_revokes_every_channel() -> None:
    """OPT_OUT_ALL (channel None) revokes every channel of the customer."""
    stop = revocation_for(
        classify_reply("STOP ALL"), "cus-1", Channel.SMS, T0 + timedelta(minutes=5)
    )
    assert stop is not None
    assert stop.channel is None
    ledger = ConsentLedger((event(), event(channel=Channel.EMAIL, address=None), stop))
    for channel in Channel:
        assert not ledger.allows("cus-1", channel, Purpose.RECOVERY, T0 + timedelta(hours=1))


def test_opt_out_all_by_text_binds_every_address_of_the_customer() -> None:
    """An "unsubscribe all" that arrived by SMS also stops their Viber id and e-mail.

    The revocation names the number it came from; asking about another channel names
    that channel's own address, which the revocation must cover all the same.
    """
    stop = revocation_for(
        classify_reply("unsubscribe all"),
        "cus-1",
        Channel.SMS,
        T0 + timedelta(minutes=5),
        address=PHONE,
    )
    assert stop is not None
    assert stop.address == PHONE
    grants = (
        event(),
        event(channel=Channel.VIBER, address="viber-uid-1"),
        event(channel=Channel.EMAIL, address="ann@example.com"),
    )
    ledger = ConsentLedger((*grants, stop))
    later = T0 + timedelta(hours=1)
    for channel, address in (
        (Channel.SMS, PHONE),
        (Channel.VIBER, "viber-uid-1"),
        (Channel.EMAIL, "ann@example.com"),
    ):
        status = ledger.status("cus-1", channel, Purpose.RECOVERY, later, address=address)
        assert (status.allowed, status.reason) == (False, "revoked"), channel


def test_stale_grant_cannot_regrant() -> None:
    """A grant dated before the latest revocation does not re-grant, whatever the append order."""
    stop = event(ConsentAction.REVOKED, minutes=10, purpose=None, address=None)
    late_webhook = event(minutes=5)
    ledger = ConsentLedger((event(), stop)).append(late_webhook)
    assert (ask(ledger).allowed, ask(ledger).reason) == (False, "revoked")


def test_revocation_wins_a_tie() -> None:
    """A grant and a revocation at the same instant: the revocation wins."""
    ledger = ConsentLedger((event(ConsentAction.REVOKED, minutes=10), event(minutes=10)))
    assert not ask(ledger).allowed


def test_later_grant_regrants() -> None:
    """After an opt-out only an explicit later grant (START) gives consent back."""
    ledger = ConsentLedger(
        (event(), event(ConsentAction.REVOKED, minutes=10, purpose=None), event(minutes=20))
    )
    assert ask(ledger).allowed
    assert not ask(ledger, minutes=15).allowed
    assert not ledger.opted_out("cus-1", Channel.SMS, T0 + timedelta(minutes=60))


def test_double_opt_in_pending_until_confirmed() -> None:
    """With require_confirmed, a grant is pending until a confirmation at or after it."""
    ledger = ConsentLedger().append(event())
    pending = ask(ledger, require_confirmed=True)
    assert (
        pending.allowed,
        pending.pending_confirmation,
        pending.reason,
    ) == (False, True, "unconfirmed")
    assert ask(ledger).allowed  # without the requirement the grant is enough
    confirmed = ledger.append(event(ConsentAction.CONFIRMED, minutes=3))
    status = ask(confirmed, require_confirmed=True)
    assert (
        status.allowed,
        status.pending_confirmation,
        status.reason,
    ) == (True, False, "confirmed")


def test_new_grant_needs_a_new_confirmation() -> None:
    """require_confirmed: the confirmation must come after the latest grant."""
    ledger = ConsentLedger((event(), event(ConsentAction.CONFIRMED, minutes=1), event(minutes=2)))
    assert not ask(ledger, require_confirmed=True).allowed


def test_confirmation_before_revocation_does_not_count() -> None:
    """A confirmation older than a revocation never brings consent back."""
    ledger = ConsentLedger(
        (
            event(),
            event(ConsentAction.CONFIRMED, minutes=1),
            event(ConsentAction.REVOKED, minutes=2, purpose=None),
        )
    )
    assert not ask(ledger, require_confirmed=True).allowed


def test_confirmation_for_other_address_does_not_confirm() -> None:
    """A confirmation completes the double opt-in for its own address only."""
    ledger = ConsentLedger((event(), event(ConsentAction.CONFIRMED, minutes=1, address=OTHER)))
    assert not ask(ledger, address=PHONE, require_confirmed=True).allowed


def test_purpose_revocation_is_narrow() -> None:
    """Revoking marketing leaves a recovery grant standing; the channel is not opted out."""
    ledger = ConsentLedger(
        (
            event(),
            event(purpose=Purpose.MARKETING),
            event(ConsentAction.REVOKED, minutes=5, purpose=Purpose.MARKETING),
        )
    )
    assert ask(ledger).allowed
    assert not ledger.allows("cus-1", Channel.SMS, Purpose.MARKETING, T0 + timedelta(hours=1))
    assert not ledger.opted_out("cus-1", Channel.SMS, T0 + timedelta(hours=1))


def test_no_grant() -> None:
    """With no events the answer is no, and nothing decided it."""
    assert ConsentStatus(False, None, False, "no_grant") == ask(ConsentLedger())


def test_append_never_mutates() -> None:
    """append returns a new ledger; the old one keeps answering for its own events."""
    first = ConsentLedger().append(event())
    assert ask(first).allowed  # builds the shared index
    second = first.append(event(ConsentAction.REVOKED, minutes=5, purpose=None))
    assert not ask(second).allowed
    assert ask(first).allowed
    assert len(first.events) == 1
    branch = first.append(event(channel=Channel.WHATSAPP))  # appending to an older ledger
    assert ask(branch).allowed
    assert branch.allows("cus-1", Channel.WHATSAPP, Purpose.RECOVERY, T0)


def test_audit_is_in_time_order() -> None:
    """audit() gives the customer's whole trail by event time, not append order."""
    a, b, c = (
        event(minutes=5),
        event(minutes=1),
        event(ConsentAction.REVOKED, minutes=9, purpose=None),
    )
    ledger = ConsentLedger((a, b, c, event(customer_id="cus-2")))
    assert (b, a, c) == ledger.audit("cus-1")


def test_round_trip() -> None:
    """to_dict / from_dict round-trip every field, including channel/purpose None."""
    ledger = ConsentLedger(
        (event(), event(ConsentAction.REVOKED, minutes=1, channel=None, purpose=None, address=None))
    )
    assert ledger == ConsentLedger.from_dict(ledger.to_dict())


def test_event_inside_customer_takes_its_id() -> None:
    """An event loaded inside a customer may leave customer_id out."""
    data = event().to_dict()
    del data["customer_id"]
    assert event() == ConsentEvent.from_dict(data, customer_id="cus-1")


def test_from_dict_reports_every_problem_with_its_path() -> None:
    """A bad document names each problem with its JSON path."""
    data = {
        "events": [
            {
                "channel": "fax",
                "purpose": "recovery",
                "action": "granted",
                "at": "2026-03-01T12:00:00",
                "source": "api",
                "customer_id": "c",
            }
        ]
    }
    with pytest.raises(DefinitionError) as info:
        ConsentLedger.from_dict(data)
    paths = {problem.path for problem in info.value.problems}
    assert {"$.events[0].channel", "$.events[0].at"} <= paths


def test_grant_needs_channel_and_purpose() -> None:
    """Only a revocation may leave channel or purpose empty."""
    with pytest.raises(InvalidInputError, match="needs a channel"):
        event(channel=None)
    with pytest.raises(InvalidInputError, match="needs a purpose"):
        event(purpose=None)


def test_naive_times_are_refused() -> None:
    """Event times and questions must carry a zone."""
    with pytest.raises(NaiveDatetimeError):
        ConsentEvent(
            "c", Channel.SMS, Purpose.RECOVERY, ConsentAction.GRANTED, datetime(2026, 1, 1), "api"
        )
    with pytest.raises(NaiveDatetimeError):
        ConsentLedger().allows("c", Channel.SMS, Purpose.RECOVERY, datetime(2026, 1, 1))


def test_revocation_for_records_the_reply_as_evidence() -> None:
    """A STOP reply becomes a revocation of every purpose on the channel, with its text."""
    reply = classify_reply("Stop texting me please")
    revoked = revocation_for(reply, "cus-1", Channel.SMS, T0, address=PHONE)
    expected = ConsentEvent(
        customer_id="cus-1",
        channel=Channel.SMS,
        purpose=None,
        action=ConsentAction.REVOKED,
        at=T0,
        source="reply",
        text="Stop texting me please",
        address=PHONE,
    )
    assert expected == revoked


def test_revocation_for_ignores_other_intents() -> None:
    """Only OPT_OUT and OPT_OUT_ALL revoke; a question or a yes records nothing."""
    for text in ("yes", "when does it ship?", "too expensive", "START"):
        assert revocation_for(classify_reply(text), "cus-1", Channel.SMS, T0) is None


def test_grant_for_start_grants_recovery_on_that_channel_only() -> None:
    """SEAMS 8: START (and UNSTOP) re-grant recovery on the channel they came in on,
    the reply kept as evidence; every other reply grants nothing."""
    grant = grant_for(classify_reply("START"), "cus-1", Channel.SMS, T0, address=PHONE)
    expected = ConsentEvent(
        customer_id="cus-1",
        channel=Channel.SMS,
        purpose=Purpose.RECOVERY,
        action=ConsentAction.GRANTED,
        at=T0,
        source="keyword",
        text="START",
        address=PHONE,
    )
    assert expected == grant
    for text in ("yes", "STOP", "when does it ship?"):
        assert grant_for(classify_reply(text), "cus-1", Channel.SMS, T0) is None


def test_withdrew_reports_an_explicit_no_until_the_purpose_is_granted_again() -> None:
    """SEAMS 7: a revocation naming ``recovery`` is a "no" to it that no grant of another
    purpose lifts; a STOP (no purpose) is not such a "no", and a later recovery grant is."""
    later = T0 + timedelta(hours=2)
    no = event(ConsentAction.REVOKED, minutes=10)
    marketing_after = event(minutes=20, purpose=Purpose.MARKETING)
    ledger = ConsentLedger((event(purpose=Purpose.MARKETING), no, marketing_after))
    assert ledger.withdrew("cus-1", Channel.SMS, Purpose.RECOVERY, later, address=PHONE)
    assert ledger.withdrew("cus-1", Channel.SMS, Purpose.RECOVERY, later)
    assert not ledger.withdrew("cus-1", Channel.SMS, Purpose.RECOVERY, T0 + timedelta(minutes=5))
    assert not ledger.withdrew("cus-1", Channel.EMAIL, Purpose.RECOVERY, later)
    # The "no" named PHONE: another number of the same customer is not covered by it.
    assert not ledger.withdrew("cus-1", Channel.SMS, Purpose.RECOVERY, later, address=OTHER)
    regranted = ledger.append(event(minutes=30))
    assert not regranted.withdrew("cus-1", Channel.SMS, Purpose.RECOVERY, later)
    stop = event(ConsentAction.REVOKED, minutes=10, purpose=None)
    after_stop = ConsentLedger((event(), stop, marketing_after))
    assert not after_stop.withdrew("cus-1", Channel.SMS, Purpose.RECOVERY, later)
    # A STOP after the explicit "no" does not hide it.
    assert ledger.append(event(ConsentAction.REVOKED, minutes=40, purpose=None)).withdrew(
        "cus-1", Channel.SMS, Purpose.RECOVERY, later
    )
