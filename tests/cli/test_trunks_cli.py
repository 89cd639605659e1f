"""``centralino trunks ...`` and ``centralino outbound-rules ...``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from centralino.admin.context import SYSTEM_ACTOR
from centralino.admin.services import ManagementServices
from centralino.cli.main import app
from centralino.domain.audit import AuditAction
from centralino.domain.ports import AuditQuery
from centralino.domain.trunks import Trunk
from tests.cli.conftest import Cli, Outcome, cli_actor, on_data_dir

PASSWORD = "provider-s3cret-password"


def _with_input(data_dir: Path, text: str, *arguments: str) -> Outcome:
    result = CliRunner().invoke(app, [*arguments, "--data-dir", str(data_dir)], input=text)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _stored(data_dir: Path, name: str) -> Trunk:
    async def read(services: ManagementServices) -> Trunk:
        return await services.trunks.get(SYSTEM_ACTOR, name)

    return on_data_dir(data_dir, read)


def test_add_with_the_password_on_stdin_never_prints_it(data_dir: Path) -> None:
    added = _with_input(
        data_dir,
        f"{PASSWORD}\n",
        *("trunks", "add", "voip", "--host", "sip.example.net", "--register"),
        *("--username", "0212345", "--password-stdin", "--did", "+390212345678,+390212345679"),
        *("--allowed-address", "192.0.2.0/24", "--default-destination", "voicemail:101"),
    )
    # voicemail:101 names an extension that does not exist: nothing is stored.
    assert added.code == 2, added.stdout
    assert "default_destination.number" in added.stderr
    assert "no extension 101" in added.stderr

    added = _with_input(
        data_dir,
        f"{PASSWORD}\n",
        *("trunks", "add", "voip", "--host", "sip.example.net", "--register"),
        *("--username", "0212345", "--password-stdin", "--did", "+390212345678,+390212345679"),
        *("--allowed-address", "192.0.2.0/24", "--default-destination", "number:+390699999"),
        "--transport",
        "tcp",
    )
    assert added.code == 0, added.stderr
    document = json.loads(added.stdout)
    assert document["registration"]["password_set"] is True
    assert document["dids"] == ["+390212345678", "+390212345679"]
    assert document["default_destination"] == {"type": "number", "number": "+390699999"}
    assert document["transport"] == "tcp"
    assert PASSWORD not in added.stdout + added.stderr
    trunk = _stored(data_dir, "voip")
    assert trunk.registration.password == PASSWORD
    assert trunk.allowed_addresses == ["192.0.2.0/24"]


def test_add_register_prompts_for_the_password(data_dir: Path) -> None:
    added = _with_input(
        data_dir,
        f"{PASSWORD}\n{PASSWORD}\n",
        *("trunks", "add", "voip", "--host", "sip.example.net", "--register"),
        *("--username", "0212345"),
    )
    assert added.code == 0, added.stderr
    assert PASSWORD not in added.stdout
    assert _stored(data_dir, "voip").registration.password == PASSWORD


def test_set_changes_only_what_is_given_and_keeps_the_password(cli: Cli, data_dir: Path) -> None:
    added = cli(
        *("trunks", "add", "voip", "--host", "sip.example.net", "--register"),
        *("--username", "0212345", "--password", PASSWORD, "--caller-id", "+390212345600"),
    )
    assert added.code == 0, added.stderr
    changed = cli("trunks", "set", "voip", "--port", "5070", "--caller-id", "")
    assert changed.code == 0, changed.stderr
    document = json.loads(changed.stdout)
    assert (document["port"], document["caller_id"]) == (5070, None)
    trunk = _stored(data_dir, "voip")
    assert trunk.registration.password == PASSWORD
    assert trunk.registration.username == "0212345"

    shown = cli("trunks", "show", "voip")
    assert json.loads(shown.stdout)["port"] == 5070
    assert PASSWORD not in shown.stdout
    listed = cli("trunks", "list")
    assert "sip.example.net:5070/udp" in listed.stdout
    assert "0212345" in listed.stdout
    as_json = json.loads(cli("trunks", "list", "--json").stdout)
    assert [t["name"] for t in as_json] == ["voip"]
    status = json.loads(cli("trunks", "status", "voip").stdout)
    assert (status["known"], status["registration"], status["up"]) == (False, "unknown", None)

    async def audit(services: ManagementServices) -> list[tuple[AuditAction, str]]:
        page = await services.audit.search(AuditQuery(resource="trunk"))
        return [(entry.action, entry.actor) for entry in page.items]

    assert on_data_dir(data_dir, audit) == [
        (AuditAction.UPDATE, cli_actor()),
        (AuditAction.CREATE, cli_actor()),
    ]


def test_bad_trunk_input_exits_2_naming_the_field(cli: Cli) -> None:
    bad = cli("trunks", "add", "voip", "--host", "sip.example.net", "--did", "0212345")
    assert bad.code == 2
    assert "dids.0" in bad.stderr
    destination = cli("trunks", "add", "voip", "--host", "h", "--default-destination", "bogus")
    assert destination.code == 2
    assert "default_destination" in destination.stderr
    both = cli("trunks", "add", "voip", "--host", "h", "--password", "x", "--ask-password")
    assert both.code == 2
    assert "registration.password" in both.stderr
    assert cli("trunks", "show", "absent").code == 3
    assert json.loads(cli("trunks", "list", "--json").stdout) == []


def test_outbound_rules_and_a_trunk_in_use(cli: Cli) -> None:
    assert cli("trunks", "add", "voip", "--host", "sip.example.net").code == 0
    assert cli("trunks", "add", "backup", "--host", "sip2.example.net").code == 0
    missing = cli("outbound-rules", "add", "mobile", "--trunk", "voip,nowhere")
    assert missing.code == 2
    assert "trunks.1" in missing.stderr
    added = cli(
        *("outbound-rules", "add", "mobile", "--trunk", "voip", "--trunk", "backup"),
        *("--prefix", "3", "--priority", "20", "--strip", "0", "--prepend", "0039"),
    )
    assert added.code == 0, added.stderr
    assert json.loads(added.stdout)["trunks"] == ["voip", "backup"]
    assert cli("outbound-rules", "add", "all", "--trunk", "voip", "--priority", "50").code == 0
    assert cli("outbound-rules", "set", "mobile", "--priority", "90").code == 0
    listed = json.loads(cli("outbound-rules", "list", "--json").stdout)
    assert [rule["name"] for rule in listed] == ["all", "mobile"]
    table = cli("outbound-rules", "list").stdout
    assert "voip, backup" in table
    assert "everybody" in table
    in_use = cli("trunks", "delete", "backup")
    assert in_use.code == 4
    assert "mobile" in in_use.stderr
    assert cli("outbound-rules", "delete", "mobile").code == 0
    assert cli("trunks", "delete", "backup").code == 0
    assert cli("outbound-rules", "show", "mobile").code == 3
    assert json.loads(cli("outbound-rules", "show", "all").stdout)["priority"] == 50
