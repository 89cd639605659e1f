"""``centralino calls records``: search the call records, or export them as CSV.

The options are the API's query parameters (``GET /api/v1/call-records``)
and go through the same use-case, which checks them: a bad one exits with
code 2 and names it. A page is printed as a table (``--json``: the API's
document); when more records follow, the command says which ``--cursor``
fetches them. ``--csv FILE`` writes every matching record (all pages) to a
file only its owner can read.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from centralino.admin.call_records import CallRecordFilters, FoundRecords, record_document
from centralino.admin.services import ManagementServices
from centralino.cli.common import DataDir, err, out, print_json, run

__all__ = ["calls_app", "records"]

calls_app = typer.Typer(help="Calls: the records of finished calls.", no_args_is_help=True)

_Text = Annotated[str | None, typer.Option()]


@calls_app.command("records")
def records(
    started_from: Annotated[
        str | None, typer.Option("--from", help="Started at or after (ISO 8601 with a zone).")
    ] = None,
    started_before: Annotated[
        str | None, typer.Option("--before", help="Started before (ISO 8601 with a zone).")
    ] = None,
    extension: Annotated[
        str | None, typer.Option(help="The caller, the callee or who answered.")
    ] = None,
    direction: Annotated[str | None, typer.Option(help="internal, inbound or outbound.")] = None,
    result: Annotated[
        str | None,
        typer.Option(help="answered, no_answer, busy, failed, voicemail or rejected."),
    ] = None,
    trunk: _Text = None,
    sort: Annotated[str | None, typer.Option(help="started_at (default) or duration.")] = None,
    order: Annotated[str | None, typer.Option(help="desc (default) or asc.")] = None,
    limit: Annotated[str | None, typer.Option(help="Records a page, 1 to 500 (50).")] = None,
    cursor: Annotated[str | None, typer.Option(help="The page after this cursor.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page as JSON.")] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every matching record to this CSV file.")
    ] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Search the call records, newest first (or export them with --csv)."""
    filters = CallRecordFilters(
        started_from=started_from,
        started_before=started_before,
        extension=extension,
        direction=direction,
        result=result,
        trunk=trunk,
        sort=sort,
        order=order,
        limit=limit,
        cursor=cursor,
    )
    if csv_file is not None:
        count = run(data_dir, lambda s: _export(s, filters, csv_file))
        err.print(f"wrote {count} records to {escape(str(csv_file))}", highlight=False)
        return
    found = run(data_dir, lambda s: s.call_records.search(filters))
    if as_json:
        items = [record_document(record) for record in found.items]
        print_json({"items": items, "next_cursor": found.next_cursor})
        return
    _print_page(found)


async def _export(services: ManagementServices, filters: CallRecordFilters, path: Path) -> int:
    """Write the export to ``path`` (0600), a page at a time; return the records written."""
    pieces = await services.call_records.export_csv(filters)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    rows = 0
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        async for piece in pieces:
            handle.write(piece)
            rows += sum(1 for _ in csv.reader(io.StringIO(piece)))
    return max(0, rows - 1)  # (the header)


def _print_page(found: FoundRecords) -> None:
    table = Table("started", "direction", "caller", "callee", "answered by", "result", "secs")
    for record in found.items:
        table.add_row(
            record.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            record.direction.value,
            escape(record.caller + (f" ({record.caller_name})" if record.caller_name else "")),
            escape(record.callee),
            escape(record.answered_by or ""),
            record.result.value,
            str(record.duration),
        )
    out.print(table)
    if found.next_cursor is not None:
        out.print(f"more: --cursor {found.next_cursor}", highlight=False)
