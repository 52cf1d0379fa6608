"""Messages: segment counting on texts never seen before, render, guard, the whole send path.

Segment counts are compared with ``smsutil`` (a plain-Python splitter; install it with
``pip install -e '.[bench]'``) on texts that are each new: pack reminders with a
fresh name and link in every pack language, and the shapes issue 25 quotes (160 ASCII
characters, 70 Cyrillic ones, 500 characters with emoji). The other figures stand
beside floors: the ``str.format`` call a render is built around, and the render alone
for the guard.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from benchmarks._timing import per_call, per_call_pair, report
from recoverykit.messages.lint import guard, typical_context
from recoverykit.messages.packs import default_pack, message_context
from recoverykit.messages.sms import sms_segments
from recoverykit.messages.templates import render
from recoverykit.values.model import Channel, Checkout, Customer, LineItem
from recoverykit.values.money import Money

LINK = "https://nwnd.example/r/8fK2xQ7pLmZ4vB9tR3wYc1"
LANGUAGES = ("en", "pl", "ru", "fr")
KEYS = ("remind", "help", "final")
#: Texts per set: every call counts a text the process has not counted before.
COUNT = 4_000
_NAMES = {
    "en": ("Alexandra", "Sam", "Jo", "Oliver", "Chloé"),
    "pl": ("Katarzyna", "Łukasz", "Zofia", "Jan", "Małgorzata"),
    "ru": ("Александра", "Пётр", "Ольга", "Иван", "Наталья"),
    "fr": ("Amélie", "François", "Zoé", "Hugo", "Cécile"),
}


def _reminders(language: str) -> list[str]:
    """``COUNT`` distinct SMS reminders of one language: pack wording, new name and link."""
    pack = default_pack()
    templates = [pack.find(key, Channel.SMS, language) for key in KEYS]
    base = typical_context(language, Channel.SMS)
    names = itertools.cycle(_NAMES[language])
    texts = []
    for index in range(COUNT):
        values = {**base, "first_name": next(names), "link": f"{LINK[:-8]}{index:08d}"}
        texts.append(render(templates[index % len(templates)], values).text)
    return texts


def _shapes() -> dict[str, list[str]]:
    """The shapes issue 25 measured, each text made distinct by a number inside it."""
    return {
        "160 ASCII": [
            (f"Northwind Studio {n}: your checkout is saved. " * 4)[:160] for n in range(COUNT)
        ],
        "70 Cyrillic": [
            (f"Нортвинд {n}: ваш заказ сохранён, вернуться к нему можно по ссылке. " * 2)[:70]
            for n in range(COUNT)
        ],
        "500 with emoji": [
            (f"Hi Anna {n} 😀, your cart 🛒 is saved — tap to finish 👍🏽. " * 10)[:500]
            for n in range(COUNT)
        ],
    }


def _smsutil() -> Any | None:
    try:
        return importlib.import_module("smsutil")
    except ImportError:
        return None


def _each(fn: Callable[[str], object], texts: list[str]) -> Callable[[], object]:
    feed: Iterator[str] = itertools.cycle(texts)
    return lambda: fn(next(feed))


def segment_figures() -> None:
    """``sms_segments`` on new texts, beside ``smsutil.split`` on the same texts."""
    smsutil = _smsutil()
    if smsutil is None:
        print("  (smsutil is not installed: pip install -e '.[bench]' to compare with it)")
    sets = {f"{language} reminders": _reminders(language) for language in LANGUAGES}
    sets.update(_shapes())
    mixed = zip(*sets.values(), strict=True)
    sets["all of the above, mixed"] = [text for texts in mixed for text in texts]
    sms_segments("warm-up: ж😀\u0301 " * 30)  # builds the character tables once
    for label, texts in sets.items():
        name = f"sms_segments, new texts, {label}"
        if smsutil is None:
            report(name, per_call(_each(sms_segments, texts), number=len(texts)))
            continue
        ours, theirs = per_call_pair(
            _each(sms_segments, texts), _each(smsutil.split, texts), number=len(texts)
        )
        print(
            f"  {name:<52} {ours * 1e6:9.2f} µs {1 / ours:12,.0f} /s"
            f"  {theirs / ours:7.1f}× faster than smsutil ({theirs * 1e6:,.2f} µs)"
        )


def main() -> None:
    segment_figures()
    pack = default_pack()
    en = pack.find("remind", Channel.SMS, "en")
    pl = pack.find("remind", Channel.SMS, "pl")
    context = {"store_name": "Northwind Studio", "first_name": "Alexandra", "link": LINK}
    # The floor: the one ``str.format`` call each template is compiled into.
    fmt_en = en._main.fmt
    values_en = [context[name] for name in en.body_fields]
    seconds, floor = per_call_pair(
        lambda: render(en, context), lambda: fmt_en.format(*values_en), number=50_000
    )
    report("render + segments, SMS en (GSM-7)", seconds, ("str.format", floor))
    names = itertools.cycle([f"Katarzyna{i}" for i in range(100_000)])
    fmt_pl = pl._main.fmt

    def fresh_pl() -> None:
        render(pl, {**context, "first_name": next(names)})

    def fresh_format() -> None:
        values = {**context, "first_name": next(names)}
        fmt_pl.format(*[values[name] for name in pl.body_fields])

    seconds, floor = per_call_pair(fresh_pl, fresh_format, number=20_000)
    report("render + segments, SMS pl (UCS-2, new text)", seconds, ("str.format", floor))
    rendered = render(pl, context)
    seconds, floor = per_call_pair(
        lambda: guard(rendered, store_name="Northwind Studio"),
        lambda: render(pl, context),
        number=20_000,
    )
    report("guard, SMS pl", seconds, ("render alone", floor))
    checkout = Checkout(
        id="co-1",
        customer=Customer(id="c-1", first_name="Anna", locale="pl"),
        items=(LineItem("a", "Szalik", 1, Money("84.00", "PLN")),),
        total=Money("84.00", "PLN"),
        stage="payment",
        abandoned_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        link=LINK,
    )

    def send_path() -> None:
        values = message_context(
            checkout, store_name="Northwind Studio", channel=Channel.SMS, zone="Europe/Warsaw"
        )
        template = pack.find("remind", Channel.SMS, "pl_PL")
        guard(render(template, values), store_name="Northwind Studio")

    seconds, floor = per_call_pair(send_path, lambda: render(pl, context), number=5_000)
    report("context + find + render + guard, SMS pl", seconds, ("render alone", floor))


if __name__ == "__main__":
    main()
