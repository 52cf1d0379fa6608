"""Measuring recovery honestly: rates with intervals, lift against a holdout, experiments.

`Scorecard.from_events` reads the runner's log once and counts the funnel with a
Wilson interval on every rate; `Lift` compares the messaged arm with the
holdout (intention to treat) and says in words what the data shows; the
experiment check keeps variants to one changed variable; `health_warnings`
reads the rates against the domain's thresholds; `PriceTable` and `Cost` turn
the messages sent into spend per recovered and per incremental order; `Report`
and `render` put it all in text, JSON, CSV or a self-contained HTML page. The interval functions
(`wilson_interval`, `newcombe_interval`, `required_sample`) are pure and use the
standard library alone.
"""

from __future__ import annotations

from .cost import ChannelPrices, Cost, CostLine, PriceTable, Usage, country_of
from .experiments import VariantComparison, check_variants, compare_variants, variant_differences
from .health import (
    THRESHOLDS,
    FrictionReport,
    HealthWarning,
    Threshold,
    friction_report,
    health_warnings,
    lift_warnings,
)
from .lift import Arm, Lift
from .report import FORMATS, Report, render
from .scorecard import DIMENSIONS, Attribution, CheckoutOutcome, Counts, Rate, Scorecard
from .stats import newcombe_interval, required_sample, required_samples, wilson_interval

__all__ = [
    "DIMENSIONS",
    "FORMATS",
    "THRESHOLDS",
    "Arm",
    "Attribution",
    "ChannelPrices",
    "CheckoutOutcome",
    "Cost",
    "CostLine",
    "Counts",
    "FrictionReport",
    "HealthWarning",
    "Lift",
    "PriceTable",
    "Rate",
    "Report",
    "Scorecard",
    "Threshold",
    "Usage",
    "VariantComparison",
    "check_variants",
    "compare_variants",
    "country_of",
    "friction_report",
    "health_warnings",
    "lift_warnings",
    "newcombe_interval",
    "render",
    "required_sample",
    "required_samples",
    "variant_differences",
    "wilson_interval",
]
