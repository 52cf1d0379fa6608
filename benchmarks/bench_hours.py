"""Contact hours: ``allows`` and ``earliest`` for 1, 2 and 16 candidate zones, and caps.

Each figure stands beside a floor measured in the same run: converting the instant
into every candidate zone once (``datetime.astimezone``), the least a check of local
hours must do; for the caps, one pass over the history's instants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from benchmarks._timing import per_call_pair, report
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


def _local_times(instant: datetime, zones: Sequence[str]) -> Callable[[], object]:
    """The floor: the instant in each candidate zone, zones already loaded."""
    loaded = [ZoneInfo(zone) for zone in zones]
    return lambda: [instant.astimezone(zone) for zone in loaded]


def main() -> None:
    hours = ContactHours.preset("polite")
    # An evening instant: most zone sets must move to a later window.
    evening = datetime(2026, 3, 2, 19, 30, 15, tzinfo=UTC)
    noon = datetime(2026, 3, 2, 11, tzinfo=UTC)
    for label, zones in ZONE_SETS.items():
        hours.earliest(evening, zones)  # warm the per-day cache
        floor_name = f"astimezone x{len(zones)}"
        seconds, floor = per_call_pair(
            _bind(hours.allows, noon, zones), _local_times(noon, zones), number=50_000
        )
        report(f"allows, {label}", seconds, (floor_name, floor))
        seconds, floor = per_call_pair(
            _bind(hours.earliest, evening, zones), _local_times(evening, zones), number=20_000
        )
        report(f"earliest, {label}, warm", seconds, (floor_name, floor))

    def cold() -> None:
        fresh = ContactHours.every_day(9, 20)
        fresh.earliest(evening, ZONE_SETS["16 zones"])

    seconds, floor = per_call_pair(
        cold, _local_times(evening, ZONE_SETS["16 zones"]), number=200, floor_number=20_000
    )
    report("earliest, 16 zones, cold (new value, empty cache)", seconds, ("astimezone x16", floor))

    sent = ContactHistory(
        tuple(
            ContactRecord(at=evening - timedelta(hours=h), channel=Channel.SMS, checkout_id="c")
            for h in (2, 20, 40)
        )
    )
    cap = DEFAULT_RECOVERY_CAPS[0]
    instants = [record.at for record in sent.records]
    seconds, floor = per_call_pair(
        lambda: cap.earliest(evening, sent),
        lambda: [at for at in instants if evening - at < timedelta(hours=12)],
        number=20_000,
    )
    report("FrequencyCap.earliest, 3 touches", seconds, ("one pass over 3 instants", floor))
    number = PhoneNumber.parse("+13055551234")
    memo = {number.e164: number}
    seconds, floor = per_call_pair(
        lambda: rules_for(number, number.time_zones),
        lambda: memo.get(number.e164),
        number=2_000,
        floor_number=20_000,
    )
    report("rules_for, Florida number (memoized)", seconds, ("one dict look-up", floor))
    rules = rules_for(number, number.time_zones)
    zones = number.time_zones
    rules.hours.earliest(evening, zones)
    seconds, floor = per_call_pair(
        lambda: earliest_send(evening, zones, rules, sent, channel=Channel.SMS),
        _local_times(evening, zones),
        number=5_000,
    )
    report("earliest_send, Florida, cap then hours", seconds, (f"astimezone x{len(zones)}", floor))


if __name__ == "__main__":
    main()
