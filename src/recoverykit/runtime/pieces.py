"""A JSON document read piece by piece: the top object's members, big arrays item by item.

A scenario of tens of thousands of checkouts is a file of tens of megabytes; read
whole, its text and the objects ``json`` builds from it take several times that, all
before the first checkout is checked. This reader goes through the file in chunks
and hands over one top-level member at a time, and for the members named as
``streamed`` one array item at a time, so a caller can check each item and let its
raw form go.

It reads only the plain shape: one object, no repeated top-level key. Anything else
(a syntax error, a repeated key, text that is not UTF-8, nesting too deep) raises
`Unstreamable`, and the caller reads the file whole the ordinary way, which reports
the problem exactly as it always has.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, Final

__all__ = ["Streamed", "Unstreamable", "members"]

#: Bytes read from the file at a time.
CHUNK: Final = 1 << 20
_WHITESPACE: Final = frozenset(" \t\n\r")
#: What may follow a number that is complete.
_AFTER_NUMBER: Final = frozenset(",]}") | _WHITESPACE
_DECODER: Final = json.JSONDecoder()


class Unstreamable(Exception):
    """The file is not in the plain shape this reader takes; read it whole instead."""


class Streamed:
    """A top-level array member whose items are read on demand, in order, once."""

    def __init__(self, reader: _Reader) -> None:
        self._reader = reader
        self._used = False

    @property
    def used(self) -> bool:
        """Whether its items were asked for (they can be, once)."""
        return self._used

    def __iter__(self) -> Iterator[Any]:
        if self._used:
            msg = "a streamed array is read once"
            raise RuntimeError(msg)
        self._used = True
        return self._reader.array_items()


def members(path: Path, streamed: Collection[str]) -> Iterator[tuple[str, Any]]:
    """The members of the object in ``path`` in file order.

    The value of a key in ``streamed`` that holds an array comes as a `Streamed`,
    which must be read to its end before the next member is asked for; every
    other value comes whole. Raises `Unstreamable` (at any point) when the file is
    not a plain JSON object; ``OSError`` when it cannot be read.
    """
    with path.open("rb") as handle:
        reader = _Reader(handle)
        yield from reader.members(streamed)


class _Reader:
    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._decode = codecs.getincrementaldecoder("utf-8-sig")()
        self._text = ""
        self._at = 0
        self._eof = False

    # -- the buffer -------------------------------------------------------------------------
    def _more(self) -> bool:
        """Read the next chunk; ``False`` at the end of the file."""
        if self._eof:
            return False
        raw = self._handle.read(CHUNK)
        try:
            text = self._decode.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise Unstreamable from None
        if not raw:
            self._eof = True
        if self._at > CHUNK:
            self._text = self._text[self._at :]
            self._at = 0
        self._text += text
        return bool(raw) or bool(text)

    def _char(self) -> str:
        """The next character that is not whitespace ("" at the end), left unread."""
        while True:
            text, at = self._text, self._at
            while at < len(text) and text[at] in _WHITESPACE:
                at += 1
            self._at = at
            if at < len(text):
                return text[at]
            if not self._more():
                return ""

    def _expect(self, char: str) -> None:
        if self._char() != char:
            raise Unstreamable
        self._at += 1

    def _value(self) -> Any:
        """Decode one JSON value here, reading more of the file until it is whole."""
        self._char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._at)
            except json.JSONDecodeError:
                if self._more():
                    continue
                raise Unstreamable from None
            except RecursionError:
                raise Unstreamable from None
            # A number cut by the chunk's end ("42" of "425", "1.5" of "1.5e3") decodes
            # too: take it only once the character after it shows that it ended.
            if (
                isinstance(value, int | float)
                and (end >= len(self._text) or self._text[end] not in _AFTER_NUMBER)
                and self._more()
            ):
                continue
            self._at = end
            return value

    # -- the shapes -------------------------------------------------------------------------
    def members(self, streamed: Collection[str]) -> Iterator[tuple[str, Any]]:
        self._expect("{")
        seen: set[str] = set()
        if self._char() == "}":
            self._at += 1
        else:
            while True:
                if self._char() != '"':
                    raise Unstreamable
                key = self._value()
                if key in seen:
                    raise Unstreamable  # json keeps the last one; reading whole does the same
                seen.add(key)
                self._expect(":")
                if key in streamed and self._char() == "[":
                    self._at += 1
                    items = Streamed(self)
                    yield key, items
                    if not items.used:  # the caller skipped it: read past it
                        for _ in items:
                            pass
                else:
                    yield key, self._value()
                if self._closed_by("}"):
                    break
        if self._char() != "":
            raise Unstreamable  # text after the object

    def array_items(self) -> Iterator[Any]:
        if self._char() == "]":
            self._at += 1
            return
        while True:
            yield self._value()
            if self._closed_by("]"):
                return

    def _closed_by(self, closing: str) -> bool:
        """Step past the comma after an item (``False``) or the ``closing`` bracket."""
        following = self._char()
        self._at += 1
        if following == closing:
            return True
        if following != ",":
            raise Unstreamable
        return False
