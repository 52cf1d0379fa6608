"""The HTTP plumbing every provider adapter shares: one client, timeouts, error classes.

An adapter speaks its provider's dialect (form fields for Twilio, JSON for the
WhatsApp Cloud API and Telegram); what happens on the wire is the same for all of
them, so it lives here once. ``HttpTransport`` keeps one ``httpx.Client`` (so
connections are reused between sends), applies a timeout to every request, and
sorts failures into three kinds the runner can act on:

* the request never reached the provider (a refused connection, a connect
  timeout): ``ChannelError(permanent=False, code="not_sent")``, safe to retry;
* the request may have reached it (the connection broke or timed out after the
  request went out): ``OutcomeUnknown``, a transient ``ChannelError`` whose
  ``code`` is ``"outcome_unknown"``. Retrying it may send twice;
* the provider answered ``5xx``: the request reached it and it may have queued the
  message before failing, so this is ``OutcomeUnknown`` too, never a plain retry;
* the provider answered and refused: ``429`` and ``408`` are transient
  (``code="http_429"`` and so on); every refusal raises ``ProviderRefused`` (a
  transient ``ChannelError``), carrying the status, the parsed body and the
  ``Retry-After`` pause the provider asked for, for the adapter to map through
  ``recoverykit.channels.errors``. An adapter that forgets to map one still
  raises a transient ``ChannelError``: an unmapped refusal costs a retry, never
  a customer's consent.

Requires ``httpx`` (``pip install 'recoverykit[channels]'``).
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self, TypeAlias
from urllib.parse import urlencode

from .._version import __version__
from ..engine.commands import SendMessage
from ..errors import ChannelError, FaultScope, InvalidInputError
from ..protocols import Clock, Receipt, SystemClock
from .errors import NOT_SENT, OUTCOME_UNKNOWN, OutcomeUnknown, retry_after_header

try:
    import httpx
except ModuleNotFoundError as exc:  # pragma: no cover - exercised without the extra only
    raise ModuleNotFoundError(
        "recoverykit's provider adapters need httpx: pip install 'recoverykit[channels]'",
        name=exc.name,
    ) from exc

__all__ = [
    "Client",
    "HttpChannel",
    "HttpTransport",
    "NOT_SENT",
    "OUTCOME_UNKNOWN",
    "OutcomeUnknown",
    "ProviderRefused",
]

#: The client type adapters accept (so they need not import httpx themselves).
Client: TypeAlias = httpx.Client

#: Failures that happen before a byte of the request reaches the provider.
_NOT_SENT_ERRORS: Final = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
)
#: Statuses that say "try again later" whatever the provider.
_TRANSIENT_STATUSES: Final = frozenset({408, 425, 429})
_TOO_MANY: Final = 429
#: How much of an unexpected body goes into an error message.
_EXCERPT: Final = 200


class ProviderRefused(ChannelError):
    """The provider answered with a status that is neither success nor "try later".

    Raised as a transient error so that an unmapped refusal is retried; adapters
    catch it and raise the meaning their provider's error code has instead.
    """

    #: The HTTP status the provider answered with.
    status: int
    #: The parsed JSON body, or ``None`` when the body was not JSON.
    body: Any

    def __init__(
        self, message: str, *, status: int, body: Any, retry_after: timedelta | None = None
    ) -> None:
        self.status = status
        self.body = body
        # A 429 concerns the sender as a whole, not this message's recipient.
        scope = FaultScope.CHANNEL if status == _TOO_MANY else FaultScope.MESSAGE
        super().__init__(
            message,
            permanent=False,
            code=f"http_{status}",
            scope=scope,
            retry_after=retry_after,
        )


class HttpTransport:
    """One provider's HTTP endpoint: a base URL, default headers, a timeout, one client.

    Pass ``client`` to share a pool (or a mock transport) between adapters; the
    transport then leaves closing it to you. Without one it opens its own and
    ``close()`` (or leaving a ``with`` block) releases it.

    ``provider`` names the service in error messages (``"Twilio"``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
            msg = f"base_url must be an http(s) URL (got {base_url!r})"
            raise InvalidInputError(msg)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            msg = f"timeout must be a positive number of seconds (got {timeout!r})"
            raise InvalidInputError(msg)
        sent_as_is = dict(headers or {})
        if auth is not None:
            sent_as_is.update({"the user name": auth[0], "the secret": auth[1]})
        for name, value in sent_as_is.items():
            if not isinstance(value, str) or not value.isascii() or not value.isprintable():
                # Name the setting, never the value: it is usually a credential.
                msg = f"{name} must be printable ASCII text (check for a pasted line break)"
                raise InvalidInputError(msg)
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.timeout = float(timeout)
        self._headers = {"User-Agent": f"recoverykit/{__version__}", **(headers or {})}
        self._auth = httpx.BasicAuth(*auth) if auth is not None else None
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(verify=_tls())

    # -- requests ------------------------------------------------------------------------------
    def post_form(
        self,
        path: str,
        data: Mapping[str, str] | Sequence[tuple[str, str]],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """POST form fields to ``path``; the parsed JSON answer (``None`` if not JSON)."""
        fields = list(data.items()) if isinstance(data, Mapping) else list(data)
        content = urlencode(fields).encode()
        merged = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self._request("POST", path, content=content, headers=merged)

    def post_json(
        self, path: str, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> Any:
        """POST a JSON body to ``path``; the parsed JSON answer (``None`` if not JSON)."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        merged = {"Content-Type": "application/json", **(headers or {})}
        return self._request("POST", path, content=content, headers=merged)

    def _request(
        self, method: str, path: str, *, content: bytes, headers: Mapping[str, str]
    ) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = self._client.request(
                method,
                url,
                content=content,
                headers={**self._headers, **headers},
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                timeout=self.timeout,
            )
        except _NOT_SENT_ERRORS as exc:
            msg = f"{self.provider} could not be reached at {url} ({type(exc).__name__}: {exc})"
            raise ChannelError(msg, permanent=False, code=NOT_SENT) from exc
        except httpx.TransportError as exc:
            msg = (
                f"{self.provider} did not answer {method} {url} "
                f"({type(exc).__name__}: {exc}); the request may have been accepted"
            )
            raise OutcomeUnknown(msg) from exc
        body = _parse(response)
        status = response.status_code
        if 200 <= status < 300:
            return body
        excerpt = _excerpt(body, response)
        if status >= 500:
            msg = (
                f"{self.provider} answered {status} to {method} {url} after the request "
                f"arrived; it may have accepted the message: {excerpt}"
            )
            raise OutcomeUnknown(msg)
        wait = retry_after_header(response.headers.get("Retry-After"), now=self._now())
        if status in _TRANSIENT_STATUSES:
            hint = f"; it asks to retry after {wait}" if wait is not None else ""
            msg = f"{self.provider} answered {status} to {method} {url}{hint}: {excerpt}"
        else:
            msg = f"{self.provider} refused {method} {url} with {status}: {excerpt}"
        raise ProviderRefused(msg, status=status, body=body, retry_after=wait)

    def _now(self) -> datetime:
        return datetime.now(UTC)

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Release the connection pool, unless it was passed in."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r}, provider={self.provider!r})"


class HttpChannel:
    """What every HTTP adapter shares: its transport, its clock and its lifetime.

    A subclass builds its ``HttpTransport`` and hands it over with the clock that
    stamps receipts (``SystemClock`` when none is given). One ``httpx.Client`` then
    serves every send (pass ``client`` to the transport to share a pool); call
    ``close()`` when done, or use the adapter as a context manager.
    """

    def __init__(self, transport: HttpTransport, clock: Clock | None) -> None:
        self._http = transport
        self._clock: Clock = clock if clock is not None else SystemClock()

    def _receipt(self, provider_id: object, message: SendMessage, answer: Any) -> Receipt:
        """A receipt for ``provider_id``; an accepting answer that names no id is
        ``OutcomeUnknown`` (the provider may have queued the message all the same)."""
        if not isinstance(provider_id, str) or not provider_id:
            msg = (
                f"{self._http.provider} accepted message {message.idempotency_key!r} "
                f"but its answer names no message id: {answer!r:.200}"
            )
            raise OutcomeUnknown(msg)
        return Receipt(provider_id=provider_id, accepted_at=self._clock.now())

    def close(self) -> None:
        """Release the connection pool (unless it was passed in)."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (CA bundle loaded once) for every adapter in the process."""
    return httpx.create_ssl_context()


def _parse(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _excerpt(body: Any, response: httpx.Response) -> str:
    text = json.dumps(body, ensure_ascii=False) if body is not None else response.text
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"
