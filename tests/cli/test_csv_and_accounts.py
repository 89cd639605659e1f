"""CSV import/export and console passwords from the shell."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from centralino.domain.audit import AuditAction
from centralino.domain.errors import Unauthorized
from centralino.domain.ports import AuditQuery
from tests.cli.conftest import Cli, cli_actor, on_data_dir

NEW_PASSWORD = "correct-horse-battery-staple"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_then_import_into_a_fresh_data_dir_round_trips(cli: Cli, tmp_path: Path) -> None:
    cli("extensions", "add", "101", "first_name=Ada", "email=ada@example.com")
    cli("extensions", "add", "102", "first_name=[Temp] Grace", 'dids=["+390612345678"]')
    cli(
        "extensions",
        "add",
        "103",
        'forwarding.profiles.dnd.internal={"type":"extension","number":"101"}',
        'blf_keys=[{"kind":"blf","position":1,"number":"102","label":"Grace"}]',
    )
    exported = tmp_path / "extensions.csv"
    outcome = cli("extensions", "export", str(exported))
    assert outcome.code == 0, outcome.stderr
    assert [row["number"] for row in _rows(exported.read_text())] == ["101", "102", "103"]

    fresh = tmp_path / "fresh"
    imported = cli("extensions", "import", str(exported), data_dir=fresh)
    assert imported.code == 0, imported.stderr
    assert "imported 3 extensions" in imported.stdout
    for number in ("101", "102", "103"):
        original = json.loads(cli("extensions", "show", number).stdout)
        copy = json.loads(cli("extensions", "show", number, data_dir=fresh).stdout)
        assert copy == original  # credentials included
    again = cli("extensions", "export", data_dir=fresh)
    assert again.stdout == exported.read_text()


def test_export_to_stdout(cli: Cli) -> None:
    cli("extensions", "add", "101", "first_name=Ada")
    outcome = cli("extensions", "export")
    assert outcome.code == 0
    [row] = _rows(outcome.stdout)
    assert (row["number"], row["first_name"]) == ("101", "Ada")
    assert row["auth_password"]


def test_a_file_with_one_bad_row_stores_nothing_and_names_row_and_column(
    cli: Cli, data_dir: Path, tmp_path: Path
) -> None:
    cli("extensions", "add", "100", "first_name=Existing")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,first_name,voicemail.pin\n201,Ann,1234\n202,Bob,12\n203,Cy,5678\n",
        encoding="utf-8",
    )
    outcome = cli("extensions", "import", str(bad))
    assert outcome.code == 2
    assert "row 2, voicemail.pin: must be 4 to 10 digits" in outcome.stderr
    listing = cli("extensions", "list")
    assert "1 of 1" in listing.stdout
    assert all(cli("extensions", "show", n).code == 3 for n in ("201", "202", "203"))
    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery()))
    assert [entry.action for entry in page.items] == [AuditAction.CREATE]


def test_an_import_clashing_with_a_stored_number_is_bad_input_naming_the_row(
    cli: Cli, tmp_path: Path
) -> None:
    cli("extensions", "add", "202")
    clash = tmp_path / "clash.csv"
    clash.write_text("number,first_name\n201,Ann\n202,Bob\n", encoding="utf-8")
    outcome = cli("extensions", "import", str(clash))
    assert outcome.code == 2  # a file's problems are all "bad input", row by row
    assert "row 2, number: extension 202 already exists" in outcome.stderr
    assert cli("extensions", "show", "201").code == 3


def test_an_unreadable_file_is_bad_input(cli: Cli, tmp_path: Path) -> None:
    missing = cli("extensions", "import", str(tmp_path / "nope.csv"))
    assert missing.code == 2
    assert "cannot read" in missing.stderr
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00number\n")
    assert cli("extensions", "import", str(binary)).code == 2


def test_imported_rows_are_audited_as_the_cli_user(
    cli: Cli, data_dir: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("number,first_name\n201,Ann\n202,Bob\n", encoding="utf-8")
    assert cli("extensions", "import", str(good)).code == 0
    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery()))
    assert sorted(entry.resource_id for entry in page.items) == ["201", "202"]
    assert {entry.action for entry in page.items} == {AuditAction.IMPORT}
    assert {entry.actor for entry in page.items} == {cli_actor()}


def test_admin_password_changes_the_owner_password(cli: Cli, data_dir: Path) -> None:
    on_data_dir(data_dir, lambda s: s.accounts.ensure_owner("the-first-password"))
    outcome = cli("admin", "password", "--password", NEW_PASSWORD)
    assert outcome.code == 0, outcome.stderr
    assert "password of 'admin' changed" in outcome.stdout
    token = on_data_dir(data_dir, lambda s: s.accounts.login("admin", NEW_PASSWORD))
    assert token
    with pytest.raises(Unauthorized):
        on_data_dir(data_dir, lambda s: s.accounts.login("admin", "the-first-password"))
    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery(resource="account")))
    [entry] = page.items
    assert (entry.action, entry.actor, entry.resource_id) == (
        AuditAction.CHANGE_PASSWORD,
        cli_actor(),
        "admin",
    )


def test_admin_password_before_the_first_start_creates_the_owner(cli: Cli, data_dir: Path) -> None:
    assert cli("admin", "password", "--password", NEW_PASSWORD).code == 0
    assert on_data_dir(data_dir, lambda s: s.accounts.login("admin", NEW_PASSWORD))
    assert on_data_dir(data_dir, lambda s: s.accounts.ensure_owner()) is None


def test_a_weak_password_is_bad_input_and_changes_nothing(cli: Cli, data_dir: Path) -> None:
    outcome = cli("admin", "password", "--password", "short")
    assert outcome.code == 2
    assert "password: must be at least" in outcome.stderr
    # no owner was created with an unknown password: the first start still makes one
    assert on_data_dir(data_dir, lambda s: s.accounts.ensure_owner()) is not None


def test_an_unknown_account_is_not_found(cli: Cli) -> None:
    outcome = cli("admin", "password", "--username", "nobody", "--password", NEW_PASSWORD)
    assert outcome.code == 3
    assert "nobody" in outcome.stderr


def test_admin_password_prompts_twice_when_not_given(cli: Cli, data_dir: Path) -> None:
    from typer.testing import CliRunner

    from centralino.cli.main import app

    result = CliRunner().invoke(
        app,
        ["admin", "password", "--data-dir", str(data_dir)],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert on_data_dir(data_dir, lambda s: s.accounts.login("admin", NEW_PASSWORD))
