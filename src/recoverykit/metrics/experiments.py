"""Experiments that change one thing at a time, and how their variants compare.

A result can be read only when the variants differ in exactly one variable: the
touch-1 delay, a touch's channel, a touch's message key, the discount rule, the
message pack, or the whole sequence preset. `check_variants` names that variable
and raises `ExperimentError` naming every difference when there is more than one.
`compare_variants` reads the scorecard's per-variant counts with the same
statistics as the holdout comparison, and says when the planned sample is not
reached yet.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..engine.policy import RecoveryPolicy, Variant
from ..errors import ExperimentError, InvalidInputError
from ..policies.sequence import RecoverySequence
from ..presets import PRESETS
from .scorecard import NONE_LABEL, Scorecard
from .stats import newcombe_interval, required_sample

__all__ = ["VariantComparison", "check_variants", "compare_variants", "variant_differences"]


def _is_preset(sequence: RecoverySequence) -> bool:
    return PRESETS.get(sequence.name) == sequence


def _sequence_differences(first: RecoverySequence, second: RecoverySequence) -> list[str]:
    """The variables two sequences differ in; one field changed on several touches is one."""
    if first == second:
        return []
    if first.name != second.name and _is_preset(first) and _is_preset(second):
        return ["sequence preset"]
    if len(first.touches) != len(second.touches):
        return ["number of touches"]
    touched: dict[str, list[int]] = {}
    for index, (a, b) in enumerate(zip(first.touches, second.touches, strict=True), start=1):
        for variable, differs in (
            ("delay", a.delay != b.delay),
            ("channel", a.channel != b.channel),
            ("message key", a.message != b.message),
            ("purpose", a.purpose != b.purpose or a.condition != b.condition),
            ("discount rule", a.discount != b.discount),
        ):
            if differs:
                touched.setdefault(variable, []).append(index)
    return [_variable_name(variable, indexes) for variable, indexes in touched.items()]


def _variable_name(variable: str, indexes: list[int]) -> str:
    if variable == "discount rule":
        return variable
    if len(indexes) == 1:
        return f"touch-{indexes[0]} {variable}"
    return f"{variable} (touches {', '.join(map(str, indexes))})"


def variant_differences(policy: RecoveryPolicy, first: Variant, second: Variant) -> list[str]:
    """Every variable in which two variants of ``policy`` differ, in touch order."""
    found = _sequence_differences(policy.sequence_for(first.name), policy.sequence_for(second.name))
    if policy.pack_for(first.name) != policy.pack_for(second.name):
        found.append("message pack")
    return found


def check_variants(policy: RecoveryPolicy) -> str | None:
    """The one variable the policy's variants differ in; ``None`` without an experiment.

    Every variant is compared with the first (the control). All of them must
    differ from it in the same single variable; two differences in one pair raise
    `ExperimentError` naming both.
    """
    variants = policy.variants
    if len(variants) < 2:
        return None
    names = [variant.name for variant in variants]
    if len(set(names)) != len(names):
        msg = f"Variant names must be unique (got {names}); rename the duplicates"
        raise InvalidInputError(msg)
    control = variants[0]
    variable: str | None = None
    for other in variants[1:]:
        found = variant_differences(policy, control, other)
        if len(found) > 1:
            raise ExperimentError((control.name, other.name), found)
        if not found:
            msg = (
                f"Variants {control.name!r} and {other.name!r} are identical; "
                "give the treatment its own sequence or pack"
            )
            raise InvalidInputError(msg)
        if variable is not None and found[0] != variable:
            raise ExperimentError((control.name, other.name), [variable, found[0]])
        variable = found[0]
    return variable


@attrs.frozen
class VariantComparison:
    """One treatment variant against the control, on attributed recovery per messaged checkout."""

    control: str
    treatment: str
    control_n: int
    control_recovered: int
    treatment_n: int
    treatment_recovered: int
    difference: float | None
    ci: tuple[float, float] | None
    planned_per_arm: int | None
    #: ``True`` while either arm is below the planned sample: read with care.
    early: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": {"name": self.control, "n": self.control_n,
                        "recovered": self.control_recovered},
            "treatment": {"name": self.treatment, "n": self.treatment_n,
                          "recovered": self.treatment_recovered},
            "difference": self.difference,
            "ci": None if self.ci is None else list(self.ci),
            "planned_per_arm": self.planned_per_arm,
            "early": self.early,
        }  # fmt: skip


def compare_variants(
    card: Scorecard,
    *,
    control: str | None = None,
    baseline: float = 0.10,
    detectable: float = 0.03,
) -> list[VariantComparison]:
    """Each variant against ``control`` (default: the first in name order).

    ``baseline`` and ``detectable`` plan the sample size: the expected control
    recovery rate and the smallest difference worth seeing.
    """
    rows = {name: counts for name, counts in card.by.get("variant", {}).items()
            if name != NONE_LABEL}  # fmt: skip
    if len(rows) < 2:
        return []
    names = sorted(rows)
    chosen = names[0] if control is None else control
    if chosen not in rows:
        msg = f"Unknown control variant {chosen!r}; the log has {', '.join(names)}"
        raise InvalidInputError(msg)
    planned = required_sample(baseline, min(baseline + detectable, 0.999))
    base = rows[chosen]
    result: list[VariantComparison] = []
    for name in names:
        if name == chosen:
            continue
        other = rows[name]
        difference: float | None = None
        ci: tuple[float, float] | None = None
        if base.messaged and other.messaged:
            difference = other.recovered / other.messaged - base.recovered / base.messaged
            ci = newcombe_interval(
                other.recovered, other.messaged, base.recovered, base.messaged, card.confidence
            )
        result.append(
            VariantComparison(
                control=chosen,
                treatment=name,
                control_n=base.messaged,
                control_recovered=base.recovered,
                treatment_n=other.messaged,
                treatment_recovered=other.recovered,
                difference=difference,
                ci=ci,
                planned_per_arm=planned,
                early=min(base.messaged, other.messaged) < planned,
            )
        )
    return result
