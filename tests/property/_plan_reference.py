"""Frozen copies of the code the compiled plan (``engine/plan.py``) and its companions
replaced, as it stood before (issue 25, item 1). Do not edit them to follow the live
code: a different answer from the live code is a behaviour change.

- ``planned_at_reference``: ``machine._planned_at`` with ``RecoverySequence.planned_at``,
  ``DelayWindow.point`` and ``sequence._scaled`` inlined.
- ``contact_rules_reference``: ``machine._cached_rules`` / ``machine._rules``.
- ``usable_first_name_reference``: ``values.text.usable_first_name`` before its memo.
- ``loud_word_reference``: ``messages.tone.loud_word`` before it read letters by table.
- ``guard_errors_reference``: ``compose._guard_errors``, memoized on the whole
  ``Rendered`` value.
- ``check_channel_reference``: ``compose.check_channel`` before the refusals that hold
  whatever the consent says were memoized per recipient (``compose._gate``); the consent
  and program-limit steps it calls are the live ones, which that change left alone.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from recoverykit.engine.compose import (
    _GUARD,
    Refusal,
    _consent_refusal,
    channel_programs,
    program_limit,
    reachable,
)
from recoverykit.engine.policy import Context, RecoveryPolicy
from recoverykit.jurisdictions import ContactRules, rules_for
from recoverykit.messages.lint import guard
from recoverykit.messages.templates import Rendered
from recoverykit.policies.hours import ContactHours
from recoverykit.policies.sequence import FIRST_TOUCH_MIN, LAST_TOUCH_MAX, DelayWindow
from recoverykit.values.model import Channel, Customer
from recoverykit.values.money import Money
from recoverykit.values.text import first_name_problem

LOUD_WORD_LETTERS = 5


def _point_reference(window: DelayWindow, seed: str) -> timedelta:
    span = int((window.latest - window.earliest).total_seconds())
    if span <= 0:
        return window.earliest
    digest = hashlib.blake2b(seed.encode("utf-8", "replace"), digest_size=8).digest()
    return window.earliest + timedelta(seconds=int.from_bytes(digest, "big") % (span + 1))


def planned_at_reference(
    policy: RecoveryPolicy,
    variant: str | None,
    index: int,
    abandoned_at: datetime,
    checkout_id: str,
    total: Money,
) -> datetime:
    sequence = policy.sequence_for(variant)
    scale = policy.timing.factor(total) if policy.timing else 1.0
    window = sequence.touches[index].delay
    if scale != 1.0:
        window = window.scaled(scale)
    delay = _point_reference(window, f"{checkout_id}:{index}")
    delay = max(FIRST_TOUCH_MIN, min(delay, LAST_TOUCH_MAX))
    return abandoned_at + delay


@functools.lru_cache(maxsize=4096)
def _cached_rules_reference(
    phone: str | None,
    zones: tuple[str, ...],
    country: str | None,
    hours: ContactHours,
    caps: tuple[object, ...],
    jurisdiction: str,
) -> ContactRules:
    from recoverykit.policies.caps import FrequencyCap

    cap_values = tuple(cap for cap in caps if isinstance(cap, FrequencyCap))
    if jurisdiction == "off":
        return ContactRules(hours=hours, caps=cap_values, applied=("policy",))
    from recoverykit.values.phone import PhoneNumber

    number = None if phone is None else PhoneNumber.parse(phone)
    return rules_for(number, zones, country, base=hours, caps=cap_values)


def contact_rules_reference(
    policy: RecoveryPolicy, phone: str | None, zones: tuple[str, ...], country: str | None
) -> ContactRules:
    return _cached_rules_reference(
        phone, zones, country, policy.contact_hours, policy.contact_caps, policy.jurisdiction
    )


def usable_first_name_reference(name: str | None) -> str | None:
    if name is None or first_name_problem(name) is not None:
        return None
    return unicodedata.normalize("NFC", name).strip(" ")


def loud_word_reference(text: str, keywords: Iterable[str]) -> str | None:
    allowed = frozenset(keywords)
    for word in text.split():
        letters = "".join(c for c in word if c.isalpha())
        if len(letters) >= LOUD_WORD_LETTERS and letters.isupper() and letters not in allowed:
            return word
    return None


@functools.lru_cache(maxsize=256)
def guard_errors_reference(
    rendered: Rendered, store_name: str, hold_until_known: bool
) -> str | None:
    problems = [
        violation
        for violation in guard(
            rendered, _GUARD, store_name=store_name, hold_until_known=hold_until_known
        )
        if violation.level == "error"
    ]
    if not problems:
        return None
    return ", ".join(f"{v.code} {v.message}" for v in problems)


def check_channel_reference(
    customer: Customer,
    channel: Channel,
    policy: RecoveryPolicy,
    context: Context,
    at: datetime,
    *,
    sends: Mapping[Channel, int] | None = None,
    abandoned_at: datetime | None = None,
) -> Refusal | None:
    if customer.address_for(channel) is None:
        return Refusal("no_consent", f"no {channel.value} address")
    rules = channel_programs(customer, channel, policy)
    if rules.blocked_by is not None:
        return Refusal(
            "program",
            f"{rules.blocked_by}: {channel.value} cart templates are paused for this number",
            rules.blocked_by,
            move=True,
        )
    if not reachable(customer, channel, policy):
        return Refusal("no_consent", f"{channel.value} cannot reach this number")
    refusal = _consent_refusal(context.consent, customer, channel, at, policy, rules)
    if refusal is not None:
        return refusal
    return program_limit(rules, channel, at, sends=sends, abandoned_at=abandoned_at)
