"""The recovery app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class RecoveryConfig(AppConfig):  # type: ignore[misc]  # Django ships no type hints here
    name = "django_store.recovery"
    label = "recovery"
    verbose_name = "Checkout recovery"
