"""Contact hours: ``allows`` and ``earliest`` for 1, 2 and 16 candidate zones, and caps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from benchmarks._timing import per_call, report
from recoverykit.jurisdictions import rules_for
from recoverykit.policies.caps import DEFAULT_RECOVERY_CAPS, ContactHistory, ContactRecord
from recoverykit.policies.hours import ContactHours
from recoverykit.policies.schedule import earliest_send
from recoverykit.values.model import Channel
from recoverykit.values.phone import PhoneNumber

ZONE_SETS = {
    "1 zone (Warsaw)": ("Europe/Warsaw",),
    "2 zones (Idaho)": PhoneNumber.parse("+12085551234").time_zones,
    "16 zones": (
        "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg",
        "Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk",
        "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka", "Asia/Anadyr", "Asia/Almaty",
        "Asia/Aqtobe", "Asia/Srednekolymsk",
    ),
}  # fmt: skip


def _bind(
    method: Callable[[datetime, Sequence[str]], object], instant: datetime, zones: Sequence[str]
) -> Callable[[], object]:
    return lambda: method(instant, zones)


def main() -> None:
    hours = ContactHours.preset("polite")
    # An evening instant: most zone sets must move to a later window.
    evening = datetime(2026, 3, 2, 19, 30, 15, tzinfo=UTC)
    noon = datetime(2026, 3, 2, 11, tzinfo=UTC)
    for label, zones in ZONE_SETS.items():
        hours.earliest(evening, zones)  # warm the per-day cache
        report(f"allows, {label}", per_call(_bind(hours.allows, noon, zones), number=50_000))
        report(
            f"earliest, {label}, warm",
            per_call(_bind(hours.earliest, evening, zones), number=20_000),
        )

    def cold() -> None:
        fresh = ContactHours.every_day(9, 20)
        fresh.earliest(evening, ZONE_SETS["16 zones"])

    report("earliest, 16 zones, cold (new value, empty cache)", per_call(cold, number=200))

    sent = ContactHistory(
        tuple(
            ContactRecord(at=evening - timedelta(hours=h), channel=Channel.SMS, checkout_id="c")
            for h in (2, 20, 40)
        )
    )
    cap = DEFAULT_RECOVERY_CAPS[0]
    report(
        "FrequencyCap.earliest, 3 touches",
        per_call(lambda: cap.earliest(evening, sent), number=20_000),
    )
    number = PhoneNumber.parse("+13055551234")
    report(
        "rules_for, Florida number",
        per_call(lambda: rules_for(number, number.time_zones), number=2_000),
    )
    rules = rules_for(number, number.time_zones)
    zones = number.time_zones
    rules.hours.earliest(evening, zones)
    report(
        "earliest_send, Florida, cap then hours",
        per_call(
            lambda: earliest_send(evening, zones, rules, sent, channel=Channel.SMS), number=5_000
        ),
    )


if __name__ == "__main__":
    main()
