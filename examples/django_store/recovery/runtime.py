"""One runner and one set of webhook parsers per process, built on first use.

Django imports views before it serves anything, and a process manager may fork
after importing; opening the store lazily gives every worker process its own
connection. Every thread of a process shares the one ``Runner``: it keeps no state
of its own, and the store serialises access to its connection.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Mapping
from typing import Any

import attrs
from django.conf import settings
from django.test.signals import setting_changed
from django.urls import reverse

from recoverykit import Channel, RecoveryPolicy, Runner, SystemClock, presets
from recoverykit.channels.console import ConsoleChannel
from recoverykit.protocols import ChannelAdapter, Clock
from recoverykit.sources.shopify import ShopifySource
from recoverykit.stores import open_store
from recoverykit.webhooks import MetaWebhooks, StartLinks, TelegramWebhooks, TwilioWebhooks

__all__ = ["Recovery", "build", "close", "current", "install", "tick"]


@attrs.frozen
class Recovery:
    """What the views and the tick command need; a parser is ``None`` when its secret is unset."""

    runner: Runner
    twilio: TwilioWebhooks | None
    meta: MetaWebhooks | None
    telegram: TelegramWebhooks | None
    shopify: ShopifySource | None = None


def build(
    config: Mapping[str, Any],
    *,
    clock: Clock | None = None,
    channels: Mapping[Channel, ChannelAdapter] | None = None,
) -> Recovery:
    """Open the store and wire the runner and parsers from a ``RECOVERYKIT`` settings block.

    ``clock`` and ``channels`` default to the real clock and the adapters the
    settings configure; tests pass a ``FakeClock`` and fake channels.
    """
    clock = clock or SystemClock()
    runner = Runner(
        RecoveryPolicy(store_name=config["STORE_NAME"], sequence=presets.get(config["PRESET"])),
        open_store(config["DB"]),
        _channels(config, clock) if channels is None else channels,
        clock,
        worker=f"{socket.gethostname()}-{os.getpid()}",
    )
    start_key = config["TELEGRAM_START_KEY"]
    return Recovery(
        runner=runner,
        twilio=TwilioWebhooks(auth_token=config["TWILIO_AUTH_TOKEN"])
        if config["TWILIO_AUTH_TOKEN"]
        else None,
        meta=MetaWebhooks(
            app_secret=config["META_APP_SECRET"], verify_token=config["META_VERIFY_TOKEN"]
        )
        if config["META_APP_SECRET"] and config["META_VERIFY_TOKEN"]
        else None,
        telegram=TelegramWebhooks(
            secret_token=config["TELEGRAM_SECRET_TOKEN"],
            start_links=StartLinks({"k": start_key}),
        )
        if config["TELEGRAM_SECRET_TOKEN"] and start_key
        else None,
        shopify=_shopify(config),
    )


def _shopify(config: Mapping[str, Any]) -> ShopifySource | None:
    """The Shopify source when its secret is set (the previous one too, while rotating)."""
    secrets = [config.get("SHOPIFY_SECRET", ""), config.get("SHOPIFY_PREVIOUS_SECRET", "")]
    found = [secret for secret in secrets if secret]
    return ShopifySource(secret=found) if found else None


def _channels(config: Mapping[str, Any], clock: Clock) -> dict[Channel, ChannelAdapter]:
    """Provider adapters where credentials are set; console stand-ins only if allowed.

    A channel left without an adapter fails permanently and the engine moves on to
    the customer's next channel, which is what a production shop without, say, a
    Telegram bot wants. Provider adapters need ``recoverykit[channels]`` (httpx), so
    they are imported only when configured.
    """
    adapters: dict[Channel, ChannelAdapter] = {}
    if config["CONSOLE_CHANNELS"]:
        adapters.update({c: ConsoleChannel(c, clock=clock, stream=sys.stdout) for c in Channel})
    if config["TWILIO_ACCOUNT_SID"]:
        from recoverykit.channels.twilio import TwilioSMS  # noqa: PLC0415

        public = config["PUBLIC_URL"].rstrip("/")
        adapters[Channel.SMS] = TwilioSMS(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            from_number=config["TWILIO_FROM"],
            # Delivery reports come back signed to the status view (it must be public).
            status_callback=public + reverse("recovery:twilio-status") if public else None,
            clock=clock,
        )
    if config["WHATSAPP_ACCESS_TOKEN"]:
        from recoverykit.channels.whatsapp import WhatsAppCloud  # noqa: PLC0415

        adapters[Channel.WHATSAPP] = WhatsAppCloud(
            config["WHATSAPP_ACCESS_TOKEN"], config["WHATSAPP_PHONE_NUMBER_ID"], clock=clock
        )
    if config["TELEGRAM_BOT_TOKEN"]:
        from recoverykit.channels.telegram import TelegramBot  # noqa: PLC0415

        adapters[Channel.TELEGRAM] = TelegramBot(config["TELEGRAM_BOT_TOKEN"], clock=clock)
    return adapters


_lock = threading.Lock()
_current: Recovery | None = None


def current() -> Recovery:
    """This process's ``Recovery``, built from ``settings.RECOVERYKIT`` on first use."""
    global _current  # noqa: PLW0603 - one per process is the point
    with _lock:
        if _current is None:
            _current = build(settings.RECOVERYKIT)
        return _current


def install(recovery: Recovery | None) -> None:
    """Replace this process's ``Recovery`` (``None``: rebuild from settings on next use).

    The previous store is closed. Tests install one built with a fake clock and
    fake channels; ``override_settings(RECOVERYKIT=...)`` calls this by itself.
    """
    global _current
    with _lock:
        previous, _current = _current, recovery
    if previous is not None and previous is not recovery:
        close(previous.runner)


def close(runner: Runner) -> None:
    """Close the adapters' connection pools and the store (``Runner.close``)."""
    runner.close()


def _settings_changed(*, setting: str, **_kwargs: object) -> None:
    if setting == "RECOVERYKIT":
        install(None)


setting_changed.connect(_settings_changed)


def tick(runner: Runner, *, limit: int = 500, rounds: int = 20) -> int:
    """Start the recoveries of checkouts gone quiet (``detect``), then run ``run_due`` until
    nothing is due now (at most ``rounds`` batches); return sends.

    The bound matters: a recovery claimed by a worker that died stays due until its
    lease runs out, and a loop waiting for it would spin until then.
    """
    for _ in range(rounds):
        if runner.detect(limit=limit) < limit:
            break
    sent = 0
    for _ in range(rounds):
        sent += runner.run_due(limit=limit)
        due = runner.store.next_due()
        if due is None or due > runner.clock.now():
            break
    return sent
