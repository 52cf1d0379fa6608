"""Words that help (issue 20, item 7), told through ``recoverykit simulate``: the first touch
after a failed card payment, offers beyond a code, and the Polish practice's second touch."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recoverykit.runtime.cli import main


def scenario(policy: dict[str, Any], *, friction: str | None = None) -> dict[str, Any]:
    """Ola (Warsaw, texts) leaves a 240 zł cart at payment on a Monday at 10:00."""
    checkout: dict[str, Any] = {
        "id": "k1", "customer": "ola", "stage": "payment",
        "abandoned_at": "2026-03-09T09:00:00Z", "link": "https://sklep.example/r/k1",
        "items": [{"sku": "S1", "name": "Czajnik", "quantity": 1,
                   "unit_price": {"amount": "240.00", "currency": "PLN"}}],
        "total": {"amount": "240.00", "currency": "PLN"},
    }  # fmt: skip
    if friction is not None:
        checkout["friction"] = friction
    return {
        "store": {"name": "Sklep Ola", "locale": "pl"},
        "until": "2026-03-20T00:00:00Z",
        "policy": policy,
        "customers": [
            {
                "id": "ola", "first_name": "Ola", "phone": "+48601234567", "locale": "pl",
                "consent": [{"channel": "sms", "purpose": "recovery", "action": "granted",
                             "at": "2026-03-01T09:00:00Z", "source": "checkout_checkbox",
                             "text": "Tak, przypomnij mi SMS-em.", "version": "1"}],
            }
        ],
        "checkouts": [checkout],
    }  # fmt: skip


def sends(tmp_path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["simulate", str(path), "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return [row for row in rows if row["kind"] == "send"]


def test_a_card_that_failed_gets_a_first_touch_about_the_card(tmp_path: Path) -> None:
    """Friction ``payment_failed``: touch 1 names the card and 3-D Secure, in Polish."""
    sent = sends(tmp_path, scenario({"sequence": "sms-three-touch"}, friction="payment_failed"))
    first = sent[0]
    assert (1, "remind.payment") == (first["touch"], first["message"])
    assert "karta lub 3-D Secure" in first["text"]
    other = sends(tmp_path, scenario({"sequence": "sms-three-touch"}, friction="shipping_cost"))
    assert "remind" == other[0]["message"]
    assert "3-D Secure" not in other[0]["text"]


def test_free_delivery_goes_out_as_a_real_code_on_the_last_touch(tmp_path: Path) -> None:
    """``discounts.offer: free_shipping``: the simulated issuer makes a code for it and the
    last touch words free delivery with the code and its deadline; earlier touches do not."""
    policy = {"sequence": "messenger-escalation", "channels": ["sms"],
              "discounts": {"offer": "free_shipping"}}  # fmt: skip
    sent = sends(tmp_path, scenario(policy))
    assert ["remind.payment", "help", "final.free_shipping"] == [s["message"] for s in sent]
    assert "SIM-0001" in sent[-1]["text"]
    assert "darmową dostawę" in sent[-1]["text"]
    assert all("SIM-" not in s["text"] for s in sent[:-1])


def test_instalments_need_no_code(tmp_path: Path) -> None:
    """``discounts.offer: instalments``: the last touch says so; no code is made."""
    policy = {"sequence": "messenger-escalation", "channels": ["sms"],
              "discounts": {"offer": "instalments"}}  # fmt: skip
    final = sends(tmp_path, scenario(policy))[-1]
    assert "final.instalments" == final["message"]
    assert "w ratach" in final["text"]
    assert "SIM-" not in final["text"]


def test_the_second_touch_goes_six_hours_after_the_first(tmp_path: Path) -> None:
    """The Polish practice: a reminder at 30 min and a second touch 6 h later. The default
    cap lets it go on time (it used to hold it 12 h, into the evening and the next day)."""
    sequence = {
        "name": "polish-practice",
        "touches": [
            {"delay": "30m", "purpose": "remind", "message": "remind"},
            {"delay": "390m", "purpose": "help", "message": "help"},
            {"delay": "30h", "purpose": "final", "message": "final"},
        ],
    }
    sent = sends(tmp_path, scenario({"sequence": sequence}))
    at = [datetime.fromisoformat(s["at"]) for s in sent]
    assert 3 == len(at)
    assert timedelta(hours=6) == at[1] - at[0]
