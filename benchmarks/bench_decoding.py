"""Reading stored states back: the checked loaders against the store's trusted path.

CPU time, each figure beside its floor from the same run. A checkout and a whole
recovery state (the shape ``bench_runner`` claims: one item, a few notes) are read
from the JSON a store keeps, once through the checked loaders that validate every
field (``Checkout.from_dict``, ``RecoveryState.from_dict``) and once through the
trusted path a stamped row takes (``stores.trusted``). The floor is ``json.loads``
of the same text: parsing it is work no decoder avoids.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import attrs

from benchmarks._timing import per_call_pair, report
from benchmarks.bench_runner import T0, _deferrals
from recoverykit.engine.state import RecoveryState
from recoverykit.stores.codec import dumps, state_to_json
from recoverykit.stores.trusted import state_from_stored, trusted_checkout
from recoverykit.testing.store_contract import active, with_checkout
from recoverykit.values.model import Checkout


def _versus(
    what: str, checked: Callable[[], object], fast: Callable[[], object], text: str, number: int
) -> None:
    """Time both readers of ``text`` beside ``json.loads`` of it, and their ratio."""

    def parse() -> object:
        return json.loads(text)

    slow, floor = per_call_pair(checked, parse, number=number)
    report(f"{what}: checked loader", slow, ("json.loads of it", floor))
    seconds, floor = per_call_pair(fast, parse, number=number)
    report(f"{what}: trusted path (a stamped row)", seconds, ("json.loads of it", floor))
    print(f"  {what + ': trusted is':<52} {slow / seconds:9.1f}× faster than checked")


def main() -> None:
    state = attrs.evolve(
        with_checkout(active("co-1", "cust-1"), T0 - timedelta(hours=1)), notes=_deferrals(4)
    )
    assert state.checkout is not None
    checkout_text = dumps(state.checkout.to_dict())
    checkout_data = json.loads(checkout_text)
    _versus(
        "Checkout",
        lambda: Checkout.from_dict(checkout_data),
        lambda: trusted_checkout(checkout_data),
        checkout_text,
        2_000,
    )
    state_text = state_to_json(state)
    stamped = json.loads(state_text)
    unstamped = state.to_dict()
    _versus(
        "RecoveryState",
        lambda: RecoveryState.from_dict(unstamped),
        lambda: state_from_stored(stamped),
        state_text,
        1_000,
    )


if __name__ == "__main__":
    main()
