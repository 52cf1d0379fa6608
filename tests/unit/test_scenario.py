"""Scenario files: validation with JSON paths, classification at load, the timeline."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recoverykit.engine.events import CheckoutAbandoned, ConsentChanged, OrderPlaced, ReplyReceived
from recoverykit.errors import DefinitionError
from recoverykit.policies.replies import Intent
from recoverykit.runtime.scenario import (
    DEFAULT_RUN_ON,
    DeliveryReport,
    Scenario,
    load_plan_input,
)
from recoverykit.values.model import Channel


def minimal() -> dict[str, Any]:
    return {
        "store": {"name": "Fern & Co", "locale": "en"},
        "customers": [
            {
                "id": "c1",
                "first_name": "Ola",
                "phone": "+48601234567",
                "locale": "pl",
                "consent": [
                    {
                        "channel": "sms",
                        "purpose": "recovery",
                        "action": "granted",
                        "at": "2026-03-10T09:00:00Z",
                        "source": "checkout_checkbox",
                        "text": "Tak, przypomnij mi SMS-em.",
                        "version": "1",
                    }
                ],
            },
            {"id": "c2", "email": "kim@example.com"},
        ],
        "checkouts": [
            {
                "id": "k1",
                "customer": "c1",
                "abandoned_at": "2026-03-10T10:00:00Z",
                "link": "https://fern.example/r/k1",
                "items": [
                    {
                        "sku": "S1",
                        "name": "Kubek",
                        "quantity": 1,
                        "unit_price": {"amount": "39.00", "currency": "PLN"},
                    }
                ],
                "total": {"amount": "39.00", "currency": "PLN"},
            }
        ],
        "events": [
            {"at": "2026-03-10T12:00:00Z", "type": "reply", "customer": "c1", "channel": "sms",
             "text": "STOP"},
            {"at": "2026-03-10T10:00:00Z", "type": "order_placed", "checkout": "k1"},
            {"at": "2026-03-10T11:00:00Z", "type": "delivery", "checkout": "k1", "touch": 1},
        ],
    }  # fmt: skip


def problem_paths(data: Any) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        Scenario.from_dict(data)
    return [problem.path for problem in caught.value.problems]


def test_minimal_scenario_loads_with_defaults() -> None:
    """Missing policy keys take the defaults; the store locale fills a customer's locale."""
    scenario = Scenario.from_dict(minimal())
    assert scenario.store_name == "Fern & Co"
    assert scenario.policy.sequence.name == "three-touch"
    assert tuple(c.id for c in scenario.customers) == ("c1", "c2")
    assert scenario.customers[1].locale == "en"
    assert len(scenario.consent) == 1
    assert datetime(2026, 3, 10, 10, tzinfo=UTC) == scenario.start
    assert datetime(2026, 3, 10, 12, tzinfo=UTC) + DEFAULT_RUN_ON == scenario.until


def test_replies_are_classified_at_load() -> None:
    """A reply's text becomes a classified ReplyReceived for the named customer."""
    scenario = Scenario.from_dict(minimal())
    replies = [e for e in scenario.events if isinstance(e, ReplyReceived)]
    assert [(r.customer_id, r.channel, r.reply.intent) for r in replies] == [
        ("c1", Channel.SMS, Intent.OPT_OUT)
    ]


def test_timeline_is_in_time_order_with_abandonments_first_on_ties() -> None:
    """Abandonments and events merge by time; an abandonment goes first on a tie."""
    timeline = Scenario.from_dict(minimal()).timeline()
    kinds = [type(item).__name__ for item in timeline]
    assert kinds == ["CheckoutAbandoned", "OrderPlaced", "DeliveryReport", "ReplyReceived"]
    assert isinstance(timeline[0], CheckoutAbandoned)
    assert isinstance(timeline[1], OrderPlaced)


def test_delivery_without_channel_is_resolved_later() -> None:
    """A delivery report may leave out the channel; it resolves to the touch's channel."""
    report = next(e for e in Scenario.from_dict(minimal()).events if isinstance(e, DeliveryReport))
    assert report.channel is None
    assert type(report.resolve(Channel.WHATSAPP)).__name__ == "MessageDelivered"
    assert report.resolve(Channel.WHATSAPP).channel == Channel.WHATSAPP


def test_consent_event_becomes_consent_changed() -> None:
    """A ``consent`` event names its customer and carries a full ledger event."""
    data = minimal()
    data["events"] = [
        {"at": "2026-03-10T13:00:00Z", "type": "consent", "customer": "c2", "channel": "email",
         "purpose": "recovery", "action": "granted", "source": "account_settings"}
    ]  # fmt: skip
    (event,) = Scenario.from_dict(data).events
    assert isinstance(event, ConsentChanged)
    assert (event.event.customer_id, event.event.channel) == ("c2", Channel.EMAIL)


def test_every_problem_is_reported_with_its_path() -> None:
    """One load reports all problems at once, each with its JSON path."""
    data = minimal()
    data["policy"] = {
        "sequence": "four-touch",
        "contact_hours": "night-owl",
        "holdout": 1.5,
        "caps": [{"limit": 0, "per": "12h"}, {"limit": 1, "per": "soon"}],
        "channels": ["sms", "pigeon"],
        "jurisdiction": "maybe",
        "colour": "blue",
    }
    data["customers"][1]["phone"] = "+1 555"
    data["checkouts"][0]["customer"] = "nobody"
    data["events"].append({"at": "2026-03-10T12:00:00Z", "type": "teleport"})
    data["events"].append({"at": "yesterday", "type": "click", "checkout": "k9"})
    paths = problem_paths(data)
    for expected in (
        "$.policy.sequence",
        "$.policy.contact_hours",
        "$.policy.holdout",
        "$.policy.caps[0]",
        "$.policy.caps[1].per",
        "$.policy.channels",
        "$.policy.jurisdiction",
        "$.policy.colour",
        "$.customers[1].phone",
        "$.checkouts[0].customer",
        "$.events[3].type",
        "$.events[4].at",
        "$.events[4].checkout",
    ):
        assert expected in paths


def test_events_must_name_known_customers_and_checkouts() -> None:
    """An event naming an unknown customer or checkout is a problem at that path."""
    data = minimal()
    data["events"] = [
        {"at": "2026-03-10T12:00:00Z", "type": "reply", "customer": "ghost", "channel": "sms",
         "text": "hi"},
        {"at": "2026-03-10T12:00:00Z", "type": "cart_emptied", "checkout": "k2"},
        {"at": "2026-03-10T12:00:00Z", "type": "delivery", "checkout": "k1", "touch": 1,
         "status": "bounced"},
    ]  # fmt: skip
    assert problem_paths(data) == [
        "$.events[0].customer",
        "$.events[1].checkout",
        "$.events[2].status",
    ]


def test_duplicate_ids_are_refused() -> None:
    """Customer and checkout ids must be unique within a scenario."""
    data = minimal()
    data["customers"].append(copy.deepcopy(data["customers"][1]))
    data["checkouts"].append(copy.deepcopy(data["checkouts"][0]))
    assert problem_paths(data) == ["$.customers[2].id", "$.checkouts[1].id"]


def test_inline_sequence_and_hours_load() -> None:
    """The policy takes an inline sequence and weekday hours as well as preset names."""
    data = minimal()
    data["policy"] = {
        "sequence": {
            "name": "one-touch",
            "touches": [{"delay": "45m", "purpose": "remind", "message": "remind"}],
        },
        "contact_hours": {"mon": [["10:00", "18:00"]], "tue": [["10:00", "18:00"]]},
        "caps": [{"limit": 2, "per": "1d", "channels": ["sms"]}],
        "holdout": 0.1,
        "jurisdiction": "off",
    }
    policy = Scenario.from_dict(data).policy
    assert (policy.sequence.name, len(policy.sequence.touches)) == ("one-touch", 1)
    assert (2, timedelta(days=1)) == (policy.caps[0].limit, policy.caps[0].per)
    assert (policy.holdout, policy.jurisdiction) == (0.1, "off")


def test_inline_sequence_problems_keep_their_paths() -> None:
    """A broken inline sequence reports paths inside ``$.policy.sequence``."""
    data = minimal()
    data["policy"] = {"sequence": {"touches": [{"delay": "never", "message": "remind"}]}}
    assert any(p.startswith("$.policy.sequence.touches[0]") for p in problem_paths(data))


def test_until_must_follow_start() -> None:
    """``until`` before ``start`` is a problem, not an empty run."""
    data = minimal()
    data["start"] = "2026-03-11T00:00:00Z"
    data["until"] = "2026-03-10T00:00:00Z"
    assert problem_paths(data) == ["$.until"]


def test_load_reports_unreadable_files(tmp_path: Path) -> None:
    """A file that is not JSON is reported as a problem at ``$`` naming the file."""
    path = tmp_path / "broken.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(DefinitionError, match=r"broken\.json") as caught:
        Scenario.load(path)
    assert [p.path for p in caught.value.problems] == ["$"]
    good = tmp_path / "good.json"
    good.write_text(json.dumps(minimal()), "utf-8")
    assert Scenario.load(good).store_name == "Fern & Co"


def test_plan_input_assumes_consent_only_when_none_is_given() -> None:
    """A plan file without consent assumes a grant on each reachable channel, and says so."""
    data = minimal()
    customer = {key: v for key, v in data["customers"][0].items() if key != "consent"}
    plain = load_plan_input({"checkout": {**data["checkouts"][0], "customer": customer}})
    assert plain.assumed_consent
    assert {Channel.SMS, Channel.WHATSAPP} == {event.channel for event in plain.consent}
    given = load_plan_input({"checkout": data["checkouts"][0], "customer": data["customers"][0]})
    assert not given.assumed_consent
    with pytest.raises(DefinitionError) as caught:
        load_plan_input({"checkout": data["checkouts"][0], "customer": {"id": ""}})
    assert all(p.path.startswith("$.customer") or p.path.startswith("$.checkout")
               for p in caught.value.problems)  # fmt: skip
