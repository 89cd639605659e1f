"""Benchmark: import 10,000 extensions from CSV, then search them.

Floors (issue 2): 10,000 imported in under 10 s on a 2-core machine; a search
page under 50 ms at 10,000 extensions. Run:

    .venv/bin/python bench/extensions_csv.py [--count 10000] [--database-url URL] [--gc-freeze]

It uses a fresh SQLite database in a temporary directory unless a URL is given
(the URL's database must be empty), goes through the same use-cases as the API
and CLI (validation, rules, uniqueness, audit), and prints the figures as
Markdown table rows:

- import: ``CsvService.import_csv`` on the whole file (parse, validate every
  row, check uniqueness, write extensions and audit entries in one transaction);
- search (use-case): ``ExtensionService.search`` pages of 50, random search
  text, sort, direction and offset; the first (cold) query is reported apart;
- search (REST): the same pages as ``GET /api/v1/extensions`` through the
  FastAPI app in-process (routing, auth, JSON serialisation included).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import gc
import io
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from centralino.admin.context import SYSTEM_ACTOR
from centralino.admin.services import ManagementServices
from centralino.api import create_api
from centralino.domain.ports import ExtensionQuery, ExtensionSort
from centralino.storage import Database, SqlUnitOfWorkFactory

FIRST = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Edsger"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie"]
TERMS = ["ada", "hopper", "1234", "example.com", "TURING", "grace.l", None]
PASSWORD = "bench-password-0123"


class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def make_csv(count: int, seed: int = 7) -> str:
    """A CSV with ``count`` extensions: names, email, a DID and a PIN each."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "first_name", "last_name", "email", "dids", "voicemail.pin"])
    for index in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        writer.writerow(
            [
                f"{10000 + index}",
                first,
                last,
                f"{first}.{last}{index}@example.com".lower(),
                f'["+3906{5000000 + index}"]',
                f"{rng.randint(1000, 9999)}",
            ]
        )
    return buffer.getvalue()


def _queries(count: int, seed: int) -> list[ExtensionQuery]:
    rng = random.Random(seed)
    return [
        ExtensionQuery(
            search=rng.choice(TERMS),
            sort=rng.choice(list(ExtensionSort)),
            descending=rng.random() < 0.5,
            offset=rng.randint(0, 500),
            limit=50,
        )
        for _ in range(count)
    ]


async def _timed(
    queries: list[ExtensionQuery], page: Callable[[ExtensionQuery], Awaitable[int]]
) -> list[float]:
    timings = []
    for query in queries:
        begin = time.perf_counter()
        total = await page(query)
        timings.append((time.perf_counter() - begin) * 1000)
        assert total >= 0
    return timings


def _summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
        "max": ordered[-1],
    }


async def _rest_timings(services: ManagementServices, queries: list[ExtensionQuery]) -> list[float]:
    await services.accounts.ensure_owner(PASSWORD)
    transport = httpx.ASGITransport(app=create_api(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        login = {"username": "admin", "password": PASSWORD}
        token = (await client.post("/api/v1/auth/token", data=login)).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"

        async def page(query: ExtensionQuery) -> int:
            params: dict[str, str | int] = {
                "sort": query.sort.value,
                "order": "desc" if query.descending else "asc",
                "offset": query.offset,
                "limit": query.limit,
            }
            if query.search:
                params["search"] = query.search
            response = await client.get("/api/v1/extensions", params=params)
            response.raise_for_status()
            total: int = response.json()["total"]
            return total

        return await _timed(queries, page)


async def _bench(database: Database, count: int, searches: int, freeze: bool) -> dict[str, float]:
    await database.migrate()
    services = ManagementServices.build(SqlUnitOfWorkFactory(database), _Clock(), secret=b"bench")
    await services.settings.patch(SYSTEM_ACTOR, {"numbering": {"extension_length": 5}})
    text = make_csv(count)
    started = time.perf_counter()
    imported = len(await services.csv.import_csv(SYSTEM_ACTOR, text))
    import_seconds = time.perf_counter() - started
    assert imported == count
    # Drop the import's garbage as a server does once the response is sent:
    # holding 10,000 extensions alive makes every full GC pass cost ~0.8 s.
    gc.collect()
    if freeze:
        # Keep the long-lived objects (framework, schemas) out of full GC
        # passes, as a server can do once started: each pass otherwise costs
        # ~65 ms and lands on whichever search page is running.
        gc.freeze()

    async def page(query: ExtensionQuery) -> int:
        return (await services.extensions.search(query)).total

    use_case = await _timed(_queries(searches + 1, seed=3), page)
    rest = await _rest_timings(services, _queries(searches, seed=4))
    return {
        "count": count,
        "import_s": import_seconds,
        "rate": count / import_seconds,
        "cold_ms": use_case[0],
        **{f"use_case_{k}": v for k, v in _summary(use_case[1:]).items()},
        **{f"rest_{k}": v for k, v in _summary(rest).items()},
    }


async def run(count: int, url: str | None, searches: int, freeze: bool = False) -> dict[str, float]:
    """Import ``count`` extensions into a fresh database and time searches."""
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        try:
            return await _bench(database, count, searches, freeze)
        finally:
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after the import (see RESULTS.md)"
    )
    args = parser.parse_args()
    r = asyncio.run(run(args.count, args.database_url, args.searches, args.gc_freeze))
    print(
        "| extensions | import (s) | rows/s | first search (ms) "
        "| search p50 / p95 / max (ms) | REST page p50 / p95 / max (ms) |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {r['count']:.0f} | {r['import_s']:.2f} | {r['rate']:.0f} | {r['cold_ms']:.1f} "
        f"| {r['use_case_p50']:.1f} / {r['use_case_p95']:.1f} / {r['use_case_max']:.1f} "
        f"| {r['rest_p50']:.1f} / {r['rest_p95']:.1f} / {r['rest_max']:.1f} |"
    )


if __name__ == "__main__":
    main()
