"""Benchmark: import 10,000 extensions from CSV, then search them.

Floors (issue 2): 10,000 imported in under 10 s on a 2-core machine; a search
page under 50 ms at 10,000 extensions. Run:

    .venv/bin/python bench/extensions_csv.py [--count 10000] [--database-url URL]

It uses a fresh SQLite database in a temporary directory unless a URL is given,
goes through the same use-cases as the API and CLI (validation, rules,
uniqueness, audit), and prints the figures as a Markdown table row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import asyncio
import csv
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from centralino.admin.context import SYSTEM_ACTOR
from centralino.admin.services import ManagementServices
from centralino.domain.bus import LocalEventBus
from centralino.domain.ports import ExtensionQuery, ExtensionSort
from centralino.storage import Database, SqlUnitOfWorkFactory

FIRST = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Edsger"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie"]


class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


def make_csv(count: int, seed: int = 7) -> str:
    """A CSV with ``count`` extensions, names, emails, DIDs and a BLF key each."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "first_name", "last_name", "email", "dids", "voicemail.pin"])
    for index in range(count):
        number = f"{10000 + index}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        writer.writerow(
            [number, first, last, f"{first}.{last}{index}@example.com".lower(),
             f'["+3906{5000000 + index}"]', f"{rng.randint(1000, 9999)}"]
        )
    return buffer.getvalue()


async def run(count: int, url: str | None, searches: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await database.migrate()
        services = ManagementServices.build(
            SqlUnitOfWorkFactory(database), LocalEventBus(), _Clock(), secret=b"bench"
        )
        await services.settings.patch(SYSTEM_ACTOR, {"numbering": {"extension_length": 5}})
        text = make_csv(count)
        started = time.perf_counter()
        created = await services.csv.import_csv(SYSTEM_ACTOR, text)
        import_seconds = time.perf_counter() - started
        assert len(created) == count
        rng = random.Random(3)
        terms = ["ada", "hopper", "1234", "example.com", "TURING", "grace.l", None]
        timings = []
        for _ in range(searches):
            query = ExtensionQuery(
                search=rng.choice(terms), sort=rng.choice(list(ExtensionSort)),
                descending=rng.random() < 0.5, offset=rng.randint(0, 500), limit=50,
            )
            begin = time.perf_counter()
            page = await services.extensions.search(query)
            timings.append((time.perf_counter() - begin) * 1000)
            assert page.total >= 0
        await database.dispose()
    timings.sort()
    return {
        "count": count,
        "import_s": import_seconds,
        "rate": count / import_seconds,
        "search_p50_ms": statistics.median(timings),
        "search_p95_ms": timings[int(len(timings) * 0.95) - 1],
        "search_max_ms": timings[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args.count, args.database_url, args.searches))
    print("| extensions | import (s) | rows/s | search p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {result['count']} | {result['import_s']:.2f} | {result['rate']:.0f} | "
        f"{result['search_p50_ms']:.1f} | {result['search_p95_ms']:.1f} | "
        f"{result['search_max_ms']:.1f} |"
    )


if __name__ == "__main__":
    main()
