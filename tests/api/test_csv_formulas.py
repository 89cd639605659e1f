"""CSV over REST: cells a spreadsheet would run are neutralised and read back the same."""

from __future__ import annotations

import csv
import io

import httpx

from tests.api.test_extensions import URL, create

HOSTILE = {
    "101": ('=HYPERLINK("http://x")', "+cmd|' /C calc'!A0"),
    "102": ("-2+3", "@SUM(1)"),
    "103": ("'=quoted", "Plain"),
}


async def test_hostile_cells_round_trip_through_export_and_import(api: httpx.AsyncClient) -> None:
    for number, (first, last) in HOSTILE.items():
        await create(api, number, first_name=first, last_name=last, mobile="+390612345678")
    exported = (await api.get(f"{URL}/export")).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    for row in rows:
        for column in ("first_name", "last_name", "mobile"):
            assert row[column][:1] not in "=+-@\t\r", (column, row[column])
    assert rows[0]["first_name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["mobile"] == "'+390612345678"

    originals = {number: (await api.get(f"{URL}/{number}")).json() for number in HOSTILE}
    for number in HOSTILE:
        assert (await api.delete(f"{URL}/{number}")).status_code == 204
    headers = {"Content-Type": "text/csv"}
    response = await api.post(f"{URL}/import", content=exported.encode(), headers=headers)
    assert response.status_code == 201, response.text
    for number, original in originals.items():
        assert (await api.get(f"{URL}/{number}")).json() == original
    assert (await api.get(f"{URL}/export")).text == exported
