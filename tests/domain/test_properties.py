"""Properties over generated extensions and generated junk."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from centralino.admin.csv_io import export_csv, parse_csv
from centralino.admin.validation import parse_model
from centralino.domain.errors import InvalidInput
from centralino.domain.extension import Extension, ExtensionSpec
from tests.domain.strategies import extension_documents, json_values, mutated_documents

# Whole extensions are big to generate: few examples keep the suite fast.
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=300, deadline=None)


@FAST
@given(extension_documents())
def test_valid_extension_round_trips_through_json(document: dict[str, Any]) -> None:
    extension = Extension.model_validate(document)
    assert Extension.model_validate(extension.model_dump(mode="json")) == extension
    text = json.dumps(extension.model_dump(mode="json"))
    assert Extension.model_validate_json(text) == extension


@FAST
@given(extension_documents())
def test_valid_extension_is_a_valid_spec_with_the_same_keys(document: dict[str, Any]) -> None:
    extension = Extension.model_validate(document)
    spec = parse_model(ExtensionSpec, extension.model_dump(mode="json"))
    assert spec.model_dump() == extension.model_dump()
    keys = extension.unique_keys()
    assert len({(key.kind, key.value) for key in keys}) == len(keys)


def _only_invalid_input(document: Any) -> None:
    errors = []
    try:
        parse_model(ExtensionSpec, document)
    except InvalidInput as exc:
        errors = exc.errors
        assert errors
    for error in errors:
        assert error.path
        assert error.reason
        assert not error.reason.startswith("Value error")


@MANY
@given(json_values)
def test_random_json_raises_only_invalid_input(document: Any) -> None:
    _only_invalid_input(document)


@FAST
@given(mutated_documents())
def test_almost_valid_json_raises_only_invalid_input(document: Any) -> None:
    _only_invalid_input(document)


@FAST
@given(extension_documents())
def test_csv_export_then_parse_round_trips(document: dict[str, Any]) -> None:
    extension = Extension.model_validate(document)
    [spec] = parse_csv(export_csv([extension]))
    assert spec.model_dump() == extension.model_dump()


def test_unreadable_csv_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a readable CSV file"):
        parse_csv("number,first_name\n100,a\rb\n")
