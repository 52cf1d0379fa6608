"""Celery tasks for recoverykit: the tick, reconcile, and one task per webhook kind.

**Where webhooks are verified.** Twice, on purpose. The web tier calls ``accept``,
which checks the signature before anything is queued: the provider learns at once
that a bad request was refused (403 or 400), and unsigned junk never reaches the
queue or costs a worker anything. What is queued is the request itself, bytes and
all, not the parsed result: the raw body is the only form a signature covers, and
it serialises to JSON without a codec of its own. The worker then parses it again
before it trusts a word, so a message put on the queue by anyone else is refused
too. An HMAC costs microseconds; the second check is free insurance.

**Replays are harmless.** Tasks are acknowledged late, so a worker that dies mid-task
gets its message redelivered; every inbound fact carries the provider's id, and the
runner ignores an id it has seen. The same holds when a provider retries a webhook.

Start a worker and one beat: ``celery -A celery_store.tasks worker`` and
``celery -A celery_store.tasks beat`` from ``examples/``; see ``README.md``.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Literal, Protocol

import attrs
from celery import Celery

from recoverykit import Channel, RecoveryPolicy, Runner, SystemClock, presets
from recoverykit.channels.console import ConsoleChannel
from recoverykit.errors import StoreError
from recoverykit.protocols import ChannelAdapter, Clock
from recoverykit.stores import open_store
from recoverykit.webhooks import (
    Inbound,
    MetaWebhooks,
    StartLinks,
    TelegramWebhooks,
    TwilioWebhooks,
    WebhookError,
    WebhookRequest,
)

__all__ = [
    "Webhooks",
    "accept",
    "app",
    "build_runner",
    "build_webhooks",
    "close",
    "handshake",
    "install",
    "receive_telegram",
    "receive_twilio",
    "receive_whatsapp",
    "reconcile",
    "runner",
    "tick",
    "webhooks",
]

logger = logging.getLogger(__name__)

Kind = Literal["twilio", "whatsapp", "telegram"]

app = Celery("celery_store")
app.conf.update(
    # Redis or RabbitMQ in production; unset, Celery tries RabbitMQ on localhost.
    broker_url=os.environ.get("CELERY_BROKER_URL"),
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    # Acknowledge after the task ran: a worker killed mid-task gets it redelivered.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    timezone="UTC",
    beat_schedule={
        "recoverykit-tick": {
            "task": "celery_store.tasks.tick",
            "schedule": 60.0,
            # A tick queued during an outage is stale by the next one: drop it.
            "options": {"expires": 55.0},
        },
        "recoverykit-reconcile": {
            "task": "celery_store.tasks.reconcile",
            "schedule": 15 * 60.0,
            "options": {"expires": 5 * 60.0},
        },
    },
)


# -- wiring, once per process ----------------------------------------------------------------
class _Parser(Protocol):
    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]: ...


@attrs.frozen
class Webhooks:
    """The parsers and the clock: all the web tier needs, no store. ``None``: no secret set."""

    clock: Clock
    twilio: TwilioWebhooks | None
    meta: MetaWebhooks | None
    telegram: TelegramWebhooks | None

    def parser(self, kind: Kind) -> _Parser:
        parser: _Parser | None = {
            "twilio": self.twilio,
            "whatsapp": self.meta,
            "telegram": self.telegram,
        }[kind]
        if parser is None:
            msg = f"The {kind} webhook is not configured; set its secret in the environment"
            raise LookupError(msg)
        return parser


def build_webhooks(env: Mapping[str, str] = os.environ, *, clock: Clock | None = None) -> Webhooks:
    """The parsers for every provider whose secret the environment holds."""
    twilio, app_secret, verify = (
        env.get(name, "") for name in ("TWILIO_AUTH_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN")
    )
    secret_token, start_key = env.get("TELEGRAM_SECRET_TOKEN"), env.get("TELEGRAM_START_KEY")
    return Webhooks(
        clock=clock or SystemClock(),
        twilio=TwilioWebhooks(auth_token=twilio) if twilio else None,
        meta=MetaWebhooks(app_secret=app_secret, verify_token=verify)
        if app_secret and verify
        else None,
        telegram=TelegramWebhooks(
            secret_token=secret_token, start_links=StartLinks({"k": start_key})
        )
        if secret_token and start_key
        else None,
    )


def build_runner(
    env: Mapping[str, str] = os.environ,
    *,
    clock: Clock | None = None,
    channels: Mapping[Channel, ChannelAdapter] | None = None,
) -> Runner:
    """Open the store and wire the runner (tests pass a clock and channels)."""
    clock = clock or SystemClock()
    policy = RecoveryPolicy(
        store_name=env.get("RECOVERYKIT_STORE_NAME", "Example Shop"),
        sequence=presets.get(env.get("RECOVERYKIT_PRESET", "three-touch")),
    )
    return Runner(
        policy,
        open_store(env.get("RECOVERYKIT_DB", "recoverykit.sqlite3")),
        _channels(env, clock) if channels is None else channels,
        clock,
        worker=f"{socket.gethostname()}-{os.getpid()}",
    )


def _channels(env: Mapping[str, str], clock: Clock) -> dict[Channel, ChannelAdapter]:
    """Provider adapters where credentials are set (they need ``recoverykit[channels]``).

    ``RECOVERYKIT_CONSOLE=1`` prints messages for the other channels instead of
    failing them: for local runs only, since a printed message counts as sent.
    """
    adapters: dict[Channel, ChannelAdapter] = {}
    if env.get("RECOVERYKIT_CONSOLE") == "1":
        adapters.update({c: ConsoleChannel(c, clock=clock, stream=sys.stdout) for c in Channel})
    if env.get("TWILIO_ACCOUNT_SID"):
        from recoverykit.channels.twilio import TwilioSMS  # noqa: PLC0415

        adapters[Channel.SMS] = TwilioSMS(
            env["TWILIO_ACCOUNT_SID"],
            env["TWILIO_AUTH_TOKEN"],
            from_number=env["TWILIO_FROM"],
            status_callback=env.get("TWILIO_STATUS_CALLBACK") or None,
            clock=clock,
        )
    if env.get("WHATSAPP_ACCESS_TOKEN"):
        from recoverykit.channels.whatsapp import WhatsAppCloud  # noqa: PLC0415

        adapters[Channel.WHATSAPP] = WhatsAppCloud(
            env["WHATSAPP_ACCESS_TOKEN"], env["WHATSAPP_PHONE_NUMBER_ID"], clock=clock
        )
    if env.get("TELEGRAM_BOT_TOKEN"):
        from recoverykit.channels.telegram import TelegramBot  # noqa: PLC0415

        adapters[Channel.TELEGRAM] = TelegramBot(env["TELEGRAM_BOT_TOKEN"], clock=clock)
    return adapters


_lock = threading.Lock()
_webhooks: Webhooks | None = None
_runner: Runner | None = None


def webhooks() -> Webhooks:
    """This process's parsers, built on first use."""
    global _webhooks  # noqa: PLW0603 - one per process is the point
    with _lock:
        if _webhooks is None:
            _webhooks = build_webhooks()
        return _webhooks


def runner() -> Runner:
    """This process's runner, built on first use.

    Lazily, because the prefork pool forks worker processes after importing this
    module: each child opens its own store connection, and the web tier none.
    """
    global _runner  # noqa: PLW0603
    with _lock:
        if _runner is None:
            _runner = build_runner()
        return _runner


def install(*, webhooks: Webhooks | None = None, runner: Runner | None = None) -> None:
    """Replace this process's parsers and runner (``None``: rebuild on next use).

    The previous runner's store is closed. Tests install ones built with a fake
    clock and fake channels.
    """
    global _webhooks, _runner
    with _lock:
        previous, _webhooks, _runner = _runner, webhooks, runner
    if previous is not None and previous is not runner:
        close(previous)


def close(runner: Runner) -> None:
    """Close the adapters' connection pools and the store (``Runner.close``)."""
    runner.close()


# -- the web tier ----------------------------------------------------------------------------
def accept(kind: Kind, request: WebhookRequest) -> None:
    """Verify a webhook in the web tier and queue it; call it from any framework's view.

    Raises ``WebhookError`` when the request is refused: answer ``exc.status`` and
    nothing is queued. Otherwise answer 200 (Twilio's message webhook: empty TwiML).
    """
    parsers = webhooks()
    now = parsers.clock.now()
    parsers.parser(kind).parse(request, now=now)
    _TASKS[kind].delay(_to_message(request, now))


def handshake(query: Mapping[str, str]) -> str:
    """Meta's subscription handshake, answered in the web tier: nothing to queue."""
    meta = webhooks().meta
    if meta is None:
        raise LookupError("The whatsapp webhook is not configured")
    return meta.handshake(query)


def _to_message(request: WebhookRequest, received_at: datetime) -> dict[str, Any]:
    """The request as JSON-safe values: the body as base64, since it may be any bytes."""
    return {
        "method": request.method,
        "url": request.url,
        "headers": dict(request.headers),
        "body": base64.b64encode(request.body).decode("ascii"),
        "received_at": received_at.isoformat(),
    }


def _from_message(message: Mapping[str, Any]) -> tuple[WebhookRequest, datetime]:
    request = WebhookRequest(
        method=message["method"],
        url=message["url"],
        headers=message["headers"],
        body=base64.b64decode(message["body"], validate=True),
    )
    return request, datetime.fromisoformat(message["received_at"])


# -- the tasks -------------------------------------------------------------------------------
def _task(**options: Any) -> Callable[[Callable[..., int]], Any]:
    """``app.task`` with a name that does not depend on how this module was imported."""

    def register(function: Callable[..., int]) -> Any:
        return app.task(name=f"celery_store.tasks.{function.__name__}", **options)(function)

    return register


_RETRY: Final[dict[str, Any]] = {
    # The store was busy or unreachable: try again later; replays are ignored by id.
    "autoretry_for": (StoreError,),
    "retry_backoff": True,
    "max_retries": 8,
}


def _receive(kind: Kind, message: Mapping[str, Any]) -> int:
    """Parse a queued request again (trust nothing unverified) and hand over each fact.

    ``now`` is when the web tier received it, so a start link valid then stays valid
    however long the message waited in the queue.
    """
    request, received_at = _from_message(message)
    try:
        inbound = webhooks().parser(kind).parse(request, now=received_at)
    except WebhookError as exc:
        # Verified once already, so a secret changed in between or the queue was
        # written by someone else; retrying cannot help.
        logger.error("dropped a queued %s webhook: %s", kind, exc)
        return 0
    worker = runner()
    for item in inbound:
        worker.receive(item)
    return len(inbound)


@_task(**_RETRY)
def receive_twilio(message: dict[str, Any]) -> int:
    """A Twilio message or status webhook, as queued by ``accept``."""
    return _receive("twilio", message)


@_task(**_RETRY)
def receive_whatsapp(message: dict[str, Any]) -> int:
    """A WhatsApp Cloud API webhook, as queued by ``accept``."""
    return _receive("whatsapp", message)


@_task(**_RETRY)
def receive_telegram(message: dict[str, Any]) -> int:
    """A Telegram bot update, as queued by ``accept``."""
    return _receive("telegram", message)


_TASKS: Final = {
    "twilio": receive_twilio,
    "whatsapp": receive_whatsapp,
    "telegram": receive_telegram,
}


@_task()
def tick(limit: int = 500) -> int:
    """Start the recoveries of checkouts gone quiet (``detect``), then send what is due:
    one ``run_due`` batch a minute, from the beat schedule.

    Overlapping ticks are safe (each checkout and recovery is claimed by one), so a
    slow batch never blocks the next; a backlog larger than ``limit`` drains over a
    few minutes.
    """
    the_runner = runner()
    the_runner.detect(limit=limit)
    sent: int = the_runner.run_due(limit=limit)
    return sent


@_task()
def reconcile() -> int:
    """Settle sends a dead worker left pending; log the ones no one can vouch for."""
    uncertain = runner().reconcile()
    for entry in uncertain:
        logger.warning(
            "uncertain send %s on %s: ask the provider; it is never resent automatically",
            entry.key,
            entry.message.channel.value,
        )
    return len(uncertain)
