"""``centralino calls records``: pages, filters, JSON, CSV to a file, bad options."""

from __future__ import annotations

import asyncio
import csv
import json
import stat
from pathlib import Path

from centralino.app import open_runtime
from centralino.config import Config
from centralino.domain.call_records import CallDirection, CallResult
from tests.call_record_builders import call_record
from tests.cli.conftest import Cli


def store_records(data_dir: Path) -> None:
    records = [call_record(n) for n in range(7)]
    records.append(
        call_record(
            7,
            direction=CallDirection.OUTBOUND,
            callee="+390698765432",
            trunk="alpha",
            answered_by="+390698765432",
            caller_name="Zoë",
        )
    )
    records.append(call_record(8, answered_at=None, result=CallResult.NO_ANSWER))

    async def fill() -> None:
        async with open_runtime(Config(data_dir=data_dir)) as runtime, runtime.units() as uow:
            await uow.call_records.add_many(records)
            await uow.commit()

    asyncio.run(fill())


def test_a_page_as_a_table_then_the_next_by_cursor(cli: Cli, data_dir: Path) -> None:
    store_records(data_dir)
    first = cli("calls", "records", "--limit", "5")
    assert first.code == 0, first.stderr
    assert "outbound" in first.stdout
    assert "no_answer" in first.stdout
    cursor = first.stdout.split("more: --cursor ")[1].split()[0]
    second = cli("calls", "records", "--limit", "5", "--cursor", cursor, "--json")
    assert second.code == 0, second.stderr
    body = json.loads(second.stdout)
    assert [item["id"] for item in body["items"]] == [f"cr{n:05d}" for n in (3, 2, 1, 0)]
    assert body["next_cursor"] is None


def test_filters(cli: Cli, data_dir: Path) -> None:
    store_records(data_dir)
    outcome = cli("calls", "records", "--direction", "outbound", "--trunk", "alpha", "--json")
    assert [item["id"] for item in json.loads(outcome.stdout)["items"]] == ["cr00007"]
    outcome = cli(
        "calls",
        "records",
        "--from",
        "2026-12-01T09:02:00Z",
        "--before",
        "2026-12-01T09:04:00+00:00",
        "--order",
        "asc",
        "--json",
    )
    assert [item["id"] for item in json.loads(outcome.stdout)["items"]] == ["cr00002", "cr00003"]


def test_csv_export_writes_every_record_to_a_private_file(
    cli: Cli, data_dir: Path, tmp_path: Path
) -> None:
    store_records(data_dir)
    target = tmp_path / "records.csv"
    outcome = cli("calls", "records", "--csv", str(target), "--limit", "2", "--result", "answered")
    assert outcome.code == 0, outcome.stderr
    assert "wrote 8 records" in outcome.stderr
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [f"cr{n:05d}" for n in reversed(range(8))]
    assert rows[0]["caller_name"] == "Zoë"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_bad_options_exit_2_naming_each(cli: Cli, data_dir: Path) -> None:
    outcome = cli("calls", "records", "--direction", "up", "--from", "monday", "--limit", "0")
    assert outcome.code == 2
    for field in ("direction", "started_from", "limit"):
        assert field in outcome.stderr
