"""Test doubles and Hypothesis strategies for code that embeds recoverykit."""
