"""SMS segment arithmetic and smart encoding (reference/rules.md §4 and §8)."""

from __future__ import annotations

import pytest

from recoverykit.messages.sms import is_gsm7, smart_encode, sms_segments


@pytest.mark.parametrize(
    ("text", "segments", "units", "per_segment"),
    [
        ("", 1, 0, 160),
        ("a" * 160, 1, 160, 160),
        ("a" * 161, 2, 161, 153),
        ("a" * 306, 2, 306, 153),
        ("a" * 307, 3, 307, 153),
    ],
)
def test_ascii_fast_path(text: str, segments: int, units: int, per_segment: int) -> None:
    """Plain ASCII costs one septet a character: 160 in one SMS, 153 per part after."""
    info = sms_segments(text)
    assert ("GSM-7", segments, units, per_segment) == (
        info.encoding,
        info.segments,
        info.units,
        info.units_per_segment,
    )


def test_extension_characters_cost_two_septets() -> None:
    """`€ [ ] { } ^ ~ \\ |` and form feed are escape pairs: two septets each."""
    assert sms_segments("{}[]~^\\|€\f").units == 20
    assert sms_segments("€" * 81).segments == 2  # 162 septets: 76 pairs + 5 pairs
    assert sms_segments("€" * 80).segments == 1


def test_escape_pair_never_split() -> None:
    """An escape pair that does not fit moves whole to the next segment (rules.md §4.2)."""
    text = "a" * 152 + "€" + "a" * 152  # 306 septets, but the euro cannot straddle parts
    assert (sms_segments(text).units, sms_segments(text).segments) == (306, 3)


def test_c_cedilla_forces_ucs2_but_capital_does_not() -> None:
    """Only capital Ç is in GSM 03.38; ç flips the whole message to UCS-2 (§8.1)."""
    assert sms_segments("Ça va").encoding == "GSM-7"
    info = sms_segments("garçon")
    assert (info.encoding, info.forced_ucs2) == ("UCS-2", ("ç",))


def test_ucs2_limits_and_emoji_units() -> None:
    """UCS-2 holds 70 units alone, 67 per part; an emoji is two UTF-16 units."""
    assert (sms_segments("ж" * 70).segments, sms_segments("ж" * 70).units) == (1, 70)
    assert sms_segments("ж" * 71).segments == 2
    assert sms_segments("😀").units == 2
    assert sms_segments("hi 😀").forced_ucs2 == ("😀",)


def test_grapheme_cluster_never_split() -> None:
    """A flag (two regional indicators, four units) stays in one segment."""
    text = "ж" * 66 + "🇮🇹" + "ж" * 64  # 134 units: 67 + 67 by arithmetic, 66 + 68 whole
    info = sms_segments(text)
    assert (info.units, info.segments) == (134, 3)


def test_crlf_counts_as_two_characters() -> None:
    """Carriers see CR and LF as two characters, as Twilio's calculator does."""
    assert sms_segments("\r\n").units == 2


def test_smart_encode_replaces_look_alikes_only() -> None:
    """Curly quotes, dashes, odd spaces become ASCII; accented letters stay (§4.3)."""
    assert smart_encode("It’s “saved” – ok") == 'It\'s "saved" - ok'
    assert smart_encode("a\u00a0b") == "a b"
    assert smart_encode("garçon’s") == "garçon's"  # ç stays; the quote costs the same
    assert smart_encode("café") == "café"


def test_smart_encoding_counts_the_substituted_text() -> None:
    """With smart_encoding the count and the returned text are after substitution."""
    info = sms_segments("It’s saved", smart_encoding=True)
    assert (info.encoding, info.text) == ("GSM-7", "It's saved")


def test_smart_encode_never_grows_a_message() -> None:
    """An ellipsis is one UCS-2 unit but three septets: 70 of them stay as they are."""
    text = "…" * 70
    assert text == smart_encode(text)


def test_is_gsm7() -> None:
    """The alphabet check covers both tables and nothing else."""
    assert is_gsm7("Hello @ £5 {€}")
    assert not is_gsm7("`")
