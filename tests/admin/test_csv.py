"""CSV import and export: round trip, errors by row and column, all or nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from centralino.admin.context import Actor
from centralino.admin.csv_io import COLUMNS, export_csv, parse_csv
from centralino.admin.services import ManagementServices
from centralino.domain.audit import AuditAction
from centralino.domain.errors import Conflict, InvalidInput
from centralino.domain.events import ExtensionCreated
from centralino.domain.extension import Extension
from tests.fakes import FakeClock, InMemoryStore, RecordingEventBus

pytestmark = pytest.mark.usefixtures("groups")


def rows_csv(header: list[str], *rows: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def errors_of(caught: pytest.ExceptionInfo[InvalidInput]) -> list[tuple[int | None, str]]:
    return [(error.row, error.path) for error in caught.value.errors]


async def rich_extensions(services: ManagementServices, actor: Actor) -> list[Extension]:
    documents: list[dict[str, Any]] = [
        {"number": "101", "first_name": "Bob"},
        {
            "number": "100",
            "first_name": 'Ada, "the" first',
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "mobile": "+393331234567",
            "dids": ["0612345600", "+390612345601"],
            "meeting_room": "ada-room",
            "voicemail": {
                "pin": "0042",
                "email_mode": "attach",
                "greetings": [{"id": "main", "name": "Main"}],
                "active_greeting": "main",
            },
            "forwarding": {
                "status": "lunch",
                "profiles": {
                    "available": {
                        "no_answer_seconds": 35,
                        "internal": {"busy": {"type": "extension", "number": "101"}},
                    },
                    "away": {"external": {"type": "number", "number": "+390612345678"}},
                },
                "exceptions": [
                    {
                        "caller_id": "+39*",
                        "window": {
                            "type": "specific",
                            "days": ["mon"],
                            "start": "09:00",
                            "end": "10:00",
                        },
                        "destination": {"type": "end_call"},
                    }
                ],
            },
            "devices": [{"vendor": "yealink", "model": "T46U", "mac": "80:5E:C0:12:34:56"}],
            "blf_keys": [{"position": 1, "kind": "blf", "number": "101", "label": "Bob"}],
            "options": {"record_all_calls": True, "sip_id": "ada"},
            "rights": [{"group": "sales", "role": "manager"}],
            "administration": {"console_access": True, "call_reports": True},
            "client": {"codecs": ["PCMA", "opus"], "sip_transport": "tls"},
            "integrations": {
                "crm_enabled": True,
                "crm_lookup_url": "https://crm.example.com/?n={caller}",
            },
        },
    ]
    return [await services.extensions.create(actor, document) for document in documents]


async def test_export_then_parse_round_trips(services: ManagementServices, actor: Actor) -> None:
    created = await rich_extensions(services, actor)
    text = await services.csv.export()
    assert text.splitlines()[0].split(",") == list(COLUMNS)
    specs = parse_csv(text)
    by_number = {e.number: e for e in created}
    assert len(specs) == 2
    for spec in specs:
        original = by_number[spec.number]
        assert spec.model_dump() == original.model_dump()


async def test_export_import_into_an_empty_system_gives_equal_extensions(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    created = await rich_extensions(services, actor)
    text = await services.csv.export()
    empty = InMemoryStore()
    empty.seed(groups=list(store.state.groups.values()))
    other = ManagementServices.build(empty, FakeClock(), b"k")
    imported = await other.csv.import_csv(actor, text)
    assert sorted(imported, key=lambda e: e.number) == sorted(created, key=lambda e: e.number)
    assert await other.csv.export() == text


def test_columns_are_the_spec_vocabulary() -> None:
    for column in ("number", "auth_id", "auth_password", "voicemail.pin", "options.sip_id"):
        assert column in COLUMNS
    assert "forwarding.profiles.available.no_answer_seconds" in COLUMNS
    assert "forwarding.profiles.available.internal.busy" in COLUMNS
    assert COLUMNS.index("number") < COLUMNS.index("voicemail.pin")


def test_export_of_nothing_is_just_the_header() -> None:
    assert export_csv([]) == ",".join(COLUMNS) + "\n"


def test_minimal_file() -> None:
    [spec] = parse_csv("number,first_name\n100,Ada\n")
    assert (spec.number, spec.first_name, spec.auth_id) == ("100", "Ada", None)


def test_byte_order_mark_is_ignored() -> None:
    [spec] = parse_csv("\ufeffnumber\n100\n")
    assert spec.number == "100"


def test_bad_pin_on_row_three_names_row_and_column() -> None:
    text = rows_csv(["number", "voicemail.pin"], ["100", "1234"], ["101", ""], ["102", "12"])
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text)
    assert errors_of(caught) == [(3, "voicemail.pin")]
    assert "4 to 10 digits" in caught.value.errors[0].reason
    assert "row 3, voicemail.pin" in str(caught.value)


def test_errors_inside_a_json_cell_name_the_column_and_the_inner_path() -> None:
    keys = '[{"position":1,"kind":"blf","number":"101"},{"position":2,"kind":"blf","number":"x"}]'
    text = rows_csv(["number", "blf_keys"], ["100", keys])
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text)
    [error] = caught.value.errors
    assert (error.row, error.path) == (1, "blf_keys")
    assert "blf_keys.1.number" in error.reason


def test_every_bad_row_is_reported() -> None:
    text = rows_csv(
        ["number", "email", "voicemail.pin"],
        ["100", "nope", "1234"],
        ["101", "ok@example.com", "1234"],
        ["1x2", "", "1"],
    )
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text)
    assert sorted(errors_of(caught)) == [(1, "email"), (3, "number"), (3, "voicemail.pin")]


def test_unknown_column_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv("number,shoe_size\n100,44\n")
    [error] = caught.value.errors
    assert (error.row, error.path) == (0, "header")
    assert "shoe_size" in error.reason


def test_number_column_is_required() -> None:
    with pytest.raises(InvalidInput, match="'number' is required"):
        parse_csv("first_name\nAda\n")


def test_file_without_rows_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="no extension rows"):
        parse_csv("number\n")


def test_row_with_too_many_cells_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv("number,first_name\n100,Ada\n101,Bob,extra\n")
    assert errors_of(caught) == [(2, "(row)")]


def test_bad_json_cell_names_row_and_column() -> None:
    text = rows_csv(["number", "dids"], ["100", '["0612"'])
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text)
    assert errors_of(caught) == [(1, "dids")]
    assert "not valid JSON" in caught.value.errors[0].reason


def test_empty_cells_mean_defaults() -> None:
    text = rows_csv(
        ["number", "voicemail.enabled", "forwarding.status", "dids"], ["100", "", "", ""]
    )
    [spec] = parse_csv(text)
    assert spec.voicemail.enabled is True
    assert spec.forwarding.status == "available"
    assert spec.dids == []


def test_boolean_and_number_cells() -> None:
    text = rows_csv(
        ["number", "voicemail.enabled", "forwarding.profiles.available.no_answer_seconds"],
        ["100", "false", "45"],
    )
    [spec] = parse_csv(text)
    assert spec.voicemail.enabled is False
    assert spec.forwarding.profiles.available.no_answer_seconds == 45


def test_name_starting_with_a_bracket_is_text() -> None:
    text = rows_csv(["number", "first_name", "last_name"], ["100", "[Temp] Ada", "{Lovelace}"])
    [spec] = parse_csv(text)
    assert (spec.first_name, spec.last_name) == ("[Temp] Ada", "{Lovelace}")


async def test_import_stores_all_with_events_and_audit(
    services: ManagementServices, actor: Actor, store: InMemoryStore, bus: RecordingEventBus
) -> None:
    phases: list[str] = []
    text = rows_csv(["number", "first_name"], ["100", "Ada"], ["101", "Bob"])
    created = await services.csv.import_csv(
        actor, text, progress=lambda phase, done, total: phases.append(phase)
    )
    assert [e.number for e in created] == ["100", "101"]
    assert set(store.state.extensions) == {"100", "101"}
    assert bus.events == [ExtensionCreated(number=e.number, extension=e) for e in created]
    assert [e.action for e in store.state.audit] == [AuditAction.IMPORT, AuditAction.IMPORT]
    for entry in store.state.audit:
        assert entry.actor == "alice"
        assert entry.after is not None
        assert entry.after["auth_password"] == "********"
        assert entry.after["voicemail"]["pin"] == "********"
    assert phases[-1] == "done"
    assert store.commits == 1


async def test_one_bad_row_stores_nothing(
    services: ManagementServices, actor: Actor, store: InMemoryStore, bus: RecordingEventBus
) -> None:
    text = rows_csv(
        ["number", "rights"],
        ["100", ""],
        ["101", ""],
        ["102", '[{"group":"no-such-group"}]'],
    )
    with pytest.raises(InvalidInput) as caught:
        await services.csv.import_csv(actor, text)
    assert errors_of(caught) == [(3, "rights.0.group")]
    assert store.state.extensions == {}
    assert store.state.audit == []
    assert bus.events == []


async def test_duplicate_numbers_within_the_file(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    text = rows_csv(["number"], ["100"], ["101"], ["100"])
    with pytest.raises(InvalidInput) as caught:
        await services.csv.import_csv(actor, text)
    assert errors_of(caught) == [(3, "number")]
    assert "row 1" in caught.value.errors[0].reason
    assert store.state.extensions == {}


async def test_number_taken_by_an_existing_extension(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    await services.extensions.create(actor, {"number": "101"})
    before = store.snapshot()
    text = rows_csv(["number"], ["100"], ["101"])
    with pytest.raises(InvalidInput) as caught:
        await services.csv.import_csv(actor, text)
    assert errors_of(caught) == [(2, "number")]
    assert "already exists" in caught.value.errors[0].reason
    assert store.state == before


async def test_unique_value_of_an_existing_extension_is_a_conflict(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    await services.extensions.create(actor, {"number": "101", "dids": ["0612345600"]})
    before = store.snapshot()
    text = rows_csv(["number", "dids"], ["100", ""], ["102", '["0612345600"]'])
    with pytest.raises(Conflict) as caught:
        await services.csv.import_csv(actor, text)
    assert (caught.value.row, caught.value.path) == (2, "dids.0")
    assert "101" in caught.value.reason
    assert store.state == before


async def test_unique_value_twice_in_the_file_is_a_conflict(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    text = rows_csv(["number", "meeting_room"], ["100", "board"], ["101", "board"])
    with pytest.raises(Conflict) as caught:
        await services.csv.import_csv(actor, text)
    assert (caught.value.row, caught.value.path) == (2, "meeting_room")
    assert store.state.extensions == {}


async def test_rows_may_reference_each_other(services: ManagementServices, actor: Actor) -> None:
    busy = '{"type":"extension","number":"101"}'
    text = rows_csv(
        ["number", "forwarding.profiles.available.internal.busy"], ["100", busy], ["101", ""]
    )
    created = await services.csv.import_csv(actor, text)
    assert created[0].references()[0].number == "101"


async def test_number_length_is_checked_per_row(services: ManagementServices, actor: Actor) -> None:
    text = rows_csv(["number"], ["100"], ["1001"])
    with pytest.raises(InvalidInput) as caught:
        await services.csv.import_csv(actor, text)
    assert errors_of(caught) == [(2, "number")]
