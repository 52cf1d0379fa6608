"""Write a big scenario file for ``recoverykit simulate``: every checkout spelled out.

Run with ``python -m benchmarks.make_scenario OUT.json [--checkouts 75000] [--seed 7]``.
A scenario's ``traffic`` setting makes checkouts inside the simulator; this writes
them into the file instead (customers with their consent, checkouts, orders and
replies, and receipts for every touch), so loading and streaming a file of tens of
megabytes can be measured. The same settings always write the same file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from recoverykit.engine.events import OrderPlaced, ReplyReceived
from recoverykit.engine.policy import RecoveryPolicy
from recoverykit.runtime.traffic import Traffic

START = datetime(2026, 3, 10, tzinfo=UTC)
POLICY: dict[str, Any] = {"holdout": 0.1, "channels": ["sms", "whatsapp", "email"]}


def write_scenario(out: TextIO, checkouts: int, *, seed: int = 7, days: int = 7) -> None:
    """Write the scenario JSON to ``out``, one array element per line."""
    policy = RecoveryPolicy(store_name="Big Shop", holdout=POLICY["holdout"])
    batch = Traffic(checkouts, seed=seed, days=days).generate(START, policy)
    consent: dict[str, list[dict[str, Any]]] = {}
    for grant in batch.consent:
        consent.setdefault(grant.customer_id, []).append(
            {key: value for key, value in grant.to_dict().items() if key != "customer_id"}
        )
    head = {
        "description": f"{checkouts} generated checkouts, written out in full",
        "store": {"name": "Big Shop", "locale": "en"},
        "policy": POLICY,
        "receipts": {"seed": seed},
        "start": START.isoformat(),
    }
    out.write(json.dumps(head, ensure_ascii=False)[:-1])
    _array(out, "customers", (_customer(c, consent.get(c.id, [])) for c in batch.customers))
    _array(out, "checkouts", (_checkout(c) for c in batch.checkouts))
    _array(out, "events", (_event(e) for e in batch.events))
    out.write("\n}\n")


def _array(out: TextIO, key: str, items: Iterator[dict[str, Any]]) -> None:
    out.write(f',\n"{key}": [')
    for index, item in enumerate(items):
        out.write(("\n" if index == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
    out.write("\n]")


def _customer(customer: Any, grants: list[dict[str, Any]]) -> dict[str, Any]:
    data = {
        "id": customer.id,
        "phone": customer.phone,
        "locale": customer.locale,
        "timezone": customer.timezone,
        "country": customer.country,
        "orders_count": customer.orders_count,
    }
    return {**{key: value for key, value in data.items() if value is not None}, "consent": grants}


def _checkout(checkout: Any) -> dict[str, Any]:
    data = checkout.to_dict()
    data["customer"] = checkout.customer.id
    return {key: value for key, value in data.items() if value is not None}


def _event(event: Any) -> dict[str, Any]:
    if isinstance(event, OrderPlaced):
        return {
            "at": event.at.isoformat(),
            "type": "order_placed",
            "checkout": event.checkout_id,
            "order_id": event.order_id,
        }
    assert isinstance(event, ReplyReceived)
    return {
        "at": event.at.isoformat(),
        "type": "reply",
        "customer": event.customer_id,
        "channel": event.channel.value,
        "text": event.reply.text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--checkouts", type=int, default=75_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as out:
        write_scenario(out, args.checkouts, seed=args.seed)


if __name__ == "__main__":
    main()
