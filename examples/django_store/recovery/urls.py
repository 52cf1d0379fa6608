"""One URL per provider webhook; give each provider exactly these URLs (they are signed)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "recovery"
urlpatterns = [
    path("twilio/sms/", views.twilio_sms, name="twilio-sms"),
    path("twilio/status/", views.twilio_status, name="twilio-status"),
    path("whatsapp/", views.whatsapp, name="whatsapp"),
    path("telegram/", views.telegram, name="telegram"),
    path("shopify/", views.shopify, name="shopify"),
]
