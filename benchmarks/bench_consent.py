"""Reply classification throughput and consent-ledger questions on a long trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import cycle

from benchmarks._timing import per_call, report
from recoverykit._consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from recoverykit._model import Channel
from recoverykit._replies import classify_reply

#: A mix like a real inbox: keywords, digits, short chat in several languages.
TYPICAL = [
    "STOP", "Yes", "1", "stop", "ok thanks", "When will it ship?", "Не интересует",
    "уже купила, спасибо", "Tak", "too expensive", "Opt out!!", "2", "nie jestem zainteresowany",
    "pas intéressé", "ya lo compré", "HELP", "👍", "Thanks, I'll order tonight", "START",
    "is there a size 42?",
]  # fmt: skip

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _trail(customers: int, per_customer: int) -> list[ConsentEvent]:
    actions = cycle([ConsentAction.GRANTED, ConsentAction.CONFIRMED, ConsentAction.REVOKED])
    events = []
    for c in range(customers):
        for i in range(per_customer):
            action = next(actions)
            events.append(
                ConsentEvent(
                    customer_id=f"cus-{c}",
                    channel=Channel.SMS if i % 2 else Channel.WHATSAPP,
                    purpose=None if action is ConsentAction.REVOKED else Purpose.RECOVERY,
                    action=action,
                    at=T0 + timedelta(minutes=(i * 7919) % per_customer),  # out of time order
                    source="api",
                    address="+48600100200" if i % 3 else None,
                )
            )
    return events


def main() -> None:
    texts = iter(cycle(TYPICAL))
    seconds = per_call(lambda: classify_reply(next(texts)), number=50_000)
    report("classify_reply, typical mix, repeated (memo hits)", seconds)
    seconds = per_call(lambda: classify_reply(next(texts), region="US"), number=50_000)
    report("classify_reply, typical mix, repeated, contains (US)", seconds)
    # Every text distinct (a unique trailing word), so nothing is served from the memo.
    unique = iter([f"{TYPICAL[n % len(TYPICAL)]} x{n}" for n in range(300_000)])
    seconds = per_call(lambda: classify_reply(next(unique)), number=50_000)
    report("classify_reply, typical mix, every text new", seconds)
    long_text = "Hi! I was looking at the shoes again, " * 100
    report(
        "classify_reply, 3.9 kB message", per_call(lambda: classify_reply(long_text), number=2_000)
    )
    huge = "x y " * 50_000
    report(
        "classify_reply, 200 kB message (bounded)",
        per_call(lambda: classify_reply(huge), number=200),
    )

    events = _trail(customers=10, per_customer=1_000)
    report(
        "ConsentLedger build + fold, 10 000 events",
        per_call(lambda: ConsentLedger(tuple(events)).audit("cus-0"), number=5, repeat=3),
    )
    ledger = ConsentLedger(tuple(events))
    later = T0 + timedelta(days=1)
    ledger.allows("cus-0", Channel.SMS, Purpose.RECOVERY, later)  # fold once
    report(
        "ledger.allows, 1 000 events per customer",
        per_call(
            lambda: ledger.allows(
                "cus-3", Channel.SMS, Purpose.RECOVERY, later, address="+48600100200"
            ),
            number=50_000,
        ),
    )
    middle = T0 + timedelta(minutes=500)
    report(
        "ledger.allows at a past instant, require_confirmed",
        per_call(
            lambda: ledger.allows(
                "cus-3", Channel.SMS, Purpose.RECOVERY, middle, require_confirmed=True
            ),
            number=50_000,
        ),
    )
    grant = events[0]
    report(
        "ledger.append on a folded 10 000-event ledger",
        per_call(lambda: ledger.append(grant), number=2_000, repeat=3),
    )
    small = ConsentLedger(tuple(events[:10]))
    small.allows("cus-0", Channel.SMS, Purpose.RECOVERY, later)
    report(
        "ledger.allows, 10 events",
        per_call(
            lambda: small.allows("cus-0", Channel.SMS, Purpose.RECOVERY, later), number=50_000
        ),
    )


if __name__ == "__main__":
    main()
