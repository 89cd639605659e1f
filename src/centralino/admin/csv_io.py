"""CSV import and export of extensions.

Columns are the SPEC vocabulary: general fields by name, settings inside a
tab by dotted path (``voicemail.pin``, ``options.disabled``), and list-valued
settings (``dids``, ``devices``, ``blf_keys``, ``forwarding.exceptions`` ...)
as JSON in one cell. An empty cell means "the default".

Import is all or nothing: every row is validated, every system rule and
uniqueness check is run over the whole file, and only then is anything
written, in one transaction. Errors name the row (1 = first data row) and the
column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from centralino.admin.validation import parse_model
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.errors import FieldError, InvalidInput
from centralino.domain.extension import TABS, Extension, ExtensionSpec

__all__ = [
    "COLUMNS",
    "FORMULA_STARTS",
    "MAX_ERRORS",
    "Progress",
    "export_csv",
    "file_numbers",
    "neutralise",
    "parse_csv",
    "restore",
    "rows",
]

MAX_ERRORS = 50
"""Stop collecting after this many problems: the file needs fixing anyway."""

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total) while a long import runs."""


def _flatten(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in document.items():
        if isinstance(value, dict) and "type" not in value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


_SAMPLE = dict(
    _flatten(ExtensionSpec(number="100").complete(CredentialGenerator()).model_dump(mode="json"))
)

COLUMNS = tuple(sorted(_SAMPLE, key=lambda column: 1 if column.split(".")[0] in TABS else 0))
"""Every column: general fields (secrets included) first, then each tab's settings."""

_JSON_COLUMNS = frozenset(c for c, value in _SAMPLE.items() if isinstance(value, list | dict))


FORMULA_STARTS = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's
list): such a cell is exported behind a single quote, which the import strips."""


def _quoted(text: str) -> bool:
    """A single quote put in front by :func:`neutralise`."""
    return text[:1] == "'" and text[1:2] != "" and text[1] in FORMULA_STARTS | {"'"}


def neutralise(text: str) -> str:
    """The cell for ``text``: a quote in front of a formula (``'=1+1``, ``'+3906...``).

    A text that already starts with a quote followed by such a character is
    quoted too, so that :func:`restore` gives back exactly ``text``.
    """
    if text[:1] in FORMULA_STARTS or _quoted(text):
        return "'" + text
    return text


def restore(cell: str) -> str:
    """The value of a cell written by :func:`neutralise` (other cells as they are)."""
    return cell[1:] if _quoted(cell) else cell


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return neutralise(str(value))


def export_csv(extensions: Sequence[Extension]) -> str:
    """Write extensions as CSV text with every column (secrets included)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for extension in extensions:
        flat = dict(_flatten(extension.model_dump(mode="json")))
        writer.writerow({column: _cell(flat.get(column)) for column in COLUMNS})
    return buffer.getvalue()


def _set_path(document: dict[str, Any], column: str, value: Any) -> None:
    *parents, leaf = column.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _row_document(row: Mapping[str, str], number: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for column, cell in row.items():
        text = (cell or "").strip()
        if not text:
            continue
        if column in _JSON_COLUMNS:
            try:
                value: Any = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    [FieldError(path=column, reason=f"not valid JSON: {exc.msg}", row=number)]
                ) from exc
        else:
            value = restore(text)
        _set_path(document, column, value)
    return document


def _column_of(path: str, header: Sequence[str]) -> str:
    matches = [c for c in header if path == c or path.startswith(c + ".")]
    return max(matches, key=len) if matches else path


def parse_csv(text: str) -> list[ExtensionSpec]:
    """Validate every row of a CSV file.

    Raises:
        InvalidInput: naming each bad row and column (up to ``MAX_ERRORS``).
    """
    specs: list[ExtensionSpec] = []
    errors: list[FieldError] = []
    for _row, spec, problems in rows(text):
        if spec is not None:
            specs.append(spec)
        errors += problems
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise InvalidInput(errors[:MAX_ERRORS])
    if not specs:
        raise InvalidInput([FieldError(path="(file)", reason="no extension rows", row=0)])
    return specs


def _reader(text: str) -> tuple[csv.DictReader[str], list[str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise _unreadable(exc) from exc
    unknown = [column for column in header if column not in COLUMNS]
    if "number" not in header or unknown:
        reason = f"unknown columns {unknown}" if unknown else "the column 'number' is required"
        raise InvalidInput([FieldError(path="header", reason=reason, row=0)])
    return reader, header


def _unreadable(exc: csv.Error) -> InvalidInput:
    reason = f"not a readable CSV file: {exc}"
    return InvalidInput([FieldError(path="(file)", reason=reason, row=0)])


def rows(text: str) -> Iterator[tuple[int, ExtensionSpec | None, list[FieldError]]]:
    """Each data row: its number (1 = first), its spec or None, its problems.

    Raises:
        InvalidInput: a bad header, or a file the CSV reader cannot read.
    """
    reader, header = _reader(text)
    try:
        for number, row in enumerate(reader, start=1):
            if None in row:
                yield number, None, [_extra_cells(number)]
                continue
            try:
                document = _DEFAULT_TABS | _row_document(row, number)
                yield number, parse_model(ExtensionSpec, document), []
            except InvalidInput as exc:
                yield number, None, [_in_row(error, number, header) for error in exc.errors]
    except csv.Error as exc:
        raise _unreadable(exc) from exc


_DEFAULT_TABS: dict[str, Any] = {
    name: value for name, value in ExtensionSpec(number="100") if isinstance(value, BaseModel)
}
"""Each tab's default, built once: a row without a tab's columns gets it as is
(frozen models may be shared), eight times quicker than building it anew."""


def _extra_cells(row: int) -> FieldError:
    return FieldError(path="(row)", reason="more cells than columns", row=row)


def file_numbers(text: str) -> frozenset[str]:
    """The ``number`` cells of every row (read before validating: rows may refer to later ones)."""
    _, header = _reader(text)
    column = header.index("number")
    cells = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # lists: a third of DictReader's time
    try:
        next(cells, None)
        return frozenset(row[column].strip() for row in cells if len(row) > column)
    except csv.Error as exc:
        raise _unreadable(exc) from exc


def _in_row(error: FieldError, row: int, header: Sequence[str]) -> FieldError:
    column = _column_of(error.path, header)
    reason = error.reason if column == error.path else f"{error.reason} ({error.path})"
    return FieldError(path=column, reason=reason, row=error.row or row)
