"""A policy compiled once: the parts of a decision that depend on nothing but the policy.

``decide`` takes the policy as an argument on every call, and a runner passes the same
policy object to thousands of decisions. What follows from the policy alone (each
variant's sequence and pack, every touch's delay window as whole seconds, the contact
rules for a recipient's zone set, the channel order per region) is worked out the first
time a policy is seen and kept beside it, so a decision asks a dictionary instead of
walking the policy again.

A policy is a frozen value, so its identity is its version: a changed policy is a new
object and gets a plan of its own. Plans are held by identity with a weak reference, so
a plan never outlives its policy and a new policy that happens to reuse a freed
object's ``id`` never finds the old plan. Nothing here changes a result: each method is
the same function of its arguments as the code it stands in for (the equivalence
properties in ``tests/property/test_plan_speed_equivalence.py`` hold it to a frozen copy).
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from ..jurisdictions import ContactRules, rules_for
from ..messages.packs import MessagePack
from ..policies.caps import FrequencyCap
from ..policies.sequence import FIRST_TOUCH_MIN, LAST_TOUCH_MAX, RecoverySequence
from ..values.money import Money
from ..values.phone import PhoneNumber
from .policy import RecoveryPolicy

__all__ = ["CompiledPlan", "compiled"]

#: One touch's delay window as plain numbers: the window's start, its width in whole
#: seconds, and the ``":<index>"`` that follows the checkout id in the window's seed.
_Window = tuple[timedelta, int, str]

#: How many recipients' contact rules one plan keeps before starting afresh.
_RULES_LIMIT: Final = 4096
#: How many scaled window tables one plan keeps (a scale has three factors at most).
_SCALES_LIMIT: Final = 64


class CompiledPlan:
    """What a decision needs from one policy, prepared once and then only read.

    Built by ``compiled(policy)``; the caches inside grow only with what decisions
    asked for (recipients' zone sets, timing factors) and are bounded.
    """

    __slots__ = (
        "_caps",
        "_default_pack",
        "_default_sequence",
        "_default_windows",
        "_hours",
        "_jurisdiction",
        "_packs",
        "_rules",
        "_scaled",
        "_sequences",
        "_timing",
    )

    def __init__(self, policy: RecoveryPolicy) -> None:
        # The plan keeps the parts it reads, never the policy itself: a plan is held
        # for as long as its policy lives, and a reference back would keep both alive.
        self._default_sequence = policy.sequence
        self._default_pack = policy.pack
        self._hours = policy.contact_hours
        self._caps = tuple(cap for cap in policy.contact_caps if isinstance(cap, FrequencyCap))
        self._jurisdiction = policy.jurisdiction
        self._sequences: dict[str | None, RecoverySequence] = {}
        self._packs: dict[str | None, MessagePack] = {}
        for variant in policy.variants:  # the first of two same-named variants wins
            if variant.sequence is not None:
                self._sequences.setdefault(variant.name, variant.sequence)
            if variant.pack is not None:
                self._packs.setdefault(variant.name, variant.pack)
        self._default_windows = _windows(policy.sequence, 1.0)
        self._scaled: dict[tuple[int, float], tuple[_Window, ...]] = {}
        self._timing = policy.timing
        self._rules: dict[tuple[str | None, tuple[str, ...], str | None], ContactRules] = {}

    # -- the sequence ----------------------------------------------------------------------
    def sequence(self, variant: str | None) -> RecoverySequence:
        """``policy.sequence_for(variant)``: the variant's own sequence, else the policy's.

        When two variants share a name the first one wins, as in ``sequence_for``.
        """
        found = self._sequences.get(variant) if self._sequences else None
        return self._default_sequence if found is None else found

    def pack(self, variant: str | None) -> MessagePack:
        """``policy.pack_for(variant)``: the variant's own pack, else the policy's."""
        found = self._packs.get(variant) if self._packs else None
        return self._default_pack if found is None else found

    def planned_at(
        self,
        variant: str | None,
        index: int,
        abandoned_at: datetime,
        checkout_id: str,
        total: Money,
    ) -> datetime:
        """When touch ``index`` (0-based) of the variant's sequence falls, before hours and
        caps move it: ``sequence.planned_at`` with the policy's timing scale for ``total``,
        from window tables built once per sequence and factor."""
        timing = self._timing
        scale = timing.factor(total) if timing is not None else 1.0
        sequence = self.sequence(variant)
        if scale == 1.0 and sequence is self._default_sequence:
            windows = self._default_windows
        else:
            windows = self._windows_for(sequence, scale)
        earliest, span, suffix = windows[index]
        if span > 0:
            seed = (checkout_id + suffix).encode("utf-8", "replace")
            digest = hashlib.blake2b(seed, digest_size=8).digest()
            delay = earliest + timedelta(seconds=int.from_bytes(digest, "big") % (span + 1))
        else:
            delay = earliest
        if delay < FIRST_TOUCH_MIN:
            delay = FIRST_TOUCH_MIN
        elif delay > LAST_TOUCH_MAX:
            delay = LAST_TOUCH_MAX
        return abandoned_at + delay

    def _windows_for(self, sequence: RecoverySequence, scale: float) -> tuple[_Window, ...]:
        key = (id(sequence), scale)
        found = self._scaled.get(key)
        if found is None:
            if len(self._scaled) >= _SCALES_LIMIT:
                self._scaled.clear()
            # Every sequence a plan is asked about is one it holds (``sequence`` answers
            # from the plan), so an id here names the same sequence while the plan lives.
            found = self._scaled[key] = _windows(sequence, scale)
        return found

    # -- contact rules ---------------------------------------------------------------------
    def contact_rules(
        self, phone: str | None, zones: tuple[str, ...], country: str | None
    ) -> ContactRules:
        """The hours and caps for a recipient: the policy's own, narrowed by every rule that
        applies to their number, zones and country (``jurisdiction="auto"``)."""
        key = (phone, zones, country)
        found = self._rules.get(key)
        if found is None:
            if len(self._rules) >= _RULES_LIMIT:
                self._rules.clear()
            if self._jurisdiction == "off":
                found = ContactRules(hours=self._hours, caps=self._caps, applied=("policy",))
            else:
                number = None if phone is None else PhoneNumber.parse(phone)
                found = rules_for(number, zones, country, base=self._hours, caps=self._caps)
            self._rules[key] = found
        return found


def _windows(sequence: RecoverySequence, scale: float) -> tuple[_Window, ...]:
    """Each touch's window, scaled as ``DelayWindow.scaled`` scales it, in whole seconds."""
    tables: list[_Window] = []
    for index, touch in enumerate(sequence.touches):
        window = touch.delay if scale == 1.0 else touch.delay.scaled(scale)
        span = int((window.latest - window.earliest).total_seconds())
        tables.append((window.earliest, span, f":{index}"))
    return tuple(tables)


#: Plans by the ``id`` of their policy, each with a weak reference that proves the
#: policy is still the one the plan was built for.
_PLANS: Final[dict[int, tuple[weakref.ref[RecoveryPolicy], CompiledPlan]]] = {}


def compiled(policy: RecoveryPolicy) -> CompiledPlan:
    """The plan for ``policy``, built the first time this policy object is seen."""
    key = id(policy)
    entry = _PLANS.get(key)
    if entry is not None and entry[0]() is policy:
        return entry[1]
    plan = CompiledPlan(policy)
    _PLANS[key] = (weakref.ref(policy, _forget(key)), plan)
    return plan


def _forget(key: int) -> Callable[[weakref.ref[RecoveryPolicy]], None]:
    """A callback that drops the plan stored under ``key`` once its policy is gone
    (and only that plan: a new policy may already have taken the key)."""

    plans = _PLANS  # held here: at interpreter exit the module's globals may be gone

    def drop(gone: weakref.ref[RecoveryPolicy]) -> None:
        entry = plans.get(key)
        if entry is not None and entry[0] is gone:
            del plans[key]

    return drop
