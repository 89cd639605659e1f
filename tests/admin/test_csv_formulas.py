"""CSV cells a spreadsheet would run as formulas are neutralised, and read back the same."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from centralino.admin.csv_io import FORMULA_STARTS, export_csv, neutralise, parse_csv, restore
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.extension import ExtensionSpec

HOSTILE = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "'=quoted", "''"]


def test_each_formula_start_gets_a_quote() -> None:
    for start in FORMULA_STARTS:
        assert neutralise(f"{start}1") == f"'{start}1"
    assert neutralise("+390612345678") == "'+390612345678"
    assert neutralise("Ada") == "Ada"
    assert neutralise("'plain") == "'plain"  # a quote before a harmless character stays alone
    assert neutralise("''") == "'''"
    assert neutralise("") == ""


@given(st.text())
def test_restore_undoes_neutralise(text: str) -> None:
    cell = neutralise(text)
    assert cell[:1] not in FORMULA_STARTS
    assert restore(cell) == text


def test_export_neutralises_and_import_restores_hostile_names() -> None:
    specs = [
        ExtensionSpec(number=str(100 + index), first_name=name, last_name=name, mobile="+390612")
        for index, name in enumerate(HOSTILE)
    ]
    extensions = [spec.complete(CredentialGenerator()) for spec in specs]
    text = export_csv(extensions)
    for row in csv.DictReader(io.StringIO(text)):
        for column in ("first_name", "last_name", "mobile"):
            assert row[column][:1] not in FORMULA_STARTS, (column, row[column])
    back = parse_csv(text)
    assert [(spec.first_name, spec.last_name, spec.mobile) for spec in back] == [
        (name, name, "+390612") for name in HOSTILE
    ]
