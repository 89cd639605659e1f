"""The installed ``centralino`` script, one process per command, as from a shell.

Every command is a new process on the same SQLite file: what one stored, the
next one reads (persistence across restarts).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli


def test_a_session_of_commands_persists_across_processes(
    centralino_process: Cli, tmp_path: Path
) -> None:
    run = centralino_process
    created = run("extensions", "add", "101", "first_name=Ada")
    assert created.code == 0, created.stderr
    generated = json.loads(created.stdout)

    shown = run("extensions", "show", "101")
    assert shown.code == 0
    assert json.loads(shown.stdout) == generated  # generated credentials kept

    assert run("extensions", "set", "101", "voicemail.pin=2468").code == 0
    assert json.loads(run("extensions", "show", "101").stdout)["voicemail"]["pin"] == "2468"

    exported = tmp_path / "all.csv"
    assert run("extensions", "export", str(exported)).code == 0
    assert run("extensions", "delete", "101").code == 0
    assert run("extensions", "show", "101").code == 3
    assert run("extensions", "import", str(exported)).code == 0
    assert (
        json.loads(run("extensions", "show", "101").stdout)["auth_password"]
        == (generated["auth_password"])
    )


def test_exit_codes_and_messages_of_a_real_process(centralino_process: Cli) -> None:
    run = centralino_process
    bad = run("extensions", "add", "10")
    assert (bad.code, bad.stdout) == (2, "")
    assert bad.stderr.startswith("error: number: must have 3 digits")
    assert "Traceback" not in bad.stderr
    assert run("extensions", "show", "404").code == 3
    assert run("extensions", "add", "101").code == 0
    assert run("extensions", "add", "101").code == 4
