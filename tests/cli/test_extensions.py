"""``centralino extensions ...``: the same use-cases as the API, from a shell.

Exit codes (README): 0 done, 2 bad input naming the field, 3 not found,
4 conflict. Every change is audited as ``cli:<user>``.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from centralino.domain.audit import AuditAction
from centralino.domain.ports import AuditQuery
from tests.cli.conftest import Cli, cli_actor, on_data_dir


def _json(text: str) -> Any:
    return json.loads(text)


def test_add_prints_the_extension_with_generated_credentials(cli: Cli) -> None:
    outcome = cli("extensions", "add", "101", "first_name=Ada", "last_name=Lovelace")
    assert outcome.code == 0, outcome.stderr
    created = _json(outcome.stdout)
    assert created["number"] == "101"
    assert (created["first_name"], created["last_name"]) == ("Ada", "Lovelace")
    assert len(created["auth_id"]) >= 4
    assert len(created["auth_password"]) >= 16
    assert set(created["auth_password"]) <= set(string.ascii_letters + string.digits)
    assert created["voicemail"]["pin"].isdigit()
    assert len(created["voicemail"]["pin"]) >= 4


def test_add_reads_values_of_every_kind(cli: Cli) -> None:
    cli("extensions", "add", "101")
    outcome = cli(
        "extensions",
        "add",
        "102",
        "voicemail.pin=0246",
        "options.disabled=true",
        "forwarding.profiles.available.no_answer_seconds=35",
        'dids=["+390612345678"]',
        'forwarding.profiles.dnd.internal={"type":"extension","number":"101"}',
        "first_name=[Temp] Grace",
    )
    assert outcome.code == 0, outcome.stderr
    created = _json(outcome.stdout)
    assert created["voicemail"]["pin"] == "0246"
    assert created["options"]["disabled"] is True
    assert created["forwarding"]["profiles"]["available"]["no_answer_seconds"] == 35
    assert created["dids"] == ["+390612345678"]
    assert created["forwarding"]["profiles"]["dnd"]["internal"] == {
        "type": "extension",
        "number": "101",
    }
    assert created["first_name"] == "[Temp] Grace"


def test_a_number_of_the_wrong_length_is_bad_input(cli: Cli) -> None:
    outcome = cli("extensions", "add", "10")
    assert outcome.code == 2
    assert "number:" in outcome.stderr
    assert "3 digits" in outcome.stderr
    assert cli("extensions", "show", "10").code == 3


def test_a_bad_setting_is_bad_input_naming_the_field(cli: Cli) -> None:
    before = _json(cli("extensions", "add", "101").stdout)
    outcome = cli("extensions", "set", "101", "voicemail.pin=12")
    assert outcome.code == 2
    assert "voicemail.pin: must be 4 to 10 digits" in outcome.stderr
    assert _json(cli("extensions", "show", "101").stdout) == before


def test_every_bad_field_is_named(cli: Cli) -> None:
    outcome = cli("extensions", "add", "101", "email=nope", 'blf_keys=[{"position": 1}]')
    assert outcome.code == 2
    assert "email:" in outcome.stderr
    assert "blf_keys.0.kind: is required and must be one of: blf," in outcome.stderr


def test_an_assignment_without_equals_is_bad_input(cli: Cli) -> None:
    outcome = cli("extensions", "add", "101", "first_name")
    assert outcome.code == 2
    assert "first_name: must be written FIELD=VALUE" in outcome.stderr
    assert cli("extensions", "show", "101").code == 3


def test_an_unknown_extension_is_not_found(cli: Cli) -> None:
    for command in (["show", "999"], ["set", "999", "first_name=X"], ["delete", "999"]):
        outcome = cli("extensions", *command)
        assert outcome.code == 3, command
        assert "999" in outcome.stderr


def test_a_duplicate_number_is_a_conflict(cli: Cli) -> None:
    first = _json(cli("extensions", "add", "101", "first_name=Ada").stdout)
    outcome = cli("extensions", "add", "101", "first_name=Eve")
    assert outcome.code == 4
    assert "101" in outcome.stderr
    assert _json(cli("extensions", "show", "101").stdout) == first


def test_a_duplicate_auth_id_is_a_conflict(cli: Cli) -> None:
    cli("extensions", "add", "101", "auth_id=shared.id")
    assert cli("extensions", "add", "102", "auth_id=shared.id").code == 4
    assert cli("extensions", "show", "102").code == 3


def test_list_show_set_delete(cli: Cli) -> None:
    for number, name in (("101", "Ada"), ("102", "Grace"), ("103", "Alan")):
        assert cli("extensions", "add", number, f"first_name={name}").code == 0
    listing = cli("extensions", "list")
    assert listing.code == 0
    assert all(name in listing.stdout for name in ("Ada", "Grace", "Alan"))
    assert "3 of 3" in listing.stdout
    found = cli("extensions", "list", "--search", "grace")
    assert "Grace" in found.stdout
    assert "Ada" not in found.stdout
    assert "1 of 1" in found.stdout
    paged = cli("extensions", "list", "--sort", "number", "--desc", "--limit", "1")
    assert "103" in paged.stdout
    assert "1 of 3" in paged.stdout

    changed = cli("extensions", "set", "102", "last_name=Hopper", "options.disabled=true")
    assert changed.code == 0, changed.stderr
    shown = _json(cli("extensions", "show", "102").stdout)
    assert (shown["first_name"], shown["last_name"]) == ("Grace", "Hopper")
    assert shown["options"]["disabled"] is True

    deleted = cli("extensions", "delete", "102")
    assert deleted.code == 0
    assert "deleted 102" in deleted.stdout
    assert cli("extensions", "show", "102").code == 3
    assert "2 of 2" in cli("extensions", "list").stdout


def test_set_null_restores_the_default(cli: Cli) -> None:
    cli("extensions", "add", "101", "email=ada@example.com", "voicemail.email_mode=attach")
    outcome = cli("extensions", "set", "101", "email=null", "voicemail.email_mode=null")
    assert outcome.code == 0, outcome.stderr
    shown = _json(outcome.stdout)
    assert shown["email"] is None
    assert shown["voicemail"]["email_mode"] == "notify"


def test_every_change_is_audited_as_the_cli_user(cli: Cli, data_dir: Path) -> None:
    cli("extensions", "add", "101", "first_name=Ada")
    cli("extensions", "set", "101", "last_name=Lovelace", "voicemail.pin=4321")
    cli("extensions", "delete", "101")
    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery(resource_id="101")))
    entries = sorted(page.items, key=lambda entry: entry.at)
    assert [entry.action for entry in entries] == [
        AuditAction.CREATE,
        AuditAction.UPDATE,
        AuditAction.DELETE,
    ]
    assert {entry.actor for entry in entries} == {cli_actor()}
    update = entries[1]
    assert update.before is not None
    assert update.after is not None
    assert update.before["first_name"] == update.after["first_name"] == "Ada"
    assert (update.before["last_name"], update.after["last_name"]) == ("", "Lovelace")
    assert update.after["voicemail"]["pin"] == "********"  # secrets are masked


def test_a_rejected_change_is_not_audited(cli: Cli, data_dir: Path) -> None:
    cli("extensions", "add", "101")
    cli("extensions", "set", "101", "voicemail.pin=1")
    cli("extensions", "add", "101")
    page = on_data_dir(data_dir, lambda s: s.audit.search(AuditQuery()))
    assert [entry.action for entry in page.items] == [AuditAction.CREATE]
