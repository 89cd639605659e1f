"""The ``centralino`` command: run the PBX and manage it from a shell.

Management commands call the same use-cases as the REST API, directly on the
database and audio archive in the data directory, and are audited as
``cli:<user>`` (the shared pieces are in :mod:`centralino.cli.common`;
``voicemail`` and ``recordings`` in :mod:`centralino.cli.voicemail`).

Exit codes: 0 success, 2 bad input (the message names the field), 3 not
found, 4 conflict, 1 anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from centralino.admin.services import ManagementServices
from centralino.cli.call_records import calls_app
from centralino.cli.common import DataDir, actor, err, exit_codes, fail, out, print_json, run
from centralino.cli.nodes import list_nodes
from centralino.cli.outbound_rules import outbound_rules_app
from centralino.cli.secrets import secrets_app
from centralino.cli.security import security_app
from centralino.cli.trunks import trunks_app
from centralino.cli.voicemail import recordings_app, voicemail_app
from centralino.config import Config
from centralino.domain.account import OWNER_USERNAME
from centralino.domain.errors import InvalidInput
from centralino.domain.ports import ExtensionQuery, ExtensionSort

__all__ = ["app", "main"]

app = typer.Typer(
    help="Centralino: a self-hosted IP PBX.", no_args_is_help=True, pretty_exceptions_enable=False
)
extensions_app = typer.Typer(help="Manage extensions.", no_args_is_help=True)
admin_app = typer.Typer(help="Manage console accounts.", no_args_is_help=True)
routing_app = typer.Typer(help="Explain how calls are routed.", no_args_is_help=True)
app.add_typer(extensions_app, name="extensions")
app.add_typer(admin_app, name="admin")
app.add_typer(routing_app, name="routing")
app.add_typer(voicemail_app, name="voicemail")
app.add_typer(recordings_app, name="recordings")
app.add_typer(secrets_app, name="secrets")
app.add_typer(security_app, name="security")
app.add_typer(trunks_app, name="trunks")
app.add_typer(outbound_rules_app, name="outbound-rules")
app.add_typer(calls_app, name="calls")
app.command("nodes")(list_nodes)


def _value(raw: str) -> Any:
    """A value as the CSV format reads it: text, or JSON for lists and objects.

    Numbers and booleans stay text (``voicemail.pin=0123`` keeps its zero) and
    the model converts them where a field wants a number or a boolean; ``null``
    clears a field (back to its default).
    """
    if raw == "null":
        return None
    if raw[:1] in ("[", "{", '"'):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """Turn ``voicemail.pin=1234`` style arguments into a nested patch."""
    patch: dict[str, Any] = {}
    for assignment in assignments:
        path, separator, raw = assignment.partition("=")
        if not separator or not path:
            raise InvalidInput.single(assignment, "must be written FIELD=VALUE")
        value = _value(raw)
        *parents, leaf = path.split(".")
        node = patch
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return patch


def _patch_from(assignments: list[str]) -> dict[str, Any]:
    with exit_codes():
        return _parse_assignments(assignments)


@app.command()
def serve(
    data_dir: DataDir = Path("data"),
    http_port: Annotated[
        int | None, typer.Option(envvar="CENTRALINO_HTTP_PORT", help="default 8080")
    ] = None,
    sip_port: Annotated[
        int | None, typer.Option(envvar="CENTRALINO_SIP_PORT", help="default 5060")
    ] = None,
    bind: Annotated[
        str | None, typer.Option(envvar="CENTRALINO_BIND", help="default 0.0.0.0")
    ] = None,
    node_name: Annotated[
        str | None,
        typer.Option(
            envvar="CENTRALINO_NODE_NAME",
            help="This process's name among the nodes sharing the database (default: host name).",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="CENTRALINO_DATABASE_URL",
            help="SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db (default: SQLite).",
        ),
    ] = None,
) -> None:
    """Run the PBX: SIP, HTTP (API and console) in one process, one node of the database."""
    from centralino.app import serve as serve_pbx

    # Only what was given on the command line (or its environment variable):
    # the rest comes from the TOML file, else the defaults (config.py).
    given = {
        "http_port": http_port,
        "sip_port": sip_port,
        "bind": bind,
        "node_name": node_name,
        "database_url": database_url,
    }
    config = _config(
        data_dir=data_dir,
        **{name: value for name, value in given.items() if value is not None},
    )
    with exit_codes():
        serve_pbx(config)


def _config(**settings: Any) -> Config:
    """The configuration, or exit 2 naming each bad setting."""
    try:
        return Config(**settings)
    except ValidationError as exc:
        for error in exc.errors()[:-1]:
            err.print(f"[red]error:[/red] {escape(_setting_error(error))}", highlight=False)
        raise fail(_setting_error(exc.errors()[-1]), 2) from exc


_SETTING_RULES = {"node_name": "must be 1 to 64 letters, digits, '.', '_' or '-'"}
"""What a setting must be, in words, where pydantic's message would show a pattern."""


def _setting_error(error: Any) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "(settings)"
    return f"{name}: {_SETTING_RULES.get(name, error['msg'])}"


@extensions_app.command("add")
def add(
    number: str,
    assignments: Annotated[list[str] | None, typer.Argument(help="FIELD=VALUE ...")] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Create an extension, e.g. `add 101 first_name=Ada email=ada@example.com`."""
    document = {"number": number, **_patch_from(assignments or [])}
    created = run(data_dir, lambda s: s.extensions.create(actor(), document))
    print_json(created.model_dump(mode="json"))


@extensions_app.command("list")
def list_extensions(
    search: Annotated[str | None, typer.Option()] = None,
    sort: Annotated[ExtensionSort, typer.Option()] = ExtensionSort.NUMBER,
    descending: Annotated[bool, typer.Option("--desc")] = False,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    data_dir: DataDir = Path("data"),
) -> None:
    """List extensions (search matches number, names, email, mobile)."""
    query = ExtensionQuery(
        search=search, sort=sort, descending=descending, offset=offset, limit=limit
    )
    page = run(data_dir, lambda s: s.extensions.search(query))
    table = Table("number", "name", "email", "status", "auth_id")
    for extension in page.items:
        table.add_row(
            extension.number,
            escape(extension.display_name),
            escape(extension.email or ""),
            extension.forwarding.status.value,
            extension.auth_id,
        )
    out.print(table)
    out.print(f"{len(page.items)} of {page.total}")


@extensions_app.command("show")
def show(number: str, data_dir: DataDir = Path("data")) -> None:
    """Print one extension as JSON."""
    extension = run(data_dir, lambda s: s.extensions.get(number))
    print_json(extension.model_dump(mode="json"))


@extensions_app.command("set")
def set_fields(
    number: str,
    assignments: Annotated[list[str], typer.Argument(help="FIELD=VALUE ...")],
    data_dir: DataDir = Path("data"),
) -> None:
    """Change settings, e.g. `set 101 voicemail.pin=4321 options.disabled=true`."""
    patch = _patch_from(assignments)
    changed = run(data_dir, lambda s: s.extensions.patch(actor(), number, patch))
    print_json(changed.model_dump(mode="json"))


@extensions_app.command("regenerate")
def regenerate(
    number: str,
    auth_id: Annotated[
        bool, typer.Option("--auth-id", help="Also generate a new auth ID.")
    ] = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Give an extension a new SIP password (and auth ID): its phones re-provision."""
    changed = run(
        data_dir, lambda s: s.extensions.regenerate_credentials(actor(), number, auth_id=auth_id)
    )
    print_json(changed.model_dump(mode="json"))


@extensions_app.command("delete")
def delete(number: str, data_dir: DataDir = Path("data")) -> None:
    """Delete an extension."""
    run(data_dir, lambda s: s.extensions.delete(actor(), number))
    out.print(f"deleted {number}")


@extensions_app.command("import")
def import_file(path: Path, data_dir: DataDir = Path("data")) -> None:
    """Import extensions from CSV: all rows or none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}", 2) from exc
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
    ) as bar:
        task = bar.add_task("importing", total=None)

        def report(phase: str, done: int, total: int) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        created = run(data_dir, lambda s: s.csv.import_csv(actor(), text, report))
    out.print(f"imported {len(created)} extensions")


@extensions_app.command("export")
def export_file(
    path: Annotated[Path | None, typer.Argument(help="File to write; stdout if omitted.")] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Export every extension as CSV (secrets included: keep the file safe)."""
    text = run(data_dir, lambda s: s.csv.export())
    if path is None:
        typer.echo(text, nl=False)
    else:
        _write_private(path, text)
        err.print(f"wrote {escape(str(path))}", highlight=False)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (0600, even one that existed)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@extensions_app.command("status")
def status(
    number: str,
    new_status: Annotated[
        str | None,
        typer.Argument(
            metavar="[STATUS]", help="available, away, dnd, lunch or business_trip; omit to read."
        ),
    ] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show or set an extension's presence status, e.g. `status 101 dnd`."""
    if new_status is None:
        view = run(data_dir, lambda s: s.status.get(number))
    else:
        view = run(data_dir, lambda s: s.status.set(actor(), number, new_status))
    auto = " (switched by office hours)" if view.auto_switch_by_office_hours else ""
    out.print(f"{view.number}: {view.status.value} ({view.name}){auto}", highlight=False)


def _moment(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"--at: not a date and time like '2026-12-01 13:05': {text!r}", 2) from exc


@routing_app.command("simulate")
def simulate(
    number: str,
    caller: Annotated[
        str, typer.Option("--from", help="An extension number or an external caller ID.")
    ],
    at: Annotated[
        str | None,
        typer.Option(help="When, e.g. '2026-12-01 13:05' (the extension's time zone); now."),
    ] = None,
    did: Annotated[str | None, typer.Option(help="The DID dialled (an external call).")] = None,
    registered: Annotated[
        bool | None,
        typer.Option(
            "--registered/--not-registered", help="Override the extension's registration."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Explain how a call to an extension would be routed, step by step, and why."""
    moment = _moment(at)
    simulation = run(
        data_dir,
        lambda s: s.routing.simulate(number, caller, at=moment, did=did, registered=registered),
    )
    if as_json:
        print_json(simulation.document())
    else:
        out.print(simulation.text(), markup=False, highlight=False, soft_wrap=True)


@admin_app.command("password")
def password(
    username: Annotated[str, typer.Option()] = OWNER_USERNAME,
    new_password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
    data_dir: DataDir = Path("data"),
) -> None:
    """Set a console account's password (prompted when not given).

    Before the first start the owner ``admin`` does not exist yet: it is
    created with this password (and ``serve`` then prints no one-time one).
    """

    async def change(services: ManagementServices) -> None:
        if username == OWNER_USERNAME:
            await services.accounts.ensure_owner(new_password)
        await services.accounts.set_password(actor(), username, new_password)

    run(data_dir, change)
    out.print(f"password of {username!r} changed", markup=False, highlight=False)


def main() -> None:
    """Entry point of the ``centralino`` script: every file it writes is the owner's alone."""
    os.umask(0o077)
    app()
