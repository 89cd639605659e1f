"""A CSV import through the API of a running ``centralino serve``: registrable at once.

Issue 9, point 5: a burst of changes is applied as a burst. 2,000 extensions
imported through ``POST /api/v1/extensions/import``; the first, a middle and
the last one then register (digest answered 200) within 5 s of the import's
answer, and the server logs no warning (no change left behind, no database
lock timeout). The timed figures at 50,000 are bench/bulk_import.py's.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from contextlib import ExitStack
from pathlib import Path

from centralino.sip.message import Response
from tests.e2e.serve_support import Node, register_until, start_node
from tests.telephony.calls_support import PASSWORD, SipPhone

ROWS = 2000
FIRST = 2000
WITHIN = 5.0


def _csv(count: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "first_name", "email", "auth_id", "auth_password"])
    for number in range(FIRST, FIRST + count):
        writer.writerow([number, "Ada", f"ada{number}@example.com", f"user{number}", PASSWORD])
    return buffer.getvalue()


def _ok(answer: Response) -> bool:
    return answer.status == 200


async def _register(node: Node, numbers: list[str], since: float) -> list[tuple[int, float]]:
    found = []
    for number in numbers:
        phone = SipPhone(node.sip_port, number)
        try:
            answer, elapsed = await register_until(
                phone, _ok, since=since, within=WITHIN, interval=0.25
            )
        finally:
            phone.close()
        found.append((answer.status, elapsed))
    return found


def test_a_csv_import_through_the_api_is_registrable_within_5_s(tmp_path: Path) -> None:
    with ExitStack() as stack:
        node = start_node(stack, tmp_path, name="bulk")
        length = node.api.patch("/api/v1/settings", json={"numbering": {"extension_length": 4}})
        assert length.status_code == 200, length.text
        imported = node.api.post(
            "/api/v1/extensions/import",
            content=_csv(ROWS).encode(),
            headers={"Content-Type": "text/csv"},
            timeout=120,
        )
        answered = time.monotonic()
        assert imported.status_code == 201, imported.text
        assert imported.json()["created"] == ROWS
        numbers = [str(FIRST + ROWS - 1), str(FIRST), str(FIRST + ROWS // 2)]
        results = asyncio.run(_register(node, numbers, answered))
        for number, (status, elapsed) in zip(numbers, results, strict=True):
            assert status == 200, f"{number}: {status}\n{node.diagnostics()}"
            assert elapsed <= WITHIN, f"{number}: registered {elapsed:.2f} s after the import"
        assert not node.problems(), node.diagnostics()
