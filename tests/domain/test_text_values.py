"""Human-readable text (names, labels, descriptions) holds no control characters."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.admin.validation import parse_model
from centralino.domain.errors import InvalidInput
from centralino.domain.extension import ExtensionSpec
from centralino.domain.group import Group
from centralino.domain.office_hours import OfficeHours

CONTROL = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))]
REASON = "must not contain control characters"


def _reasons(model: type[Any], document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_model(model, document)
    return [(error.path, error.reason) for error in caught.value.errors]


@pytest.mark.parametrize("control", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_a_name_with_any_c0_or_c1_control_character_is_refused(control: str) -> None:
    document = {"number": "100", "first_name": f"Ada{control}Lovelace"}
    assert _reasons(ExtensionSpec, document) == [("first_name", REASON)]


@pytest.mark.parametrize("text", ["\tAda", "Ada\n", "Ada\r\n", "\x1fAda"])
def test_a_control_character_at_either_end_is_refused_not_stripped(text: str) -> None:
    assert _reasons(ExtensionSpec, {"number": "100", "last_name": text}) == [("last_name", REASON)]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (
            {
                "number": "100",
                "blf_keys": [{"kind": "blf", "position": 1, "number": "101", "label": "Bob\tx"}],
            },
            "blf_keys.0.label",
        ),
        (
            {
                "number": "100",
                "devices": [{"vendor": "yealink", "model": "T46U", "name": "desk\x07"}],
            },
            "devices.0.name",
        ),
        (
            {"number": "100", "voicemail": {"greetings": [{"id": "a", "name": "Hi\x85"}]}},
            "voicemail.greetings.0.name",
        ),
    ],
)
def test_labels_and_greeting_names_refuse_control_characters(
    document: dict[str, Any], path: str
) -> None:
    assert _reasons(ExtensionSpec, document) == [(path, REASON)]


def test_a_group_description_refuses_control_characters() -> None:
    document = {"name": "sales", "description": "first line\nsecond line"}
    assert _reasons(Group, document) == [("description", REASON)]


def test_a_holiday_name_refuses_control_characters() -> None:
    document = {"holidays": [{"date": "2025-12-25", "name": "Christmas\x00"}]}
    assert _reasons(OfficeHours, document) == [("holidays.0.name", REASON)]


@pytest.mark.parametrize(
    "text",
    ["Ada Lovelace", "José Ñúñez", "渡辺", "Zoë 🙂", "O'Brien-Smith", "a\u00a0b", "x\u200by"],
)
def test_printable_text_of_any_script_is_accepted(text: str) -> None:
    spec = parse_model(ExtensionSpec, {"number": "100", "first_name": text})
    assert spec.first_name == text.strip()
    assert parse_model(Group, {"name": "sales", "description": text}).description == text


@given(st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=64))
def test_text_without_control_characters_is_a_valid_name(text: str) -> None:
    spec = parse_model(ExtensionSpec, {"number": "100", "first_name": text})
    assert spec.first_name == text.strip()
