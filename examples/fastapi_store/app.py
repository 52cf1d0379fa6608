"""Async webhook endpoints that verify each request and hand what it says to the runner.

The runner and the SQLite store are synchronous, so every call into them goes through
``run_in_threadpool``: the event loop keeps serving other requests while one waits
for the database's write lock. Signature checks and parsing stay on the loop; they
are pure and bounded by the parsers' body limit.

Run it with ``uvicorn --factory fastapi_store.app:create_app`` from ``examples/``.
The app sends nothing on a schedule: one separate process runs the tick (see
``README.md``), however many web workers there are.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Protocol

import attrs
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from recoverykit import Channel, RecoveryPolicy, Runner, SystemClock, presets
from recoverykit.channels.console import ConsoleChannel
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

__all__ = ["Recovery", "Settings", "build", "close", "create_app"]

#: Twilio expects TwiML from the inbound-message webhook; an empty response sends no reply
#: (the runner sends its own answers through the API, once).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@attrs.frozen
class Settings:
    """The app's configuration; ``from_env`` reads it from environment variables.

    An empty secret switches that provider's endpoint off (404). ``console`` prints
    messages for channels without a provider instead of failing them: for local runs
    only, since a printed message counts as sent.
    """

    db: str
    store_name: str = "Example Shop"
    preset: str = "three-touch"
    #: The public origin providers call ("https://shop.example"); empty: trust the request.
    public_url: str = ""
    twilio_auth_token: str = ""
    twilio_account_sid: str = ""
    twilio_from: str = ""
    meta_app_secret: str = ""
    meta_verify_token: str = ""
    whatsapp_access_token: str = ""
    whatsapp_phone_number_id: str = ""
    telegram_secret_token: str = ""
    telegram_start_key: str = ""
    telegram_bot_token: str = ""
    console: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings from environment variables (the README lists them)."""
        return cls(
            db=env.get("RECOVERYKIT_DB", "recoverykit.sqlite3"),
            store_name=env.get("RECOVERYKIT_STORE_NAME", "Example Shop"),
            preset=env.get("RECOVERYKIT_PRESET", "three-touch"),
            public_url=env.get("RECOVERYKIT_PUBLIC_URL", ""),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
            twilio_from=env.get("TWILIO_FROM", ""),
            meta_app_secret=env.get("META_APP_SECRET", ""),
            meta_verify_token=env.get("META_VERIFY_TOKEN", ""),
            whatsapp_access_token=env.get("WHATSAPP_ACCESS_TOKEN", ""),
            whatsapp_phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
            telegram_secret_token=env.get("TELEGRAM_SECRET_TOKEN", ""),
            telegram_start_key=env.get("TELEGRAM_START_KEY", ""),
            telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN", ""),
            console=env.get("RECOVERYKIT_CONSOLE") == "1",
        )


@attrs.frozen
class Recovery:
    """What the endpoints use; a parser is ``None`` when its secret is unset."""

    runner: Runner
    public_url: str
    twilio: TwilioWebhooks | None
    meta: MetaWebhooks | None
    telegram: TelegramWebhooks | None


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: Mapping[Channel, ChannelAdapter] | None = None,
) -> Recovery:
    """Open the store and wire the runner and the parsers (tests pass a clock and channels)."""
    s = settings
    clock = clock or SystemClock()
    runner = Runner(
        RecoveryPolicy(store_name=s.store_name, sequence=presets.get(s.preset)),
        open_store(s.db),
        _channels(s, clock) if channels is None else channels,
        clock,
        worker=f"{socket.gethostname()}-{os.getpid()}",
    )
    return Recovery(
        runner=runner,
        public_url=s.public_url.rstrip("/"),
        twilio=TwilioWebhooks(auth_token=s.twilio_auth_token) if s.twilio_auth_token else None,
        meta=MetaWebhooks(app_secret=s.meta_app_secret, verify_token=s.meta_verify_token)
        if s.meta_app_secret and s.meta_verify_token
        else None,
        telegram=TelegramWebhooks(
            secret_token=s.telegram_secret_token,
            start_links=StartLinks({"k": s.telegram_start_key}),
        )
        if s.telegram_secret_token and s.telegram_start_key
        else None,
    )


def _channels(settings: Settings, clock: Clock) -> dict[Channel, ChannelAdapter]:
    """Provider adapters where credentials are set (they need ``recoverykit[channels]``).

    A channel without an adapter fails permanently and the engine tries the customer's
    next channel.
    """
    s = settings
    adapters: dict[Channel, ChannelAdapter] = {}
    if s.console:
        adapters.update({c: ConsoleChannel(c, clock=clock, stream=sys.stdout) for c in Channel})
    if s.twilio_account_sid:
        from recoverykit.channels.twilio import TwilioSMS  # noqa: PLC0415

        callback = f"{s.public_url.rstrip('/')}/webhooks/twilio/status" if s.public_url else None
        adapters[Channel.SMS] = TwilioSMS(
            s.twilio_account_sid,
            s.twilio_auth_token,
            from_number=s.twilio_from,
            status_callback=callback,
            clock=clock,
        )
    if s.whatsapp_access_token:
        from recoverykit.channels.whatsapp import WhatsAppCloud  # noqa: PLC0415

        adapters[Channel.WHATSAPP] = WhatsAppCloud(
            s.whatsapp_access_token, s.whatsapp_phone_number_id, clock=clock
        )
    if s.telegram_bot_token:
        from recoverykit.channels.telegram import TelegramBot  # noqa: PLC0415

        adapters[Channel.TELEGRAM] = TelegramBot(s.telegram_bot_token, clock=clock)
    return adapters


def close(runner: Runner) -> None:
    """Close the adapters' connection pools and the store (``Runner.close``)."""
    runner.close()


# -- the app -------------------------------------------------------------------------------------
class _Parser(Protocol):
    def parse(self, request: WebhookRequest, *, now: datetime) -> list[Inbound]: ...


def _recovery(request: Request) -> Recovery:
    recovery: Recovery = request.app.state.recovery
    return recovery


RecoveryDep = Annotated[Recovery, Depends(_recovery)]


def _url(request: Request, public_url: str) -> str:
    """The URL the provider called, as it signed it.

    ``request.url`` is rebuilt from the Host header and the connection; behind a proxy
    that terminates TLS, run uvicorn with ``--proxy-headers`` or set the public URL.
    """
    if not public_url:
        return str(request.url)
    query = request.url.query
    return public_url + request.url.path + (f"?{query}" if query else "")


async def _receive(
    request: Request, recovery: Recovery, parser: _Parser | None, answer: Response
) -> Response:
    """Verify and parse the request, hand every fact to the runner, answer ``answer``."""
    if parser is None:
        raise HTTPException(status_code=404, detail="This provider is not configured")
    webhook = WebhookRequest(
        method=request.method,
        url=_url(request, recovery.public_url),
        headers=dict(request.headers),
        body=await request.body(),
    )
    runner = recovery.runner
    try:
        inbound = parser.parse(webhook, now=runner.clock.now())
    except WebhookError as exc:
        return Response(status_code=exc.status)
    for item in inbound:
        await run_in_threadpool(runner.receive, item)
    return answer


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    channels: Mapping[Channel, ChannelAdapter] | None = None,
) -> FastAPI:
    """The app; its lifespan opens the store when serving starts and closes it at the end."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        recovery = await run_in_threadpool(build, settings, clock=clock, channels=channels)
        app.state.recovery = recovery
        try:
            yield
        finally:
            await run_in_threadpool(close, recovery.runner)

    app = FastAPI(title="recoverykit webhooks", lifespan=lifespan)

    @app.post("/webhooks/twilio/sms")
    async def twilio_sms(request: Request, recovery: RecoveryDep) -> Response:
        """Incoming text messages (STOP, HELP, questions)."""
        twiml = Response(EMPTY_TWIML, media_type="text/xml")
        return await _receive(request, recovery, recovery.twilio, twiml)

    @app.post("/webhooks/twilio/status")
    async def twilio_status(request: Request, recovery: RecoveryDep) -> Response:
        """Delivery reports for messages the Twilio adapter sent."""
        return await _receive(request, recovery, recovery.twilio, Response())

    @app.get("/webhooks/whatsapp")
    async def whatsapp_handshake(request: Request, recovery: RecoveryDep) -> Response:
        """Meta's subscription handshake: echo the challenge if the verify token matches."""
        if recovery.meta is None:
            raise HTTPException(status_code=404, detail="This provider is not configured")
        try:
            challenge = recovery.meta.handshake(dict(request.query_params))
        except WebhookError as exc:
            return Response(status_code=exc.status)
        return Response(challenge, media_type="text/plain")

    @app.post("/webhooks/whatsapp")
    async def whatsapp(request: Request, recovery: RecoveryDep) -> Response:
        """WhatsApp Cloud API events: messages, button taps, delivery statuses."""
        return await _receive(request, recovery, recovery.meta, Response())

    @app.post("/webhooks/telegram")
    async def telegram(request: Request, recovery: RecoveryDep) -> Response:
        """Telegram bot updates, sent with the secret token given to ``setWebhook``."""
        return await _receive(request, recovery, recovery.telegram, Response())

    return app
