"""The FastAPI example, driven through FastAPI's ``TestClient`` (which runs the lifespan)."""

from __future__ import annotations

import asyncio
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("fastapi", reason="the examples extra is not installed")

with warnings.catch_warnings():
    # Starlette 1.x asks for the ``httpx2`` fork for its test client; httpx still works.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from recoverykit import Channel, SendMessage
from recoverykit.protocols import Receipt
from recoverykit.testing import FakeChannel, FakeClock
from tests.examples.shop import (
    META_SECRET,
    META_VERIFY,
    PROVIDER_ENV,
    START_KEY,
    TELEGRAM_HEADER,
    TELEGRAM_SECRET,
    TWILIO_TOKEN,
    WHATSAPP_EMPTY,
    adapters,
    everything,
    examples_importable,
    form,
    meta_signature,
    open_recovery,
    opted_out_of_sms,
    start_clock,
    telegram_update,
    twilio_signature,
    twilio_sms,
    wired,
)

with examples_importable():
    from fastapi_store.app import Recovery, Settings, build, close, create_app

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class LoopCheckingChannel(FakeChannel):
    """Records, for every send, whether it ran on a thread with a running event loop."""

    def __init__(self, channel: Channel, clock: FakeClock) -> None:
        super().__init__(channel, clock=clock)
        self.on_event_loop: list[bool] = []

    def send(self, message: SendMessage) -> Receipt:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.on_event_loop.append(False)
        else:
            self.on_event_loop.append(True)
        return super().send(message)


@attrs.frozen
class Shop:
    client: TestClient
    clock: FakeClock
    channels: dict[Channel, LoopCheckingChannel]

    @property
    def recovery(self) -> Recovery:
        recovery: Recovery = self.client.app.state.recovery  # type: ignore[attr-defined]
        return recovery

    @property
    def runner(self) -> Any:
        return self.recovery.runner


def _settings(db: Path, **changes: Any) -> Settings:
    settings = Settings(
        db=str(db),
        twilio_auth_token=TWILIO_TOKEN,
        meta_app_secret=META_SECRET,
        meta_verify_token=META_VERIFY,
        telegram_secret_token=TELEGRAM_SECRET,
        telegram_start_key=START_KEY,
    )
    return attrs.evolve(settings, **changes)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    clock = start_clock()
    channels = {channel: LoopCheckingChannel(channel, clock) for channel in Channel}
    app = create_app(_settings(tmp_path / "shop.sqlite3"), clock=clock, channels=channels)
    with TestClient(app) as client:
        yield Shop(client, clock, channels)


def _post_twilio(shop: Shop, params: dict[str, str], signature: str) -> Any:
    headers = {**FORM, "X-Twilio-Signature": signature}
    return shop.client.post("/webhooks/twilio/sms", content=form(params), headers=headers)


def test_signed_stop_revokes_consent_and_confirms_once(shop: Shop) -> None:
    """A STOP over a signed Twilio webhook revokes SMS consent and sends one confirmation,
    off the event loop; the same webhook delivered again changes nothing."""
    anna = open_recovery(shop.runner)
    params = twilio_sms("STOP")
    signature = twilio_signature("http://testserver/webhooks/twilio/sms", params)

    first = _post_twilio(shop, params, signature)
    again = _post_twilio(shop, params, signature)

    assert (200, 200) == (first.status_code, again.status_code)
    assert first.headers["content-type"].startswith("text/xml")
    assert opted_out_of_sms(shop.runner, anna)
    sms = shop.channels[Channel.SMS]
    assert ["optout_confirm"] == [message.key for message in sms.sent]
    assert [False] == sms.on_event_loop


def test_tampered_twilio_webhook_is_refused_and_changes_nothing(shop: Shop) -> None:
    """A body altered after signing gets 403 and leaves the store as it was."""
    anna = open_recovery(shop.runner)
    before = everything(shop.runner.store, anna.id)
    signed = twilio_sms("Where is my parcel?")
    signature = twilio_signature("http://testserver/webhooks/twilio/sms", signed)

    response = _post_twilio(shop, {**signed, "Body": "STOP"}, signature)

    assert 403 == response.status_code
    assert before == everything(shop.runner.store, anna.id)


def test_whatsapp_handshake_answers_only_the_right_verify_token(shop: Shop) -> None:
    """The GET handshake echoes hub.challenge for the configured token, else 403."""
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    right = shop.client.get("/webhooks/whatsapp", params={**query, "hub.verify_token": META_VERIFY})
    wrong = shop.client.get("/webhooks/whatsapp", params={**query, "hub.verify_token": "guess"})

    assert (200, "1158201444") == (right.status_code, right.text)
    assert 403 == wrong.status_code
    assert "1158201444" not in wrong.text


def test_whatsapp_and_telegram_check_their_own_signatures(shop: Shop) -> None:
    """Each endpoint accepts its provider's signature and refuses a wrong one with 403."""
    update = telegram_update("hello", at=shop.clock.now())
    json_type = {"Content-Type": "application/json"}

    def whatsapp(signature: str) -> int:
        headers = {**json_type, "X-Hub-Signature-256": signature}
        response = shop.client.post("/webhooks/whatsapp", content=WHATSAPP_EMPTY, headers=headers)
        return int(response.status_code)

    def telegram(token: str) -> int:
        headers = {**json_type, TELEGRAM_HEADER: token}
        response = shop.client.post("/webhooks/telegram", content=update, headers=headers)
        return int(response.status_code)

    assert 403 == whatsapp(meta_signature(WHATSAPP_EMPTY, "another-app-secret-entirely"))
    assert 200 == whatsapp(meta_signature(WHATSAPP_EMPTY))
    assert (403, 200) == (telegram("wrong"), telegram(TELEGRAM_SECRET))


def test_public_url_restores_the_url_a_proxy_hid(tmp_path: Path) -> None:
    """Behind a proxy the provider signs the public https URL; ``public_url`` makes it verify."""
    settings = _settings(tmp_path / "proxied.sqlite3", public_url="https://shop.example/")
    params = twilio_sms("Hello")
    signature = twilio_signature("https://shop.example/webhooks/twilio/status", params)
    clock = start_clock()
    app = create_app(settings, clock=clock, channels={})
    with TestClient(app) as client:
        headers = {**FORM, "X-Twilio-Signature": signature}
        response = client.post("/webhooks/twilio/status", content=form(params), headers=headers)
    assert 200 == response.status_code


def test_unconfigured_provider_answers_404(tmp_path: Path) -> None:
    """With no secret a provider's endpoints answer 404, never "accept all"."""
    settings = _settings(tmp_path / "off.sqlite3", meta_app_secret="", telegram_secret_token="")
    with TestClient(create_app(settings, clock=start_clock(), channels={})) as client:
        statuses = (
            client.get("/webhooks/whatsapp", params={"hub.verify_token": META_VERIFY}).status_code,
            client.post("/webhooks/whatsapp", content=WHATSAPP_EMPTY).status_code,
            client.post("/webhooks/telegram", content=b"{}").status_code,
        )
    assert (404, 404, 404) == statuses


def test_lifespan_opens_the_store_and_closes_it(tmp_path: Path) -> None:
    """The store opens when serving starts and is closed when the app shuts down."""
    db = tmp_path / "lifespan.sqlite3"
    app = create_app(_settings(db), clock=start_clock(), channels={})
    assert not db.exists()
    with TestClient(app) as client:
        store = client.app.state.recovery.runner.store  # type: ignore[attr-defined]
        assert db.exists()
        assert store.next_due() is None
    with pytest.raises(sqlite3.ProgrammingError):
        store.next_due()


def test_settings_from_env_read_every_secret() -> None:
    """``Settings.from_env`` takes each value from its documented variable."""
    env = {
        "RECOVERYKIT_DB": "/srv/rk.sqlite3",
        "RECOVERYKIT_PRESET": "sms-three-touch",
        "TWILIO_AUTH_TOKEN": "t",
        "META_APP_SECRET": "m",
        "META_VERIFY_TOKEN": "v",
        "TELEGRAM_SECRET_TOKEN": "s",
        "TELEGRAM_START_KEY": "k",
        "RECOVERYKIT_CONSOLE": "1",
    }
    settings = Settings.from_env(env)
    assert ("/srv/rk.sqlite3", "sms-three-touch", True) == (
        settings.db,
        settings.preset,
        settings.console,
    )
    assert ("t", "m", "v", "s", "k") == (
        settings.twilio_auth_token,
        settings.meta_app_secret,
        settings.meta_verify_token,
        settings.telegram_secret_token,
        settings.telegram_start_key,
    )


def test_environment_wires_provider_adapters(tmp_path: Path) -> None:
    """A provider adapter wherever credentials are set; console stand-ins for the rest only
    with ``RECOVERYKIT_CONSOLE=1``."""
    env = {**PROVIDER_ENV, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    for console in ("1", ""):
        db = str(tmp_path / f"wired{console}.sqlite3")
        recovery = build(
            Settings.from_env({**env, "RECOVERYKIT_DB": db, "RECOVERYKIT_CONSOLE": console})
        )
        expected = wired(console=bool(console))
        try:
            assert expected == adapters(recovery.runner)
        finally:
            close(recovery.runner)
