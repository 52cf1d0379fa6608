"""Settings for the example shop: Django's few essentials and one ``RECOVERYKIT`` block.

Everything secret comes from the environment. While ``DEBUG`` is on (the default
here, as in a fresh ``startproject``), a missing secret falls back to a placeholder
so the project runs on a laptop and in tests; with ``DJANGO_DEBUG=0`` a missing
secret leaves that provider switched off (its webhook answers 404 and its channel
has no adapter), so a forgotten variable can never mean "accept anything".
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-example-key-for-local-runs-only")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = ["django_store.recovery"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "django_store.urls"
WSGI_APPLICATION = "django_store.wsgi.application"
# recoverykit keeps its own store (below); this project needs no Django database.
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
TIME_ZONE = "UTC"

# Behind a proxy that terminates TLS, let Django see the original scheme and host, or
# set RECOVERYKIT["PUBLIC_URL"]: providers sign the URL they called, not the one the
# application server sees.
if os.environ.get("DJANGO_BEHIND_PROXY") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True


def _secret(name: str) -> str:
    """The environment's value, else (only while DEBUG) a placeholder, else empty: off."""
    return os.environ.get(name) or (f"insecure-{name.lower()}" if DEBUG else "")


RECOVERYKIT = {
    # An SQLite path or a postgresql:// URL (recoverykit.stores.open_store).
    "DB": os.environ.get("RECOVERYKIT_DB", str(BASE_DIR / "recoverykit.sqlite3")),
    "STORE_NAME": os.environ.get("RECOVERYKIT_STORE_NAME", "Example Shop"),
    "PRESET": os.environ.get("RECOVERYKIT_PRESET", "three-touch"),
    # The public origin providers call, e.g. "https://shop.example"; empty: trust the request.
    "PUBLIC_URL": os.environ.get("RECOVERYKIT_PUBLIC_URL", ""),
    # Messages without a configured provider are printed instead of sent (local runs only).
    "CONSOLE_CHANNELS": DEBUG,
    # Webhook secrets.
    "TWILIO_AUTH_TOKEN": _secret("TWILIO_AUTH_TOKEN"),
    "META_APP_SECRET": _secret("META_APP_SECRET"),
    "META_VERIFY_TOKEN": _secret("META_VERIFY_TOKEN"),
    "TELEGRAM_SECRET_TOKEN": _secret("TELEGRAM_SECRET_TOKEN"),
    "TELEGRAM_START_KEY": _secret("TELEGRAM_START_KEY"),
    # The Shopify app's client secret (checkout and order webhooks); while rotating it,
    # put the previous one in SHOPIFY_PREVIOUS_SECRET until Shopify signs with the new one.
    "SHOPIFY_SECRET": _secret("SHOPIFY_SECRET"),
    "SHOPIFY_PREVIOUS_SECRET": os.environ.get("SHOPIFY_PREVIOUS_SECRET", ""),
    # Sending credentials: a channel gets its provider adapter only when these are set.
    "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID", ""),
    "TWILIO_FROM": os.environ.get("TWILIO_FROM", ""),
    "WHATSAPP_ACCESS_TOKEN": os.environ.get("WHATSAPP_ACCESS_TOKEN", ""),
    "WHATSAPP_PHONE_NUMBER_ID": os.environ.get("WHATSAPP_PHONE_NUMBER_ID", ""),
    "TELEGRAM_BOT_TOKEN": os.environ.get("TELEGRAM_BOT_TOKEN", ""),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_store": {"handlers": ["console"], "level": "INFO"}},
}
