"""The ``centralino`` command: run the PBX and manage it from a shell.

Management commands call the same use-cases as the REST API, directly on the
database in the data directory, and are audited as ``cli:<user>``.

Exit codes: 0 success, 2 bad input (the message names the field), 3 not
found, 4 conflict, 1 anything else.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.config import Config
from centralino.domain.account import OWNER_USERNAME, AccountRole
from centralino.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from centralino.domain.ports import ExtensionQuery, ExtensionSort

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    help="Centralino: a self-hosted IP PBX.", no_args_is_help=True, pretty_exceptions_enable=False
)
extensions_app = typer.Typer(help="Manage extensions.", no_args_is_help=True)
admin_app = typer.Typer(help="Manage console accounts.", no_args_is_help=True)
app.add_typer(extensions_app, name="extensions")
app.add_typer(admin_app, name="admin")

out = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="CENTRALINO_DATA_DIR", help="Data directory.")
]


def _actor() -> Actor:
    return Actor(username=f"cli:{getpass.getuser()}", role=AccountRole.OWNER)


def _run(data_dir: Path, action: Callable[[ManagementServices], Awaitable[T]]) -> T:
    from centralino.app import open_runtime

    async def run() -> T:
        async with open_runtime(Config(data_dir=data_dir)) as runtime:
            return await action(runtime.services)

    try:
        return asyncio.run(run())
    except InvalidInput as exc:
        for error in exc.errors:
            err.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(2) from exc
    except NotFound as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(3) from exc
    except Conflict as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(4) from exc
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc


def _print_json(document: Any) -> None:
    out.print_json(json.dumps(document))


def _parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """Turn ``voicemail.pin=1234`` style arguments into a nested patch."""
    patch: dict[str, Any] = {}
    for assignment in assignments:
        path, separator, raw = assignment.partition("=")
        if not separator or not path:
            raise InvalidInput.single(assignment, "must be written FIELD=VALUE")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *parents, leaf = path.split(".")
        node = patch
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return patch


@app.command()
def serve(
    data_dir: DataDir = Path("data"),
    http_port: Annotated[int, typer.Option(envvar="CENTRALINO_HTTP_PORT")] = 8080,
    sip_port: Annotated[int, typer.Option(envvar="CENTRALINO_SIP_PORT")] = 5060,
    bind: Annotated[str, typer.Option(envvar="CENTRALINO_BIND")] = "0.0.0.0",
) -> None:
    """Run the PBX: HTTP (API and console) on one process."""
    from centralino.app import serve as run

    run(Config(data_dir=data_dir, http_port=http_port, sip_port=sip_port, bind=bind))


@extensions_app.command("add")
def add(
    number: str,
    assignments: Annotated[list[str] | None, typer.Argument(help="FIELD=VALUE ...")] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Create an extension, e.g. `add 101 first_name=Ada email=ada@example.com`."""
    document = {"number": number, **_parse_assignments(assignments or [])}
    created = _run(data_dir, lambda s: s.extensions.create(_actor(), document))
    _print_json(created.model_dump(mode="json"))


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
    page = _run(data_dir, lambda s: s.extensions.search(query))
    table = Table("number", "name", "email", "status", "auth_id")
    for extension in page.items:
        table.add_row(
            extension.number,
            extension.display_name,
            extension.email or "",
            extension.forwarding.status.value,
            extension.auth_id,
        )
    out.print(table)
    out.print(f"{len(page.items)} of {page.total}")


@extensions_app.command("show")
def show(number: str, data_dir: DataDir = Path("data")) -> None:
    """Print one extension as JSON."""
    extension = _run(data_dir, lambda s: s.extensions.get(number))
    _print_json(extension.model_dump(mode="json"))


@extensions_app.command("set")
def set_fields(
    number: str,
    assignments: Annotated[list[str], typer.Argument(help="FIELD=VALUE ...")],
    data_dir: DataDir = Path("data"),
) -> None:
    """Change settings, e.g. `set 101 voicemail.pin=4321 options.disabled=true`."""
    try:
        patch = _parse_assignments(assignments)
    except InvalidInput as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    changed = _run(data_dir, lambda s: s.extensions.patch(_actor(), number, patch))
    _print_json(changed.model_dump(mode="json"))


@extensions_app.command("delete")
def delete(number: str, data_dir: DataDir = Path("data")) -> None:
    """Delete an extension."""
    _run(data_dir, lambda s: s.extensions.delete(_actor(), number))
    out.print(f"deleted {number}")


@extensions_app.command("import")
def import_file(path: Path, data_dir: DataDir = Path("data")) -> None:
    """Import extensions from CSV: all rows or none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]error:[/red] cannot read {path}: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
    ) as bar:
        task = bar.add_task("importing", total=None)

        def report(phase: str, done: int, total: int) -> None:
            bar.update(task, description=phase, completed=done, total=total)

        created = _run(data_dir, lambda s: s.csv.import_csv(_actor(), text, report))
    out.print(f"imported {len(created)} extensions")


@extensions_app.command("export")
def export_file(
    path: Annotated[Path | None, typer.Argument(help="File to write; stdout if omitted.")] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Export every extension as CSV (secrets included: keep the file safe)."""
    text = _run(data_dir, lambda s: s.csv.export())
    if path is None:
        typer.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")
        err.print(f"wrote {path}")


@admin_app.command("password")
def password(
    username: Annotated[str, typer.Option()] = OWNER_USERNAME,
    new_password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
    data_dir: DataDir = Path("data"),
) -> None:
    """Set a console account's password (prompted when not given)."""
    _run(data_dir, lambda s: s.accounts.set_password(_actor(), username, new_password))
    out.print(f"password of {username!r} changed")


def main() -> None:
    """Entry point of the ``centralino`` script."""
    app()
