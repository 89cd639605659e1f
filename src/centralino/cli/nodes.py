"""``centralino nodes``: the ``serve`` processes sharing the database.

The same use-case as ``GET /api/v1/nodes`` (``NodesService``), read from the
database named by ``CENTRALINO_DATABASE_URL`` (or the data directory's
SQLite file).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from centralino.admin.nodes import node_document
from centralino.cli.common import DataDir, out, print_json, run

__all__ = ["list_nodes"]


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"


def list_nodes(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """List the nodes (``serve`` processes) on this database and whether each is alive."""
    found = run(data_dir, lambda s: s.nodes.nodes())
    if as_json:
        print_json([node_document(status) for status in found])
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header in ("name", "alive", "sip", "http", "started (UTC)", "seen (UTC)"):
        table.add_column(header, overflow="fold")
    for status in found:
        node = status.node
        table.add_row(
            escape(node.name),
            "yes" if status.alive else "no",
            escape(node.sip_address),
            escape(node.http_address),
            _when(node.started_at),
            _when(node.seen_at),
        )
    out.print(table)
    out.print(f"{sum(s.alive for s in found)} of {len(found)} alive", highlight=False)
