"""One folding for matching text, shared by reply reading and the message guard."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from recoverykit.policies.replies import normalize_reply
from recoverykit.policies.text import fold, fold_words


def test_fold_reads_as_the_customer_meant() -> None:
    """Width, case, accents on Latin letters, apostrophes, ``ё`` and punctuation fold away."""
    assert fold("ＡＲＲÊＴ, s'il vous plaît 🙏") == "arret sil vous plait"
    assert fold("Don’t  MISS!!") == "dont miss"
    assert fold("ЕЩЁ раз") == "еще раз"
    assert fold_words("Łódź 2") == ["lodz", "2"]


@given(st.text(max_size=300))
def test_replies_and_the_guard_fold_alike(text: str) -> None:
    """``normalize_reply`` is ``fold`` (on the part of a reply that is read), and folding
    twice changes nothing."""
    assert normalize_reply(text) == fold(text)
    assert fold(fold(text)) == fold(text)
