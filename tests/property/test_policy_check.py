"""The ready-made suite passes every preset and tells a readable story when a policy is wrong."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from recoverykit import (
    Channel,
    ContactHours,
    Customer,
    MemoryStore,
    RecoveryPolicy,
    SQLiteStore,
    presets,
)
from recoverykit.testing import PolicySuite, PolicyViolation, check_policy, policy_check

#: Stories per run here; the suite's own default is 50.
EXAMPLES = 25


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_keeps_every_invariant(name: str) -> None:
    """Each built-in sequence, with the default policy around it, passes the whole suite."""
    check_policy(
        RecoveryPolicy(store_name="Kettle & Co", sequence=presets.get(name)),
        max_examples=EXAMPLES,
        seed=7,
    )


def test_the_suite_runs_on_a_real_sqlite_store() -> None:
    """The same stories pass through SQLiteStore, the store most users run."""
    check_policy(
        RecoveryPolicy(store_name="Kettle & Co"),
        max_examples=10,
        store=lambda: SQLiteStore(":memory:"),
        seed=3,
    )


#: The how-to's evening policy: open until 22:00, which no rule narrows for a Brazilian
#: number, so a touch can land at 21:xx: night by the quiet floor.
EVENINGS = RecoveryPolicy(store_name="Kettle & Co", contact_hours=ContactHours.every_day(8, 22))


def test_a_policy_that_sends_at_night_in_one_zone_fails_with_a_story() -> None:
    """The failure names the touch, its local time, the zone and the rule, after the story.

    The story is the one the how-to shows (Hypothesis found it with seed=2): a São
    Paulo mobile, a cart left at 13:03, the last touch landing at 21:00.
    """
    story = policy_check._Story(
        start=datetime(2026, 3, 6, 14, 0, tzinfo=UTC),
        people=(
            policy_check._Person(
                Customer(id="cus-1", phone="+5511961234567", locale="en"), (Channel.SMS,), False
            ),
        ),
        carts=((123, 0, 1),),
        steps=(),
    )
    with pytest.raises(PolicyViolation) as caught:
        policy_check._play(EVENINGS, story, MemoryStore, policy_check.QUIET_FLOOR)
    lines = caught.value.lines
    assert re.fullmatch(r"touch \d sent (2[1-3]|0[0-7]):\d\d [A-Za-z_/]+: quiet hours.*", lines[-1])
    assert lines[0].startswith("story from ")
    assert any(" abandons chk-" in line for line in lines)
    assert str(caught.value).endswith(lines[-1])


def test_the_fixed_window_passes() -> None:
    """Ending the window at 21:00, as the how-to advises, passes the same stories."""
    fixed = RecoveryPolicy(store_name="Kettle & Co", contact_hours=ContactHours.every_day(8, 21))
    check_policy(fixed, max_examples=EXAMPLES, seed=1)


def test_without_the_quiet_floor_only_the_policys_own_rules_apply() -> None:
    """quiet_hours=None judges by the policy's hours alone, which this policy keeps."""
    check_policy(EVENINGS, max_examples=EXAMPLES, quiet_hours=None, seed=5)


class TestPoliteDefaults(PolicySuite):
    """A store's test module needs only this: its policy, and the class to subclass."""

    policy = RecoveryPolicy(store_name="Sklep Ola")
    max_examples = 15
