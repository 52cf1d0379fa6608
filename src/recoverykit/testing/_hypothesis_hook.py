"""Registered under Hypothesis' entry point: teaches ``st.from_type`` our values."""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:
    from .strategies import register_type_strategies  # noqa: PLC0415 - only when asked

    register_type_strategies()
