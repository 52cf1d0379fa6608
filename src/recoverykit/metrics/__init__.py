"""Measuring recovery honestly: rates with intervals, lift against a holdout, experiments.

`Scorecard.from_events` reads the runner's log once and counts the funnel with a
Wilson interval on every rate; `Lift` compares the messaged arm with the
holdout (intention to treat) and says in words what the data shows; the
experiment check keeps variants to one changed variable; `health_warnings`
reads the rates against the domain's thresholds; `Report` and `render` put it
all in text, JSON, CSV or a self-contained HTML page. The interval functions
(`wilson_interval`, `newcombe_interval`, `required_sample`) are pure and use the
standard library alone.
"""

from __future__ import annotations

from .experiments import VariantComparison, check_variants, compare_variants, variant_differences
from .health import (
    THRESHOLDS,
    FrictionReport,
    HealthWarning,
    Threshold,
    friction_report,
    health_warnings,
)
from .lift import Arm, Lift
from .report import FORMATS, Report, render
from .scorecard import DIMENSIONS, Attribution, CheckoutOutcome, Counts, Rate, Scorecard
from .stats import newcombe_interval, required_sample, wilson_interval

__all__ = [
    "DIMENSIONS",
    "FORMATS",
    "THRESHOLDS",
    "Arm",
    "Attribution",
    "CheckoutOutcome",
    "Counts",
    "FrictionReport",
    "HealthWarning",
    "Lift",
    "Rate",
    "Report",
    "Scorecard",
    "Threshold",
    "VariantComparison",
    "check_variants",
    "compare_variants",
    "friction_report",
    "health_warnings",
    "newcombe_interval",
    "render",
    "required_sample",
    "variant_differences",
    "wilson_interval",
]
