"""Reply classification throughput and consent-ledger questions on a long trail.

CPU time, each figure beside its floor measured in the same run: ``casefold`` and
``split`` of the same replies for the classifier (the least a word match must do),
and for the ledger a dict look-up (a question), a sort of the events by time
(building one) and a tuple copy (appending to an immutable one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import cycle
from typing import Any

from benchmarks._timing import Floor, per_call, report
from recoverykit.policies.consent import ConsentAction, ConsentEvent, ConsentLedger, Purpose
from recoverykit.policies.replies import _forget, classify_reply
from recoverykit.values.model import Channel

#: A mix like a real inbox: keywords, digits, short chat in several languages.
TYPICAL = [
    "STOP", "Yes", "1", "stop", "ok thanks", "When will it ship?", "Не интересует",
    "уже купила, спасибо", "Tak", "too expensive", "Opt out!!", "2", "nie jestem zainteresowany",
    "pas intéressé", "ya lo compré", "HELP", "👍", "Thanks, I'll order tonight", "START",
    "is there a size 42?",
]  # fmt: skip

#: Replies as an inbox sees them for the first time: keywords in several spellings,
#: menu digits, emoji, questions in English, Polish, Russian and French, refusals, and a
#: few long messages (one in ten).
INBOX = [
    "STOP", "Stop", "stop.", "STOP!!", "Opt out", "opt-out", "STOPALL", "stop please",
    "Please stop texting me", "UNSUBSCRIBE", "СТОП", "Yes", "yes please", "Tak", "да", "oui",
    "1", "2", "3️⃣", "👍", "🙏🙏", "ok thanks 😊",
    "When will it ship?", "Do you ship to Canada?", "Czy jest rozmiar 42?", "Kiedy dostawa?",
    "Когда будет доставка?", "Сколько стоит доставка?", "Quand est-ce que ça arrive ?",
    "Est-ce que vous livrez en Belgique ?", "Не интересует", "уже купила, спасибо",
    "nie jestem zainteresowany", "pas intéressé", "too expensive", "HELP",
    ("Hi! I was looking at the shoes again and wondered whether the blue ones come in a "
    "wider fit, my feet are a bit wide and last time the size 42 was too tight. Thanks!"),
    ("Dzień dobry, zamówiłam wczoraj sukienkę ale nie dostałam potwierdzenia na maila, "
    "czy mogą Państwo sprawdzić czy wszystko jest w porządku? Dziękuję bardzo."),
    ("Здравствуйте! Я хотела уточнить, можно ли оплатить заказ при получении, и сколько "
    "дней займёт доставка в Казань? Спасибо заранее 🙂"),
    ("Bonjour, j'ai essayé de payer avec ma carte mais le paiement a été refusé deux fois. "
    "Est-ce que je peux payer par PayPal à la place ? Merci d'avance !"),
]  # fmt: skip

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _first_sight(*, words: bool = False, **options: Any) -> float:
    """Seconds per INBOX reply classified as never seen before.

    The whole-reply memo is emptied before every call (with ``words``, the word memo
    too), and the time the emptying takes alone is taken off, so the figure is the
    classifier's own work on a new text.
    """
    texts = iter(cycle(INBOX))

    def forget() -> None:
        _forget(words=words)

    def classify() -> None:
        forget()
        classify_reply(next(texts), **options)

    number = 20 * len(INBOX) * 50
    return per_call(classify, number=number) - per_call(forget, number=number)


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


def _words_floor(texts: list[str]) -> Floor:
    feed = iter(cycle(texts))
    return ("casefold + split", per_call(lambda: next(feed).casefold().split(), number=50_000))


def reply_figures() -> None:
    """Print the reply classifier's figures: memo hits, new texts, long and huge texts."""
    typical = _words_floor(TYPICAL)
    inbox = _words_floor(INBOX)
    texts = iter(cycle(TYPICAL))
    seconds = per_call(lambda: classify_reply(next(texts)), number=50_000)
    report("classify_reply, typical mix, repeated (memo hits)", seconds, typical)
    seconds = per_call(lambda: classify_reply(next(texts), region="US"), number=50_000)
    report("classify_reply, typical mix, repeated, contains (US)", seconds, typical)
    # Every text distinct (a unique trailing word), so nothing is served from the memo;
    # the INBOX figures below instead keep each text as it is and empty the memo.
    unique = iter([f"{TYPICAL[n % len(TYPICAL)]} x{n}" for n in range(300_000)])
    seconds = per_call(lambda: classify_reply(next(unique)), number=50_000)
    report("classify_reply, typical mix, every text new", seconds, typical)
    report("classify_reply, inbox mix, first sight (memo emptied)", _first_sight(), inbox)
    report(
        "classify_reply, inbox mix, first sight, contains (US)", _first_sight(region="US"), inbox
    )
    report("classify_reply, inbox mix, first sight, locale pl", _first_sight(locale="pl"), inbox)
    report("classify_reply, inbox mix, first sight, new words too", _first_sight(words=True), inbox)
    long_text = "Hi! I was looking at the shoes again, " * 100
    report(
        "classify_reply, 3.9 kB message",
        per_call(lambda: classify_reply(long_text), number=2_000),
        ("casefold + split", per_call(lambda: long_text.casefold().split(), number=2_000)),
    )
    huge = "x y " * 50_000
    report(
        "classify_reply, 200 kB message (bounded)",
        per_call(lambda: classify_reply(huge), number=200),
        ("casefold + split", per_call(lambda: huge.casefold().split(), number=200)),
    )


def main() -> None:
    reply_figures()
    events = _trail(customers=10, per_customer=1_000)
    report(
        "ConsentLedger build + fold, 10 000 events",
        per_call(lambda: ConsentLedger(tuple(events)).audit("cus-0"), number=5, repeat=3),
        ("sort by time", per_call(lambda: sorted(events, key=_at), number=5, repeat=3)),
    )
    ledger = ConsentLedger(tuple(events))
    later = T0 + timedelta(days=1)
    ledger.allows("cus-0", Channel.SMS, Purpose.RECOVERY, later)  # fold once
    index = {("cus-3", Channel.SMS): later}
    lookup = (
        "one dict look-up",
        per_call(lambda: index.get(("cus-3", Channel.SMS)), number=50_000),
    )
    report(
        "ledger.allows, 1 000 events per customer",
        per_call(
            lambda: ledger.allows(
                "cus-3", Channel.SMS, Purpose.RECOVERY, later, address="+48600100200"
            ),
            number=50_000,
        ),
        lookup,
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
        lookup,
    )
    grant = events[0]
    trail = tuple(events)
    report(
        "ledger.append on a folded 10 000-event ledger",
        per_call(lambda: ledger.append(grant), number=2_000, repeat=3),
        ("tuple copy", per_call(lambda: (*trail, grant), number=2_000, repeat=3)),
    )
    small = ConsentLedger(tuple(events[:10]))
    small.allows("cus-0", Channel.SMS, Purpose.RECOVERY, later)
    report(
        "ledger.allows, 10 events",
        per_call(
            lambda: small.allows("cus-0", Channel.SMS, Purpose.RECOVERY, later), number=50_000
        ),
        lookup,
    )


def _at(event: ConsentEvent) -> datetime:
    return event.at


if __name__ == "__main__":
    main()
