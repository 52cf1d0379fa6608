"""Measuring recovery honestly: rates with intervals, differences, and sample sizes.

`wilson_interval` gives a rate's confidence interval, `newcombe_interval` the
interval for the difference between two rates (messaged arm against holdout),
and `required_sample` how many checkouts each arm needs before a difference of a
given size can be seen. All are pure functions on the standard library.
"""

from __future__ import annotations

from .stats import newcombe_interval, required_sample, wilson_interval

__all__ = ["newcombe_interval", "required_sample", "wilson_interval"]
