"""A loopback HTTP server and a pytest suite that check a channel adapter keeps its contract.

``LoopbackServer`` stands in for a provider: it listens on 127.0.0.1, records every
request it gets, and answers from a script of ``Reply`` values (status, JSON body,
headers, a delay, or hanging up without a word). Point an adapter's ``base_url``
at ``server.url`` and assert on ``server.requests``; the ``loopback_server``
fixture starts one per test and always stops it.

``ChannelContract`` is the suite. Subclass it, name the subclass ``Test...`` and
say how to build the adapter and what the provider's answers look like::

    from recoverykit.testing.channel_contract import ChannelContract, Reply

    class TestAcmeSMS(ChannelContract):
        channel = Channel.SMS
        error_table = ACME_ERRORS

        def make_adapter(self, base_url, *, timeout):
            return AcmeSMS("key", base_url=base_url, timeout=timeout)

        def accepted(self, provider_id):
            return Reply(201, {"id": provider_id})

        def refused(self, code):
            return Reply(400, {"error": code})

        def key_sent(self, request):
            return request.form().get("client_ref")

It checks what the runner relies on: an accepted message gives a ``Receipt``; a
send makes exactly one request (an adapter never retries by itself, so "at most
once" holds); server errors, rate limits and unreachable hosts are transient
``ChannelError``s; a lost answer is reported as ``outcome_unknown``; every code in
the adapter's error table maps to its meaning; whatever the provider answers,
``send`` returns a ``Receipt`` or raises a ``ChannelError`` and nothing else; the
idempotency key reaches the provider where it has a place for it.

Requires pytest and Hypothesis (test dependencies). Nothing here touches the network
beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any, ClassVar, Final, Self
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..channels.errors import NOT_SENT, OUTCOME_UNKNOWN, ErrorMeaning
from ..engine.commands import MessageKind, SendMessage
from ..errors import ChannelError, FaultScope
from ..protocols import ChannelAdapter, Receipt
from ..values.model import Channel

__all__ = ["ChannelContract", "LoopbackServer", "Recorded", "Reply", "loopback_server"]

#: Hard ceiling on any scripted delay, so a mistake cannot hang a test run.
_LONGEST_DELAY: Final = 30.0


# -- the server ------------------------------------------------------------------------------
@attrs.frozen
class Reply:
    """One scripted answer.

    ``body`` is sent as JSON unless ``raw`` bytes are given instead. ``delay`` holds
    the answer back that many seconds (a timeout test); ``hang_up`` closes the
    connection after reading the request without answering at all.
    """

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    hang_up: bool = False

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else json.dumps(self.body).encode()


@attrs.frozen
class Recorded:
    """One request as the server received it."""

    method: str
    #: The path without the query, e.g. ``/2010-04-01/Accounts/AC…/Messages.json``.
    path: str
    query: tuple[tuple[str, str], ...]
    #: Header names in lower case.
    headers: Mapping[str, str]
    body: bytes
    #: The client's source port: two requests on one port used one connection.
    peer_port: int

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as form fields (the last value of a repeated name wins)."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class LoopbackServer:
    """A provider double on ``127.0.0.1`` with a random free port.

    ``answer(*replies)`` queues answers for the next requests, in order; when the
    queue is empty every request gets ``default``. ``requests`` lists what arrived.
    Always ``close()`` it (or use ``with``, or the ``loopback_server`` fixture):
    closing also cuts every delayed answer short.
    """

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default if default is not None else Reply(200, {})
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, to pass as an adapter's ``base_url``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        for reply in replies:
            if not 0 <= reply.delay <= _LONGEST_DELAY:
                msg = f"a reply's delay must be 0-{_LONGEST_DELAY:g} s (got {reply.delay!r})"
                raise ValueError(msg)
        with self._lock:
            self._script.extend(replies)

    def _next(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._script.popleft() if self._script else self.default

    def close(self) -> None:
        """Stop serving and wake every delayed answer; safe to call twice."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LoopbackServer({self.url!r}, requests={len(self.requests)})"


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
        wbufsize = 1 << 16  # head and body leave in one write (no delayed-ACK stalls)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Recorded(
                method=self.command,
                path=parts.path,
                query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                peer_port=int(self.client_address[1]),
            )
            reply = server._next(request)
            if reply.delay and server._closing.wait(reply.delay):
                self.close_connection = True
                return
            if reply.hang_up:
                self.close_connection = True
                return
            content = reply.content()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a test's output is its assertions."""

    return Handler


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A ``LoopbackServer`` for one test, stopped afterwards whatever happens."""
    with LoopbackServer() as server:
        yield server


def _closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the suite -------------------------------------------------------------------------------
_JSON: Final = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
#: Keys providers put in answers, so the fuzzing reaches the adapters' parsing paths.
_KEYS: Final = st.sampled_from(
    ["sid", "id", "code", "message", "error", "error_code", "status", "messages", "ok"]
)
_ANSWERS: Final = st.builds(
    Reply,
    status=st.sampled_from([200, 201, 202, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503]),
    body=_JSON | st.dictionaries(_KEYS, _JSON | st.dictionaries(_KEYS, _JSON), max_size=4),
)
#: The example count comes from the active Hypothesis profile (HYPOTHESIS_PROFILE=thorough).
_PER_ADAPTER: Final = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)
#: The timeout adapters get in the suite, and how long a "slow" provider takes.
SHORT_TIMEOUT: Final = 0.25
SLOW_ANSWER: Final = 3.0


class ChannelContract:
    """What every HTTP ``ChannelAdapter`` must do, as pytest tests (see the module doc).

    Override ``make_adapter``, ``accepted`` and ``refused``; set ``channel`` and
    ``error_table``; override ``key_sent`` to say where the idempotency key travels,
    or set ``carries_key = False`` when the provider has no place for one.
    """

    #: The channel the adapter sends on.
    channel: ClassVar[Channel]
    #: Provider error codes and what they mean (from ``recoverykit.channels.errors``).
    error_table: ClassVar[Mapping[str, ErrorMeaning]] = MappingProxyType({})
    #: The address test messages go to (a number, a chat id, an e-mail address).
    address: ClassVar[str] = "+48601234567"
    #: False when the provider has nowhere to put an idempotency key.
    carries_key: ClassVar[bool] = True

    def make_adapter(self, base_url: str, *, timeout: float) -> ChannelAdapter:
        """Return an adapter that sends to ``base_url`` with ``timeout`` seconds per request."""
        raise NotImplementedError

    def accepted(self, provider_id: str) -> Reply:
        """The provider's answer when it accepts a message and names it ``provider_id``."""
        raise NotImplementedError

    def refused(self, code: str) -> Reply:
        """The provider's answer when it refuses a message with error ``code``."""
        raise NotImplementedError

    def key_sent(self, request: Recorded) -> str | None:
        """The idempotency key as found in ``request`` (``None``: not there)."""
        raise NotImplementedError

    def message(self, key: str = "chk-1:touch1:0") -> SendMessage:
        """A plain touch for this channel; override to add what the provider needs."""
        return SendMessage(
            idempotency_key=key,
            checkout_id="chk-1",
            customer_id="cus-1",
            channel=self.channel,
            to=self.address,
            kind=MessageKind.TOUCH,
            key="remind",
            text="Your cart is waiting: https://shop.example/r/abc",
            locale="en",
            touch=1,
        )

    # -- fixtures ------------------------------------------------------------------------------
    @pytest.fixture
    def server(self) -> Iterator[LoopbackServer]:
        with LoopbackServer() as server:
            yield server

    @pytest.fixture
    def adapter(self, server: LoopbackServer) -> Iterator[ChannelAdapter]:
        made = self.make_adapter(server.url, timeout=SHORT_TIMEOUT)
        yield made
        _close(made)

    def _fails(self, adapter: ChannelAdapter, message: SendMessage | None = None) -> ChannelError:
        with pytest.raises(ChannelError) as caught:
            adapter.send(message or self.message())
        return caught.value

    # -- the contract ----------------------------------------------------------------------------
    def test_is_a_channel_adapter(self, adapter: ChannelAdapter) -> None:
        """The adapter satisfies the protocol and names the channel it serves."""
        assert isinstance(adapter, ChannelAdapter)
        assert self.channel == adapter.channel

    def test_accepted_message_gives_receipt(
        self, adapter: ChannelAdapter, server: LoopbackServer
    ) -> None:
        """An accepted message returns a Receipt with the provider's id and an aware time."""
        server.answer(self.accepted("prov-1"))
        receipt = adapter.send(self.message())
        assert isinstance(receipt, Receipt)
        assert receipt.provider_id == "prov-1"
        assert receipt.accepted_at.tzinfo is not None
        assert len(server.requests) == 1

    def test_connection_is_reused(self, adapter: ChannelAdapter, server: LoopbackServer) -> None:
        """Two sends in a row travel over one connection (no handshake per message)."""
        server.answer(self.accepted("prov-1"), self.accepted("prov-2"))
        adapter.send(self.message("k1"))
        adapter.send(self.message("k2"))
        first, second = server.requests
        assert first.peer_port == second.peer_port

    def test_idempotency_key_reaches_provider(
        self, adapter: ChannelAdapter, server: LoopbackServer
    ) -> None:
        """The message's idempotency key travels with the request where the provider keeps it."""
        if not self.carries_key:
            pytest.skip(f"{type(adapter).__name__}'s provider has no place for the key")
        server.answer(self.accepted("prov-1"))
        adapter.send(self.message("chk-7:touch2:1"))
        assert self.key_sent(server.requests[0]) == "chk-7:touch2:1"

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_server_error_is_outcome_unknown_and_not_retried(
        self, adapter: ChannelAdapter, server: LoopbackServer, status: int
    ) -> None:
        """A 5xx came after the request arrived, so the provider may have queued the
        message: ``outcome_unknown`` (never a plain retry), and no retry by the adapter."""
        server.answer(Reply(status, {"message": "try later"}))
        error = self._fails(adapter)
        assert error.code == OUTCOME_UNKNOWN
        assert not error.permanent
        assert not error.revoked
        assert len(server.requests) == 1

    def test_rate_limit_is_transient(self, adapter: ChannelAdapter, server: LoopbackServer) -> None:
        """429 Too Many Requests is transient, whatever the body says, and the pause its
        ``Retry-After`` header asks for travels on the error for the runner to honour."""
        server.answer(Reply(429, {"message": "slow down"}, headers={"Retry-After": "2"}))
        error = self._fails(adapter)
        assert not error.permanent
        assert not error.revoked
        assert error.retry_after is not None
        assert error.retry_after >= timedelta(seconds=2)
        assert len(server.requests) == 1

    def test_timeout_is_outcome_unknown(
        self, adapter: ChannelAdapter, server: LoopbackServer
    ) -> None:
        """No answer within the timeout: transient, flagged as possibly accepted."""
        server.answer(Reply(200, {}, delay=SLOW_ANSWER))
        error = self._fails(adapter)
        assert not error.permanent
        assert error.code == OUTCOME_UNKNOWN

    def test_hang_up_is_outcome_unknown(
        self, adapter: ChannelAdapter, server: LoopbackServer
    ) -> None:
        """The provider read the request and closed the connection: possibly accepted."""
        server.answer(Reply(hang_up=True))
        error = self._fails(adapter)
        assert not error.permanent
        assert error.code == OUTCOME_UNKNOWN

    def test_unreachable_provider_is_not_sent(self) -> None:
        """Nothing listens at the address: transient, and surely not sent."""
        adapter = self.make_adapter(f"http://127.0.0.1:{_closed_port()}", timeout=SHORT_TIMEOUT)
        try:
            error = self._fails(adapter)
        finally:
            _close(adapter)
        assert not error.permanent
        assert error.code == NOT_SENT

    def test_error_codes_map_to_their_meaning(
        self, adapter: ChannelAdapter, server: LoopbackServer
    ) -> None:
        """Each code in the adapter's table raises a ChannelError with that code's meaning."""
        if not self.error_table:
            pytest.skip(f"{type(self).__name__} names no error_table to check")
        for code, meaning in self.error_table.items():
            server.answer(self.refused(code))
            error = self._fails(adapter)
            assert (code, meaning.permanent, meaning.revoked, meaning.scope) == (
                error.code,
                error.permanent,
                error.revoked,
                error.scope,
            )
            if meaning.retry_after is not None:
                # A hold the table prescribes is never cut short.
                assert error.retry_after is not None
                assert error.retry_after >= meaning.retry_after

    def test_unknown_error_code_is_transient(
        self, adapter: ChannelAdapter, server: LoopbackServer
    ) -> None:
        """A code the table does not know costs a retry, never the address or consent."""
        server.answer(self.refused("987654"))
        error = self._fails(adapter)
        assert not error.permanent
        assert not error.revoked
        assert error.scope is FaultScope.MESSAGE

    @_PER_ADAPTER
    @given(reply=_ANSWERS)
    def test_any_answer_gives_receipt_or_channel_error(
        self, adapter: ChannelAdapter, server: LoopbackServer, reply: Reply
    ) -> None:
        """Whatever the provider answers, send returns a Receipt or raises ChannelError."""
        server.answer(reply)
        try:
            receipt = adapter.send(self.message())
        except ChannelError:
            return
        assert isinstance(receipt, Receipt)
        assert 200 <= reply.status < 300
        assert receipt.provider_id


def _close(adapter: object) -> None:
    close = getattr(adapter, "close", None)
    if callable(close):
        close()
