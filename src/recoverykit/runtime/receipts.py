"""Simulated delivery, read and failure receipts for ``recoverykit simulate``.

A scenario without receipts shows a delivery rate of a few per cent, which says
only that nobody wrote the receipts in. With a ``receipts`` setting, every touch
the simulated providers accept gets what a real provider would send back, drawn
at the scenario's rates: most are delivered a little later, many of those on a
messenger are read some time after, a few fail for good (a number that no longer
exists), and the rest stay silent, as some carriers do. Each draw comes from a
hash of the seed and the message's idempotency key, so a run is reproducible and
one message's fate never depends on how many others went before it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ..engine.commands import SendMessage
from ..engine.events import MessageDelivered, MessageFailed, MessageRead
from ..errors import InvalidInputError
from ..values.loading import Problems, expect_mapping
from ..values.loading import unknown_keys as _unknown_keys
from ..values.model import Channel

__all__ = ["DEFAULT_RATES", "Receipt", "ReceiptRates", "SimulatedReceipts", "load_receipts"]

#: The failure code a simulated permanent failure carries.
FAILURE_CODE: Final = "unreachable"


def _share(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        msg = f"{attribute.name} must be a share from 0 to 1 (got {value!r}); e.g. 0.97"
        raise InvalidInputError(msg)


@attrs.frozen
class ReceiptRates:
    """What one channel's provider reports back, as shares of the messages sent.

    ``failed`` of all sends fail for good; ``delivered`` of all sends are
    delivered; ``read`` is the share of delivered ones that are read (0 where the
    channel has no read receipts, as SMS). Whatever is left gets no receipt.
    """

    delivered: float = attrs.field(validator=_share)
    read: float = attrs.field(default=0.0, validator=_share)
    failed: float = attrs.field(default=0.0, validator=_share)
    #: Typical time from send to delivery, and from delivery to reading.
    delivery_after: timedelta = timedelta(seconds=20)
    read_after: timedelta = timedelta(minutes=40)

    def __attrs_post_init__(self) -> None:
        if self.delivered + self.failed > 1:
            msg = (
                f"delivered ({self.delivered}) and failed ({self.failed}) add up to more "
                "than every message; lower one of them"
            )
            raise InvalidInputError(msg)


#: Rates in line with what stores see: texts and messengers are delivered almost
#: always, messengers read 70-90 % of the time, e-mail opened far less often.
DEFAULT_RATES: Final[Mapping[Channel, ReceiptRates]] = {
    Channel.SMS: ReceiptRates(delivered=0.97, failed=0.02),
    Channel.WHATSAPP: ReceiptRates(delivered=0.96, read=0.82, failed=0.02),
    Channel.TELEGRAM: ReceiptRates(delivered=0.99, read=0.85, failed=0.005),
    Channel.VIBER: ReceiptRates(delivered=0.95, read=0.75, failed=0.02),
    Channel.EMAIL: ReceiptRates(
        delivered=0.98, read=0.3, failed=0.01, delivery_after=timedelta(minutes=1),
        read_after=timedelta(hours=3),
    ),
}  # fmt: skip

Receipt = MessageDelivered | MessageRead | MessageFailed


@attrs.frozen
class SimulatedReceipts:
    """Receipts for each simulated send, drawn at ``rates`` from ``seed``."""

    rates: Mapping[Channel, ReceiptRates] = attrs.field(factory=lambda: dict(DEFAULT_RATES))
    seed: int = 0

    def _draw(self, message: SendMessage, what: str) -> float:
        text = f"{self.seed}:{message.idempotency_key}:{message.attempt}:{what}"
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def for_send(self, message: SendMessage, sent_at: datetime) -> list[Receipt]:
        """The receipts a touch gets, in time order; replies and unknown channels get none."""
        rates = self.rates.get(message.channel)
        if rates is None or message.touch is None:
            return []
        touch, channel, checkout = message.touch, message.channel, message.checkout_id
        ident = f"sim-{message.idempotency_key}-{message.attempt}"
        fate = self._draw(message, "fate")
        delivered_at = sent_at + rates.delivery_after * (0.5 + self._draw(message, "delay"))
        if fate < rates.failed:
            return [
                MessageFailed(
                    checkout, touch, channel, delivered_at, permanent=True, code=FAILURE_CODE,
                    attempt=message.attempt, id=f"{ident}-failed",
                )
            ]  # fmt: skip
        if fate >= rates.failed + rates.delivered:
            return []
        found: list[Receipt] = [
            MessageDelivered(checkout, touch, channel, delivered_at, id=f"{ident}-delivered")
        ]
        if self._draw(message, "read") < rates.read:
            # Most people read soon; some only hours later.
            spread = 0.1 + 3 * self._draw(message, "read-delay") ** 2
            read_at = delivered_at + rates.read_after * spread
            found.append(MessageRead(checkout, touch, channel, read_at, id=f"{ident}-read"))
        return found


_RATE_KEYS: Final = frozenset({"delivered", "read", "failed"})


def load_receipts(raw: Any, path: str, problems: Problems) -> SimulatedReceipts | None:
    """Load ``{"seed": 7, "sms": {"delivered": 0.97, "failed": 0.02}, ...}``.

    Channels not named keep `DEFAULT_RATES`; every problem goes to ``problems``.
    """
    mapping = expect_mapping(raw, path, problems)
    if mapping is None:
        return None
    _unknown_keys(mapping, frozenset({"seed", *(c.value for c in Channel)}), path, problems)
    seed = mapping.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.add(f"{path}.seed", f"expected a whole number, got {seed!r:.60}")
        seed = 0
    rates = dict(DEFAULT_RATES)
    for channel in Channel:
        if channel.value not in mapping:
            continue
        here = f"{path}.{channel.value}"
        given = expect_mapping(mapping[channel.value], here, problems)
        if given is None:
            continue
        _unknown_keys(given, _RATE_KEYS, here, problems)
        base = DEFAULT_RATES[channel]
        try:
            rates[channel] = attrs.evolve(
                base, **{key: given[key] for key in _RATE_KEYS if key in given}
            )
        except (InvalidInputError, TypeError) as exc:
            problems.add(here, str(exc))
    return SimulatedReceipts(rates, seed)
