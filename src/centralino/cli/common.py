"""What every ``centralino`` command shares: consoles, the actor, exit codes.

Management commands call the same use-cases as the REST API, directly on the
database and audio archive in the data directory (``open_runtime``, as
``serve`` does), and are audited as ``cli:<user>``.

Exit codes: 0 success, 2 bad input (the message names the field), 3 not
found, 4 conflict, 1 anything else.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.config import Config
from centralino.domain.account import AccountRole
from centralino.domain.errors import Conflict, DomainError, InvalidInput, NotFound

__all__ = ["DataDir", "actor", "err", "exit_codes", "fail", "out", "print_json", "run"]

T = TypeVar("T")

out = Console()
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="CENTRALINO_DATA_DIR", help="Data directory.")
]


def actor() -> Actor:
    """Who a CLI change is audited as: ``cli:<login name>``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (containers)
        user = "unknown"
    return Actor(username=f"cli:{user}", role=AccountRole.OWNER)


def fail(message: object, code: int) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit to raise with ``code``."""
    err.print(f"[red]error:[/red] {escape(str(message))}", highlight=False)
    return typer.Exit(code)


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn domain errors into a message on stderr and the documented exit code."""
    try:
        yield
    except InvalidInput as exc:
        for error in exc.errors[:-1]:
            err.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        raise fail(exc.errors[-1] if exc.errors else exc, 2) from exc
    except NotFound as exc:
        raise fail(exc, 3) from exc
    except Conflict as exc:
        raise fail(exc, 4) from exc
    except DomainError as exc:
        raise fail(exc, 1) from exc


def run(data_dir: Path, action: Callable[[ManagementServices], Awaitable[T]]) -> T:
    """Run a use-case on the data directory's runtime (database and audio archive)."""
    from centralino.app import open_runtime

    async def main() -> T:
        async with open_runtime(Config(data_dir=data_dir)) as runtime:
            return await action(runtime.services)

    with exit_codes():
        return asyncio.run(main())


def print_json(document: Any) -> None:
    """Print a JSON document on stdout."""
    out.print_json(json.dumps(document))
