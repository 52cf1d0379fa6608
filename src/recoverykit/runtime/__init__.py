"""The runtime: the runner, scenarios, the simulation stand-ins and the command line.

Every name below is loaded on first use (``recoverykit._lazy``), so importing the
package costs nothing until a name is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .._lazy import exports

if TYPE_CHECKING:
    from .runner import Runner
    from .scenario import DeliveryReport, Scenario, ScenarioEvent, load_scenario
    from .simulated import FakeClock, FakeDiscountIssuer

#: Submodule -> the names this package exports from it.
_EXPORTS: Final = {
    "runner": ("Runner",),
    "scenario": ("DeliveryReport", "Scenario", "ScenarioEvent", "load_scenario"),
    "simulated": ("FakeClock", "FakeDiscountIssuer"),
}

__all__ = [
    "DeliveryReport",
    "FakeClock",
    "FakeDiscountIssuer",
    "Runner",
    "Scenario",
    "ScenarioEvent",
    "load_scenario",
]

# Hidden from type checkers, which see the TYPE_CHECKING imports and flag any other name.
if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS)
