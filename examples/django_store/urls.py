"""The example's URLs: the recovery app's webhooks under ``/webhooks/``."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("webhooks/", include("django_store.recovery.urls"))]
