"""E-mail over SMTP, with one-click unsubscribe (RFC 8058) built in.

Three pieces, all standard library:

* ``SMTPEmail`` sends a ``SendMessage`` as ``multipart/alternative`` (the text as
  written, and the same text as escaped HTML with clickable links) through any
  SMTP relay. Every e-mail carries ``List-Unsubscribe`` (a signed https link, and
  optionally a ``mailto:``) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``,
  which Gmail, Yahoo and Microsoft require of bulk senders (rules.md PW-5), plus the
  same link, visible, at the foot of the body.
* ``UnsubscribeLinks`` makes and checks those links: a signed token naming the
  customer and the address, laid out like a resume token (``recoverykit.links``)
  and signed with the same kind of rotating keys, but under its own label, so a
  resume token never passes as an unsubscribe token or the other way round.
* ``recoverykit.webhooks.OneClickUnsubscribe`` (a webhook parser, so it lives with
  the others) turns the POST a mail provider sends to that link into an
  ``UnsubscribeRequest`` for ``Runner.receive``.

**At most once.** SMTP has no idempotency key. The ``Message-ID`` derives from the
message's idempotency key, so a resend of the same key carries the same id and
mail systems that deduplicate on it see a duplicate. A failure before the message
body went out raises a transient ``ChannelError`` with code ``not_sent``; a broken
connection after it went out raises code ``outcome_unknown``: the relay may have
taken it.

**Why an expired unsubscribe link still works.** ``verify`` refuses a token after
its ``ttl`` (a store's landing page uses it before it shows the address), but a
one-click POST with a genuine, expired token is honoured: the signature proves
recoverykit made the link for that address, and stopping mail is always safe to
grant. Laws set a floor, not a ceiling (CAN-SPAM: the mechanism must work for at
least 30 days after sending; CASL: 60 days, rules.md §2.4), so ``ttl`` is at least
60 days and defaults to a year.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
import smtplib
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from types import MappingProxyType, TracebackType
from typing import Final, Self

import attrs

from ..engine.commands import SendMessage
from ..errors import ChannelError, InvalidInputError, LinkExpired, LinkInvalid
from ..messages.tokens import (
    check_base_url,
    check_ttl,
    convert_keys,
    expired,
    expiry_after,
    keys_repr,
    seal,
    unseal,
    utf8_id,
)
from ..protocols import Clock, Receipt, SystemClock
from ..values.model import Channel
from ..values.text import single_line
from ..values.time import require_aware
from .errors import NOT_SENT, OutcomeUnknown

__all__ = [
    "DEFAULT_UNSUBSCRIBE_TTL",
    "MAX_ADDRESS_BYTES",
    "MAX_CUSTOMER_ID_BYTES",
    "MIN_UNSUBSCRIBE_TTL",
    "UNSUBSCRIBE_LABELS",
    "SMTPEmail",
    "UnsubscribeLinks",
    "message_id",
    "subject_of",
]

#: ``ChannelError.code`` for a message that cannot be sent as it is (as the other adapters).
_INVALID: Final = "invalid_message"

#: The shortest ``ttl`` accepted: CASL's 60 days, the longest legal minimum in rules.md §2.4.
MIN_UNSUBSCRIBE_TTL: Final = timedelta(days=60)
#: How long an unsubscribe link verifies unless told otherwise.
DEFAULT_UNSUBSCRIBE_TTL: Final = timedelta(days=365)
#: Longest customer id in an unsubscribe token, in UTF-8 bytes (one length byte).
MAX_CUSTOMER_ID_BYTES: Final = 255
#: Longest e-mail address, in UTF-8 bytes (RFC 5321's path limit less the brackets).
MAX_ADDRESS_BYTES: Final = 254

#: The line above the visible unsubscribe link, by language; other languages get English.
UNSUBSCRIBE_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "en": "To stop these e-mails, unsubscribe here:",
        "pl": "Aby nie dostawać więcej takich wiadomości, wypisz się tutaj:",
        "ru": "Чтобы больше не получать такие письма, отпишитесь здесь:",
        "fr": "Pour ne plus recevoir ces e-mails, désabonnez-vous ici :",
    }
)

_DOMAIN: Final = b"recoverykit/unsubscribe\x00"
_LABEL: Final = "Unsubscribe token"
MAX_TOKEN_CHARS: Final = (
    1 + 4 + 15 + 1 + MAX_CUSTOMER_ID_BYTES + MAX_ADDRESS_BYTES + 16
) * 4 // 3 + 4
_MESSAGE_ID_DOMAIN: Final = b"recoverykit/message-id\x00"
_LONGEST_HEADLINE: Final = 150
_ADDRESS: Final = re.compile(
    r"[^@\s<>,;:\"()\[\]\\\x00-\x1f\x7f]+@[^@\s<>,;:\"()\[\]\\\x00-\x1f\x7f]+"
)
_URL: Final = re.compile(r"https?://[^\s<>\"']+")
_TRAILING: Final = ".,;:!?)]}"
_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
#: "Service not available, closing transmission channel": the relay hangs up.
_CLOSING: Final = 421


class _Policy(EmailPolicy):
    """The SMTP policy, except that ``List-Unsubscribe`` is written as given.

    The standard folder turns a URL longer than a line into RFC 2047 encoded words,
    which no mail provider reads as a link; this header is folded between its URIs
    instead, one URI to a line.
    """

    def fold(self, name: str, value: str) -> str:
        if name.lower() == "list-unsubscribe" and str(value).isascii():
            return _unfolded(name, value, self.linesep)
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == "list-unsubscribe" and str(value).isascii():
            return _unfolded(name, value, self.linesep).encode("ascii")
        return super().fold_binary(name, value)


def _unfolded(name: str, value: str, linesep: str) -> str:
    return f"{name}: " + f",{linesep} ".join(str(value).split(", ")) + linesep


# Bodies go out as quoted-printable or base64 unless plain ASCII, so no relay needs
# 8BITMIME; lines follow SMTP's CRLF.
_POLICY: Final = _Policy(linesep="\r\n", cte_type="7bit")
_UTF8_POLICY: Final = _POLICY.clone(utf8=True)


# -- addresses ---------------------------------------------------------------------------------
def _address_problem(value: object) -> str | None:
    """Why ``value`` cannot be used as an e-mail address, or ``None`` when it can."""
    if not isinstance(value, str):
        return f"an e-mail address must be a string (got {type(value).__name__})"
    if not _ADDRESS.fullmatch(value):
        return f"{value!r} is not a plain e-mail address such as name@example.com"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_ADDRESS_BYTES:
        return f"{value[:40]!r}... is longer than {MAX_ADDRESS_BYTES} bytes"
    return None


def _checked_address(value: object, what: str) -> str:
    problem = _address_problem(value)
    if problem is not None:
        msg = f"{what}: {problem}"
        raise InvalidInputError(msg)
    assert isinstance(value, str)
    return value


def _wire_address(address: str) -> tuple[str, bool]:
    """The address as SMTP commands carry it, and whether it needs SMTPUTF8.

    A non-ASCII domain becomes its IDNA (``xn--``) form, which every relay takes; a
    non-ASCII local part can only travel with the SMTPUTF8 extension.
    """
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    wire = f"{local}@{domain}"
    return wire, not wire.isascii()


# -- unsubscribe links -----------------------------------------------------------------------
def _check_unsubscribe_ttl(
    inst: object, attribute: attrs.Attribute[timedelta], value: timedelta
) -> None:
    check_ttl(inst, attribute, value)
    if value < MIN_UNSUBSCRIBE_TTL:
        msg = (
            f"ttl of an unsubscribe link must be at least {MIN_UNSUBSCRIBE_TTL.days} days "
            f"(got {value}); CASL wants the mechanism to work that long after sending"
        )
        raise InvalidInputError(msg)


@attrs.frozen
class UnsubscribeLinks:
    """Makes and checks signed one-click unsubscribe links for one store.

    ``keys`` maps key ids to secrets exactly as for ``ResumeLinks`` (the first signs,
    all verify; rotate by putting a new key first); use different secrets for the two
    if you like, though a separate label already keeps the tokens apart. ``base_url``
    is where the store's unsubscribe endpoint lives (https, ending in ``/``). Example::

        links = UnsubscribeLinks({"a": secret}, "https://shop.example/unsubscribe/")
        url = links.url("cus-42", "ann@example.com", now=now)
        customer_id, address = links.verify(token, now=now)

    The token holds the address in readable form (base64 is an encoding, not a
    cipher): treat the endpoint's access logs as personal data.
    """

    #: Key id to secret, in order; the first signs. Secrets never appear in ``repr``.
    keys: Mapping[str, bytes] = attrs.field(converter=convert_keys, repr=keys_repr, hash=False)
    #: The unsubscribe endpoint's URL; a token is appended to it.
    base_url: str = attrs.field(validator=check_base_url)
    #: How long ``verify`` accepts a link (one-click requests are honoured after it too).
    ttl: timedelta = attrs.field(default=DEFAULT_UNSUBSCRIBE_TTL, validator=_check_unsubscribe_ttl)

    def token(self, customer_id: str, address: str, *, now: datetime) -> str:
        """A token naming ``customer_id`` and ``address``, good until ``now + ttl``."""
        require_aware(now, "now")
        cid = utf8_id(customer_id, "customer_id", MAX_CUSTOMER_ID_BYTES)
        addr = utf8_id(_checked_address(address, "address"), "address", MAX_ADDRESS_BYTES)
        payload = bytes([len(cid)]) + cid + addr
        return seal(self.keys, expiry_after(now, self.ttl), payload, domain=_DOMAIN)

    def url(self, customer_id: str, address: str, *, now: datetime) -> str:
        """The full one-click link for ``List-Unsubscribe`` and the body's footer."""
        return self.base_url + self.token(customer_id, address, now=now)

    def verify(self, token: str, *, now: datetime) -> tuple[str, str]:
        """``(customer_id, address)`` from a genuine, unexpired ``token``.

        Raises `LinkInvalid` for anything malformed, tampered with or signed by an
        unknown key, and `LinkExpired` once ``now`` reaches the expiry.
        """
        require_aware(now, "now")
        expiry, customer_id, address = self.read(token)
        if expired(now, expiry):
            msg = f"Unsubscribe link for customer {customer_id!r} expired at {expiry} (Unix time)"
            raise LinkExpired(msg)
        return customer_id, address

    def read(self, token: object) -> tuple[int, str, str]:
        """The expiry (Unix time), customer id and address of a genuinely signed token,
        expired or not: the one-click endpoint honours expired links (see the module).

        Raises `LinkInvalid` for anything malformed, tampered with or signed by an
        unknown key.
        """
        expiry, payload = unseal(
            self.keys,
            token,
            domain=_DOMAIN,
            label=_LABEL,
            payload_name="customer id",
            max_chars=MAX_TOKEN_CHARS,
        )
        cid_len = payload[0]
        if cid_len == 0 or len(payload) <= 1 + cid_len:
            raise LinkInvalid(f"{_LABEL} has no customer id or no address")
        try:
            customer_id = payload[1 : 1 + cid_len].decode("utf-8")
            address = payload[1 + cid_len :].decode("utf-8")
        except UnicodeDecodeError:
            raise LinkInvalid(f"{_LABEL} carries text that is not UTF-8") from None
        if _address_problem(address) is not None:
            raise LinkInvalid(f"{_LABEL} carries no usable e-mail address")
        return expiry, customer_id, address


# -- composing -------------------------------------------------------------------------------
def message_id(idempotency_key: str, domain: str) -> str:
    """The ``Message-ID`` (without angle brackets) for a message's idempotency key.

    Stable: the same key always gives the same id, so a resend is recognisable.
    The key is hashed, so the id is always a valid dot-atom whatever the key holds.
    """
    digest = hashlib.sha256(_MESSAGE_ID_DOMAIN + idempotency_key.encode("utf-8")).hexdigest()
    return f"rk.{digest[:40]}@{domain}"


def subject_of(message: SendMessage) -> str:
    """The subject line: ``message.subject``, else the text's one-line headline.

    The built-in e-mail wordings open with a headline (``{store_name}: your checkout
    is saved``) followed by a blank line; that line is the fallback. Anything else
    raises a permanent ``ChannelError`` (code ``invalid_message``): a subject made up
    here could say something the store never wrote.
    """
    subject = message.subject
    if subject is None:
        first, sep, rest = message.text.partition("\n")
        # One line by construction: a carriage return or another control character in
        # the headline (from a value inside it) must never split or inject a header.
        first = single_line(first)
        if sep and rest.startswith("\n") and 0 < len(first) <= _LONGEST_HEADLINE:
            return first
        msg = (
            f"E-mail {message.idempotency_key!r} has no subject: set SendMessage.subject, or "
            "open the text with a one-line headline followed by a blank line"
        )
        raise ChannelError(msg, permanent=True, code=_INVALID)
    if not subject.strip() or "\r" in subject or "\n" in subject:
        msg = f"E-mail {message.idempotency_key!r} has an empty or multi-line subject {subject!r}"
        raise ChannelError(msg, permanent=True, code=_INVALID)
    return single_line(subject)


def _language(locale: str) -> str:
    return re.split(r"[-_]", locale, maxsplit=1)[0].lower()


def _linked(line: str) -> str:
    """One line of text as HTML: escaped, with each http(s) URL made a link."""
    out: list[str] = []
    position = 0
    for found in _URL.finditer(line):
        url = found.group()
        while url and url[-1] in _TRAILING and not (url[-1] == ")" and "(" in url):
            url = url[:-1]
        start, end = found.start(), found.start() + len(url)
        out.append(html.escape(line[position:start]))
        out.append(f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>')
        position = end
    out.append(html.escape(line[position:]))
    return "".join(out)


def _paragraphs(text: str) -> list[str]:
    blocks = re.split(r"\n[ \t]*\n", text.strip())
    return ["<br>\n".join(_linked(line) for line in block.split("\n")) for block in blocks if block]


def _html(text: str, *, language: str, subject: str, foot: list[str]) -> str:
    body = "\n".join(f"<p>{paragraph}</p>" for paragraph in _paragraphs(text))
    small = "<br>\n".join(_linked(line) for line in foot)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(language, quote=True)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(subject)}</title>\n</head>\n"
        '<body style="font-family: sans-serif; line-height: 1.5;">\n'
        f"{body}\n<hr>\n"
        f'<p style="font-size: small; color: #555;">{small}</p>\n'
        "</body>\n</html>\n"
    )


# -- sending ---------------------------------------------------------------------------------
class SMTPEmail:
    """Sends e-mail through an SMTP relay, one connection kept open between sends.

    ``sender`` is the ``From`` address (``"Shop <hello@shop.example>"``); its domain
    also names every ``Message-ID``. ``unsubscribe`` makes the per-recipient links.
    ``unsubscribe_mailto`` adds a ``mailto:`` to ``List-Unsubscribe``; ``footer``
    adds lines under the visible link (CAN-SPAM wants a postal address in US
    commercial mail). ``unsubscribe_labels`` overrides the line above the link per
    language (see ``UNSUBSCRIBE_LABELS``).

    Transport security: ``starttls=True`` upgrades a plain connection (port 587),
    ``implicit_tls=True`` speaks TLS from the start (port 465); ``ssl_context``
    defaults to ``ssl.create_default_context()``. Credentials are refused without
    one of the two unless the relay is on this machine.

    Errors: a 5xx answer to the recipient or the message is permanent; 4xx
    answers, timeouts and lost connections are transient. A refused sender (any
    code) or a failed login (code ``auth``) is transient too: the recipient is not
    at fault, and marking them undeliverable would be wrong. ``ChannelError.code``
    is the SMTP reply code (``"550"``) where the relay gave one. Not thread-safe:
    give each worker its own.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        unsubscribe: UnsubscribeLinks,
        unsubscribe_mailto: str | None = None,
        footer: str | None = None,
        unsubscribe_labels: Mapping[str, str] | None = None,
        starttls: bool = False,
        implicit_tls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(host, str) or not host or any(ch.isspace() for ch in host):
            msg = f"host must be a host name or address (got {host!r})"
            raise InvalidInputError(msg)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            msg = f"port must be a whole number from 1 to 65535 (got {port!r})"
            raise InvalidInputError(msg)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            msg = f"timeout must be a positive number of seconds (got {timeout!r})"
            raise InvalidInputError(msg)
        if not isinstance(unsubscribe, UnsubscribeLinks):
            msg = f"unsubscribe must be UnsubscribeLinks (got {type(unsubscribe).__name__})"
            raise InvalidInputError(msg)
        if not unsubscribe.base_url.isascii():
            msg = (
                f"unsubscribe.base_url {unsubscribe.base_url!r} must be ASCII to stand in a "
                "header; write the host in its IDNA (xn--) form"
            )
            raise InvalidInputError(msg)
        if starttls and implicit_tls:
            msg = "choose starttls (port 587) or implicit_tls (port 465), not both"
            raise InvalidInputError(msg)
        if (username is None) != (password is None):
            msg = "give both username and password, or neither"
            raise InvalidInputError(msg)
        if username is not None and not (starttls or implicit_tls) and host not in _LOOPBACK:
            msg = (
                f"username given for {host!r} without starttls or implicit_tls; the password "
                "would cross the network in clear text"
            )
            raise InvalidInputError(msg)
        name, addr = parseaddr(sender) if isinstance(sender, str) else ("", "")
        self._sender = _checked_address(addr, "sender")
        self._sender_wire, self._sender_utf8 = _wire_address(self._sender)
        try:
            self._from = Address(display_name=name, addr_spec=self._sender_wire)
        except ValueError as exc:
            msg = f"sender {sender!r} cannot be written as a From header: {exc}"
            raise InvalidInputError(msg) from None
        if (
            unsubscribe_mailto is not None
            and not _checked_address(unsubscribe_mailto, "unsubscribe_mailto").isascii()
        ):
            msg = f"unsubscribe_mailto {unsubscribe_mailto!r} must be an ASCII address"
            raise InvalidInputError(msg)
        if footer is not None and not isinstance(footer, str):
            msg = f"footer must be a string (got {type(footer).__name__})"
            raise InvalidInputError(msg)
        self.channel = Channel.EMAIL
        self.host = host
        self.port = port
        self.unsubscribe = unsubscribe
        self.timeout = float(timeout)
        self._mailto = unsubscribe_mailto
        self._footer = footer.strip().splitlines() if footer else []
        self._labels = {**UNSUBSCRIBE_LABELS, **(unsubscribe_labels or {})}
        self._starttls = starttls
        self._implicit_tls = implicit_tls
        self._context = ssl_context
        self._username = username
        self._password = password
        self._local_hostname = local_hostname
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._smtp: smtplib.SMTP | None = None

    # -- the message ---------------------------------------------------------------------------
    def build(self, message: SendMessage, *, now: datetime) -> EmailMessage:
        """The e-mail ``send`` would hand to the relay at ``now`` (for previews and tests).

        Raises a permanent ``ChannelError`` when the message cannot become an e-mail:
        another channel, a bad address, no subject (see `subject_of`).
        """
        require_aware(now, "now")
        if message.channel is not Channel.EMAIL:
            msg = (
                f"SMTPEmail sends e-mail only; {message.idempotency_key!r} is for {message.channel}"
            )
            raise ChannelError(msg, permanent=True, code=_INVALID)
        problem = _address_problem(message.to)
        if problem is not None:
            msg = f"E-mail {message.idempotency_key!r} cannot go to {message.to!r}: {problem}"
            raise ChannelError(msg, permanent=True, code=_INVALID)
        subject = subject_of(message)
        link = self.unsubscribe.url(message.customer_id, message.to, now=now)
        language = _language(message.locale)
        foot = [self._labels.get(language, self._labels["en"]), link, *self._footer]
        text = message.text.rstrip()
        recipient, utf8 = _wire_address(message.to)
        email = EmailMessage(policy=_UTF8_POLICY if utf8 or self._sender_utf8 else _POLICY)
        email["From"] = self._from
        email["To"] = recipient
        email["Subject"] = subject
        email["Date"] = format_datetime(now.astimezone(UTC))
        domain = self._sender_wire.rpartition("@")[2]
        email["Message-ID"] = f"<{message_id(message.idempotency_key, domain)}>"
        targets = [f"<{link}>"]
        if self._mailto is not None:
            targets.append(f"<mailto:{self._mailto}?subject=unsubscribe>")
        email["List-Unsubscribe"] = ", ".join(targets)
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(text + "\n\n-- \n" + "\n".join(foot) + "\n")
        email.add_alternative(
            _html(text, language=language, subject=subject, foot=foot), subtype="html"
        )
        return email

    def send(self, message: SendMessage) -> Receipt:
        """Hand the e-mail to the relay; the receipt's id is the ``Message-ID``."""
        now = self._clock.now()
        email = self.build(message, now=now)
        recipient, utf8 = _wire_address(message.to)
        self._transmit(recipient, email.as_bytes(), utf8=utf8 or self._sender_utf8)
        return Receipt(provider_id=str(email["Message-ID"]).strip("<>"), accepted_at=now)

    # -- the wire ------------------------------------------------------------------------------
    def _transmit(self, recipient: str, data: bytes, *, utf8: bool) -> None:
        # A kept connection may have been closed by the relay while idle. Nothing went
        # out then, so a fresh connection gets one more try.
        tries = 2 if self._smtp is not None else 1
        reason = ""
        for _ in range(tries):
            try:
                self._envelope(self._connection(), recipient, data, utf8=utf8)
            except _Stale as exc:
                reason = str(exc)
            else:
                return
        msg = f"SMTP relay {self._where()} broke the connection before sending: {reason}"
        raise ChannelError(msg, permanent=False, code=NOT_SENT)

    def _envelope(self, smtp: smtplib.SMTP, recipient: str, data: bytes, *, utf8: bool) -> None:
        """MAIL, RCPT, DATA for one message, knowing at each step whether it went out."""
        try:
            if utf8 and not smtp.has_extn("smtputf8"):
                msg = (
                    f"{recipient!r} needs the SMTPUTF8 extension, which relay "
                    f"{self.host}:{self.port} does not offer"
                )
                raise ChannelError(msg, permanent=True, code="smtputf8")
            code, reply = smtp.mail(self._sender_wire, ["SMTPUTF8"] if utf8 else [])
            if code == _CLOSING:
                raise smtplib.SMTPServerDisconnected(f"{code} {reply.decode('utf-8', 'replace')}")
            if code != 250:
                self._reset(smtp)
                raise _refusal("sender", code, reply, self._where())
            code, reply = smtp.rcpt(recipient)
            if code not in {250, 251}:
                self._reset(smtp)
                raise _refusal("recipient", code, reply, self._where())
            code, reply = smtp.docmd("DATA")
            if code != 354:
                self._reset(smtp)
                raise _refusal("message", code, reply, self._where())
        except OSError as exc:  # smtplib's own errors are OSErrors too
            self._drop()
            raise _Stale(f"{type(exc).__name__}: {exc}") from exc
        try:
            smtp.send(re.sub(rb"(?m)^\.", b"..", data) + b".\r\n")
            code, reply = smtp.getreply()
        except OSError as exc:
            self._drop()
            msg = (
                f"SMTP relay {self._where()} dropped the connection after the message went "
                f"out ({type(exc).__name__}: {exc}); it may have been accepted"
            )
            raise OutcomeUnknown(msg) from exc
        if code != 250:
            raise _refusal("message", code, reply, self._where())

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        context = self._context
        if context is None and (self._starttls or self._implicit_tls):
            context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if self._implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self._local_hostname,
                    timeout=self.timeout,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout
                )
            smtp.ehlo_or_helo_if_needed()
            if self._starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._username is not None and self._password is not None:
                smtp.login(self._username, self._password)
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(smtp)
            msg = (
                f"SMTP relay {self._where()} refused the login ({exc.smtp_code}); "
                "check the credentials"
            )
            raise ChannelError(msg, permanent=False, code="auth") from None
        except smtplib.SMTPNotSupportedError as exc:
            _quietly_close(smtp)
            msg = f"SMTP relay {self._where()} lacks a feature this adapter was told to use: {exc}"
            raise ChannelError(msg, permanent=False, code="config") from None
        except (smtplib.SMTPException, OSError) as exc:
            _quietly_close(smtp)
            msg = f"SMTP relay {self._where()} could not be reached ({type(exc).__name__}: {exc})"
            raise ChannelError(msg, permanent=False, code=NOT_SENT) from exc
        self._smtp = smtp
        return smtp

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """End a refused transaction so the kept connection can carry the next one."""
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        _quietly_close(smtp)

    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Say goodbye to the relay and close the kept connection, if any."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                _quietly_close(smtp)

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
        return f"SMTPEmail({self.host!r}, {self.port}, sender={self._sender!r})"


class _Stale(Exception):
    """The connection failed before the message went out (internal signal)."""


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()


def _refusal(stage: str, code: int, reply: bytes, where: str) -> ChannelError:
    """What an SMTP refusal means for the runner; ``code`` is the reply code as text.

    ``stage`` is what was refused: the ``sender`` (our side, so never permanent: the
    recipient is not at fault), the ``recipient`` or the ``message`` (5xx permanent,
    anything else transient).
    """
    said = reply.decode("utf-8", "replace").strip()[:200]
    permanent = 500 <= code < 600 and stage != "sender"
    hint = "; check the sender address and the relay's permissions" if stage == "sender" else ""
    msg = f"SMTP relay {where} refused the {stage} with {code} {said!r}{hint}"
    return ChannelError(msg, permanent=permanent, code=str(code))
