"""``centralino extensions status`` and ``centralino routing simulate``."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli


def _setup(cli: Cli) -> None:
    for number in ("101", "102"):
        assert cli("extensions", "add", number).code == 0
    forwarding = {"status": "dnd", "profiles": {"dnd": {"external": {"type": "end_call"}}}}
    assert cli("extensions", "set", "101", f"forwarding={json.dumps(forwarding)}").code == 0


def test_status_reads_and_sets(cli: Cli) -> None:
    _setup(cli)
    assert cli("extensions", "status", "101").stdout.strip() == "101: dnd (Do Not Disturb)"
    changed = cli("extensions", "status", "101", "lunch")
    assert changed.code == 0, changed.stderr
    assert changed.stdout.strip() == "101: lunch (Lunch)"
    bad = cli("extensions", "status", "101", "asleep")
    assert bad.code == 2
    assert "status" in bad.stderr


def test_simulate_prints_the_call_and_the_plan(cli: Cli) -> None:
    _setup(cli)
    outcome = cli(
        "routing", "simulate", "101", "--from", "+390612345678", "--at", "2026-12-01 13:05"
    )
    assert outcome.code == 0, outcome.stderr
    text = outcome.stdout
    assert "Call from +390612345678 (an external call) to extension 101" in text
    assert "At Tue 2026-12-01 13:05 Europe/Rome" in text
    assert "assumed registered" in text
    assert "status Do Not Disturb: calls forward immediately" in text
    assert "→ end the call: 603" in text


def test_simulate_as_json_and_bad_input(cli: Cli) -> None:
    _setup(cli)
    outcome = cli("routing", "simulate", "101", "--from", "102", "--json")
    assert json.loads(outcome.stdout)["plan"]["first"]["type"] == "send_to_voicemail"
    assert cli("routing", "simulate", "101", "--from", "102", "--at", "noon").code == 2
    assert cli("routing", "simulate", "999", "--from", "102").code == 3
