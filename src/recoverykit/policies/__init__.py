"""Policies: consent, contact hours, caps, schedules, replies, sequences, discounts and stock."""
