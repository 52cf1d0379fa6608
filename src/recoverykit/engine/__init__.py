"""The engine: events, commands, notes, recovery state, the policy and ``decide``."""
