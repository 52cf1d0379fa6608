"""Channel adapters that ship with recoverykit (provider adapters are optional extras)."""

from __future__ import annotations

from .console import ConsoleChannel

__all__ = ["ConsoleChannel"]
