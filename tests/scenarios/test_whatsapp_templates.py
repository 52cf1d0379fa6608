"""A WhatsApp recovery through ``recoverykit simulate``: every touch outside the 24-hour
window is an exported template, and what it delivers is the text the guard checked."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from recoverykit.runtime.cli import main

STORE = "Czajnik i Spółka"
SCENARIO: dict[str, Any] = {
    "description": "Anna leaves a kettle; each WhatsApp touch goes as an approved template",
    "store": {"name": STORE, "locale": "pl"},
    "policy": {"sequence": "whatsapp-three-touch"},
    "start": "2026-03-02T08:00:00Z",
    "until": "2026-03-10T00:00:00Z",
    "customers": [
        {
            "id": "c-anna",
            "first_name": "Anna",
            "phone": "+48601234567",
            "locale": "pl",
            "consent": [
                {
                    "channel": "whatsapp",
                    "purpose": "recovery",
                    "action": "granted",
                    "at": "2026-03-01T09:00:00Z",
                    "source": "checkout_checkbox",
                    "text": "Przypomnij mi o koszyku na WhatsAppie.",
                    "version": "pl-1",
                }
            ],
        }
    ],
    "checkouts": [
        {
            "id": "k-1",
            "customer": "c-anna",
            "stage": "shipping",
            "abandoned_at": "2026-03-02T09:00:00Z",
            "link": "https://czajnik.example/r/k1",
            "items": [
                {
                    "sku": "kettle-1",
                    "name": "Czajnik stalowy",
                    "quantity": 1,
                    "unit_price": {"amount": "149.00", "currency": "PLN"},
                    "category": "kuchnia",
                }
            ],
            "total": {"amount": "149.00", "currency": "PLN"},
            "friction": "shipping_cost",
        }
    ],
}


def _run(*argv: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert 0 == main(list(argv))
    return buffer.getvalue()


def _fill(body: str, parameters: list[str]) -> str:
    return re.sub(r"\{\{(\d+)\}\}", lambda m: parameters[int(m.group(1)) - 1], body)


def test_whatsapp_touches_deliver_the_checked_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Outside the window each touch names an exported template; its approved body with
    the logged parameters is the logged (checked) text, item name, menu and STOP included."""
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO, ensure_ascii=False), "utf-8")
    rows = [
        json.loads(line)
        for line in _run("simulate", str(scenario), "--format", "jsonl").splitlines()
    ]
    sends = [row for row in rows if row.get("kind") == "send"]
    assert ["remind", "help", "final"] == [row["message"] for row in sends]
    exported = json.loads(_run("templates", "export", "--store-name", STORE, "--language", "pl"))
    capsys.readouterr()
    bodies = {request["name"]: request for request in exported}
    for row in sends:
        request = bodies[row["template"]]
        body = request["components"][0]["text"]
        assert row["text"] == _fill(body, row["template_parameters"])
        assert "STOP" in [b["text"] for b in request["components"][-1]["buttons"]]
    assert "Czajnik stalowy" in sends[0]["text"]  # the main item, its only personal detail
    assert "Czajnik stalowy" in sends[0]["template_parameters"]
    help_buttons = [b["text"] for b in bodies[sends[1]["template"]]["components"][-1]["buttons"]]
    assert ["1", "2", "3", "STOP"] == help_buttons
    assert "Koszt dostawy" in sends[1]["text"]  # the friction help line reached the customer
