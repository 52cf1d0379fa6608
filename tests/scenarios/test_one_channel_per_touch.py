"""Never two channels for one touch (issue 20, item 4), told through ``recoverykit simulate``.

The issue's example: help-first after a 23:40 abandonment sent an e-mail at 09:00 and
a text at 09:05. "Only if the e-mail was not opened" cannot be judged where opens are
not reported, and e-mail and texts now keep a shared gap.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recoverykit.runtime.cli import main

PARIS_2340 = "2026-03-10T22:40:00Z"  # 23:40 in Paris

#: Claire agreed to texts and e-mail at checkout, then left at 23:40.
SCENARIO: dict[str, Any] = {
    "store": {"name": "Maison Lune", "locale": "fr"},
    "until": "2026-03-20T00:00:00Z",
    "policy": {"sequence": "help-first"},
    "customers": [
        {
            "id": "claire", "first_name": "Claire", "phone": "+33612345678",
            "email": "claire@example.fr", "locale": "fr",
            "consent": [
                {"channel": channel, "purpose": "recovery", "action": "granted",
                 "at": "2026-03-01T09:00:00Z", "source": "checkout_checkbox",
                 "text": "Oui, rappelez-moi.", "version": "1"}
                for channel in ("sms", "email")
            ],
        }
    ],
    "checkouts": [
        {
            "id": "k1", "customer": "claire", "abandoned_at": PARIS_2340,
            "link": "https://lune.example/r/k1",
            "items": [{"sku": "S1", "name": "Bougie", "quantity": 1,
                       "unit_price": {"amount": "39.00", "currency": "EUR"}}],
            "total": {"amount": "39.00", "currency": "EUR"},
        }
    ],
}  # fmt: skip


def simulate(tmp_path: Path, **changes: Any) -> list[dict[str, Any]]:
    data = json.loads(json.dumps(SCENARIO))
    for key, value in changes.items():
        if key == "policy":
            data["policy"].update(value)
        else:
            data[key] = value
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["simulate", str(path), "--format", "jsonl"]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def sends(rows: list[dict[str, Any]]) -> list[tuple[int, str, datetime]]:
    return [
        (row["touch"], row["channel"], datetime.fromisoformat(row["at"]))
        for row in rows
        if row["kind"] == "send"
    ]


def opens(read: float) -> dict[str, Any]:
    """Receipts where every e-mail is delivered and ``read`` of them opened."""
    return {"seed": 3, "email": {"delivered": 1.0, "failed": 0.0, "read": read}}


def test_help_first_without_open_tracking_never_texts_after_the_e_mail(tmp_path: Path) -> None:
    """The issue's example: the e-mail goes at 09:00; the text that waits for "not opened"
    is skipped with a note, since nothing reports e-mail opens; only e-mails follow."""
    rows = simulate(tmp_path)
    sent = sends(rows)
    assert [(1, "email"), (3, "email"), (4, "email")] == [(t, c) for t, c, _ in sent]
    assert "2026-03-11 09:00" == next(r["local"] for r in rows if r["kind"] == "send")
    [skip] = [r for r in rows if r["kind"] == "skip"]
    assert (2, "condition") == (skip["touch"], skip["reason"])
    assert "cannot tell whether touch 1 was opened" in skip["detail"]


def test_with_opens_tracked_an_unopened_e_mail_gets_its_text_twelve_hours_on(
    tmp_path: Path,
) -> None:
    """A store that tracks opens lists e-mail in ``read_signals``: an unopened e-mail gets
    its text, but never sooner than the 12 h gap, and inside the contact hours; the next
    e-mail keeps the same gap after the text."""
    rows = simulate(
        tmp_path, policy={"read_signals": ["whatsapp", "viber", "email"]}, receipts=opens(0.0)
    )
    sent = sends(rows)
    assert [1, 2, 3, 4] == [touch for touch, _, _ in sent]
    assert ["email", "sms", "email", "email"] == [channel for _, channel, _ in sent]
    for (_, before, earlier), (_, after, later) in itertools.pairwise(sent):
        if before != after:
            assert later - earlier >= timedelta(hours=12)
    assert any(r["kind"] == "defer" and r["rule"] == "channel-gap" for r in rows)


def test_with_opens_tracked_an_opened_e_mail_gets_no_text(tmp_path: Path) -> None:
    """Opened: the text is skipped because it was read, not sent on a second channel."""
    rows = simulate(
        tmp_path, policy={"read_signals": ["whatsapp", "viber", "email"]}, receipts=opens(1.0)
    )
    assert "sms" not in [channel for _, channel, _ in sends(rows)]
    [skip] = [r for r in rows if r["kind"] == "skip"]
    assert "touch 1 was opened" == skip["detail"]


def test_simulated_opens_arrive_only_where_the_store_tracks_them(tmp_path: Path) -> None:
    """Without e-mail in ``read_signals`` the simulated providers report no e-mail opens,
    whatever the receipt rates: a store that tracks none would never see one."""
    rows = simulate(tmp_path, receipts=opens(1.0))
    types = [r.get("type") for r in rows if r["kind"] == "event"]
    assert "MessageDelivered" in types
    assert "MessageRead" not in types


def test_a_plain_e_mail_then_text_sequence_keeps_the_gap(tmp_path: Path) -> None:
    """No condition at all: an e-mail at 1 h and a text at 4 h are still 12 h apart; with
    ``channel_gap: null`` the store gets the old behaviour back (and the text at 09:00)."""
    sequence = {
        "name": "mail-then-text",
        "touches": [
            {"delay": "1h", "purpose": "remind", "message": "remind", "channel": "email"},
            {"delay": "4h", "purpose": "remind", "message": "nudge", "channel": "sms"},
        ],
    }
    gapped = sends(simulate(tmp_path, policy={"sequence": sequence}))
    assert ["email", "sms"] == [channel for _, channel, _ in gapped]
    assert gapped[1][2] - gapped[0][2] >= timedelta(hours=12)
    close = sends(simulate(tmp_path, policy={"sequence": sequence, "channel_gap": None}))
    assert close[1][2] - close[0][2] < timedelta(hours=1)
