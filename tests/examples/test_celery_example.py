"""The Celery example: eager tasks for the tick, and a real worker on the in-memory broker.

The eager tests call tasks the way beat and the web tier do. The queue tests keep
the broker (``memory://``) and run Celery's own test worker in a thread, so what
``accept`` queues really goes through JSON and back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("celery", reason="the examples extra is not installed")

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun

from recoverykit import Channel, Runner
from recoverykit.testing import FakeChannel, FakeClock
from recoverykit.webhooks import SignatureMismatch, WebhookRequest
from tests.examples.shop import (
    META_SECRET,
    META_VERIFY,
    PROVIDER_ENV,
    START_KEY,
    TELEGRAM_SECRET,
    TWILIO_TOKEN,
    adapters,
    everything,
    examples_importable,
    fake_channels,
    form,
    open_recovery,
    opted_out_of_sms,
    start_clock,
    twilio_signature,
    twilio_sms,
    wired,
)

with examples_importable():
    from celery_store import tasks

URL = "https://shop.example/webhooks/twilio/sms"
ENV = {
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "META_APP_SECRET": META_SECRET,
    "META_VERIFY_TOKEN": META_VERIFY,
    "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
    "TELEGRAM_START_KEY": START_KEY,
}


@pytest.fixture(autouse=True, scope="module")
def memory_broker() -> Iterator[None]:
    """Every test here talks to Celery's in-process broker, never to a server."""
    conf = tasks.app.conf
    saved = conf.broker_url
    conf.broker_url = "memory://"
    try:
        yield
    finally:
        conf.broker_url = saved


@attrs.frozen
class Shop:
    runner: Runner
    clock: FakeClock
    channels: dict[Channel, FakeChannel]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    clock = start_clock()
    channels = fake_channels(clock)
    env = {**ENV, "RECOVERYKIT_DB": str(tmp_path / "shop.sqlite3")}
    runner = tasks.build_runner(env, clock=clock, channels=channels)
    tasks.install(webhooks=tasks.build_webhooks(env, clock=clock), runner=runner)
    try:
        yield Shop(runner, clock, channels)
    finally:
        tasks.install()


@pytest.fixture
def eager() -> Iterator[None]:
    """Run tasks where they are called, raising their errors (restored afterwards)."""
    conf = tasks.app.conf
    saved = (conf.task_always_eager, conf.task_eager_propagates)
    conf.task_always_eager = conf.task_eager_propagates = True
    try:
        yield
    finally:
        conf.task_always_eager, conf.task_eager_propagates = saved


def _signed(params: dict[str, str], signature: str | None = None) -> WebhookRequest:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature or twilio_signature(URL, params),
    }
    return WebhookRequest("POST", URL, headers, form(params))


def _queued() -> int:
    """Messages waiting on the default queue of the in-memory broker."""
    with tasks.app.connection_for_write() as connection:
        declared = connection.default_channel.queue_declare(queue="celery")
    count: int = declared.message_count
    return count


def _wait_for(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_environment_wires_provider_adapters(tmp_path: Path) -> None:
    """A provider adapter wherever credentials are set; console stand-ins for the rest only
    with ``RECOVERYKIT_CONSOLE=1``."""
    env = {**PROVIDER_ENV, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
    for console in ("1", ""):
        db = str(tmp_path / f"wired{console}.sqlite3")
        runner = tasks.build_runner({**env, "RECOVERYKIT_DB": db, "RECOVERYKIT_CONSOLE": console})
        expected = wired(console=bool(console))
        try:
            assert expected == adapters(runner)
        finally:
            tasks.close(runner)


def test_beat_schedule_names_registered_tasks() -> None:
    """Every beat entry names a task the app has, the tick every minute."""
    schedule = tasks.app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} <= set(tasks.app.tasks)
    assert 60.0 == schedule["recoverykit-tick"]["schedule"]


@pytest.mark.usefixtures("eager")
def test_tick_task_sends_the_due_touch(shop: Shop) -> None:
    """The tick sends nothing early, then the first touch through the channel once due."""
    open_recovery(shop.runner)
    early = tasks.tick.delay().get()
    shop.clock.advance(timedelta(hours=2))
    due = tasks.tick.delay().get()

    assert (0, 1) == (early, due)
    assert [1] == [message.touch for message in shop.channels[Channel.SMS].sent]


@pytest.mark.usefixtures("eager")
def test_accepted_stop_revokes_and_confirms_once(shop: Shop) -> None:
    """A verified STOP handed to ``accept`` revokes consent and sends one confirmation;
    the provider's retry of the same webhook changes nothing."""
    anna = open_recovery(shop.runner)
    request = _signed(twilio_sms("STOP"))

    tasks.accept("twilio", request)
    tasks.accept("twilio", request)

    assert opted_out_of_sms(shop.runner, anna)
    assert ["optout_confirm"] == [m.key for m in shop.channels[Channel.SMS].sent]


def test_web_tier_refuses_forgeries_before_the_queue(shop: Shop) -> None:
    """A tampered webhook raises ``SignatureMismatch`` (403) in ``accept``; nothing is
    queued and nothing changes. A signed one is queued, once."""
    anna = open_recovery(shop.runner)
    before = everything(shop.runner.store, anna.id)
    params = twilio_sms("Where is my parcel?")
    signature = twilio_signature(URL, params)
    waiting = _queued()

    with pytest.raises(SignatureMismatch) as refused:
        tasks.accept("twilio", _signed({**params, "Body": "STOP"}, signature))

    assert 403 == refused.value.status
    assert waiting == _queued()
    tasks.accept("twilio", _signed(params))
    assert waiting + 1 == _queued()
    assert before == everything(shop.runner.store, anna.id)
    _drain()


def _drain() -> None:
    with tasks.app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")


@pytest.fixture
def worker_conf() -> Iterator[None]:
    """Poll the in-memory broker often (it waits a second by default) and leave the root
    logger alone (a worker takes it over by default), for one test."""
    conf = tasks.app.conf
    saved = (conf.broker_transport_options, conf.worker_hijack_root_logger)
    conf.broker_transport_options = {**saved[0], "polling_interval": 0.02}
    conf.worker_hijack_root_logger = False
    try:
        yield
    finally:
        conf.broker_transport_options, conf.worker_hijack_root_logger = saved


@pytest.mark.usefixtures("worker_conf")
def test_a_worker_drops_forgeries_and_runs_the_queued_stop(shop: Shop) -> None:
    """Through the real queue (JSON on the in-memory broker) the worker parses each request
    again: a forged message put straight on the queue is dropped, the verified STOP runs."""
    anna = open_recovery(shop.runner)
    sms = shop.channels[Channel.SMS]
    forged = tasks._to_message(_signed(twilio_sms("STOP"), "forged"), shop.clock.now())
    handed_over: list[int] = []

    def finished(*, task: Any, retval: Any, **_kwargs: Any) -> None:
        if task.name == "celery_store.tasks.receive_twilio":
            handed_over.append(retval)

    task_postrun.connect(finished)
    try:
        with start_worker(tasks.app, pool="solo", perform_ping_check=False, shutdown_timeout=5):
            tasks.receive_twilio.delay(forged)
            assert _wait_for(lambda: handed_over == [0])
            assert not opted_out_of_sms(shop.runner, anna)
            tasks.accept("twilio", _signed(twilio_sms("STOP")))
            assert _wait_for(lambda: handed_over == [0, 1] and len(sms.sent) == 1)
    finally:
        task_postrun.disconnect(finished)

    assert opted_out_of_sms(shop.runner, anna)
    assert ["optout_confirm"] == [m.key for m in sms.sent]
