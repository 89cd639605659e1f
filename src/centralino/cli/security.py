"""``centralino security ...``: blocks after failed SIP authentications.

The same use-cases as ``GET`` and ``DELETE /api/v1/security/blocked``
(``SecurityService``), on the database named by ``CENTRALINO_DATABASE_URL``
(or the data directory's SQLite file): the blocks every running node
recorded there. An unblock travels on the change feed to every node's
engine and is audited as ``cli:<user>``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from centralino.cli.common import DataDir, actor, out, print_json, run
from centralino.domain.security import block_document

__all__ = ["security_app"]

security_app = typer.Typer(
    help="Defence against password guessing: blocked addresses.", no_args_is_help=True
)


@security_app.command("blocked")
def list_blocked(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """List the addresses (or user names from an address) blocked on every running node."""
    found = run(data_dir, lambda s: s.security.blocked())
    if as_json:
        print_json([block_document(block) for block in found])
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("address", "user", "failures", "until (UTC)", "node"):
        table.add_column(header, overflow="fold")
    for block in found:
        table.add_row(
            escape(block.address),
            escape(block.user) if block.user is not None else "(every name)",
            str(block.failures),
            f"{block.blocked_until.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}",
            escape(block.node),
        )
    out.print(table)
    out.print(f"{len(found)} blocked", highlight=False)


@security_app.command("unblock")
def unblock(
    address: Annotated[str, typer.Argument(help="The IP address to unblock.")],
    data_dir: DataDir = Path("data"),
) -> None:
    """Lift every block of ADDRESS on every node (exit code 3 when none blocks it)."""
    lifted = run(data_dir, lambda s: s.security.unblock(actor(), address))
    out.print(f"unblocked {escape(address)} ({len(lifted)} block(s) lifted)", highlight=False)
