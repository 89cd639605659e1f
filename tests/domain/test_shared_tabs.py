"""Identical tabs of many extensions are one object (SharedTabs)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from centralino.domain.changes import decode_event, encode_event
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.events import ExtensionCreated
from centralino.domain.extension import Extension, ExtensionSpec
from centralino.domain.shared_tabs import SHARED_TABS, SharedTabs


def _document(number: str, **fields: object) -> dict[str, object]:
    spec = ExtensionSpec.model_validate({"number": number, **fields})
    return spec.complete(CredentialGenerator()).model_dump(mode="json")


def test_decoded_extensions_equal_plain_ones_and_share_their_common_tabs() -> None:
    shared = SharedTabs()
    first, second = _document("101"), _document("102", first_name="Bob")
    a, b = shared.decode(first), shared.decode(second)
    assert (a, b) == (Extension.model_validate(first), Extension.model_validate(second))
    for name in SHARED_TABS:
        assert getattr(a, name) is getattr(b, name)
    assert a.voicemail is not b.voicemail  # each extension's PIN


def test_a_different_tab_is_not_shared() -> None:
    shared = SharedTabs()
    a = shared.decode(_document("101"))
    b = shared.decode(_document("102", forwarding={"status": "dnd"}))
    assert a.forwarding is not b.forwarding
    assert b.forwarding.status.value == "dnd"
    assert a.options is b.options


def _ringing(number: str, seconds: int) -> dict[str, object]:
    return _document(number, forwarding={"profiles": {"available": {"no_answer_seconds": seconds}}})


def test_only_the_most_recent_variants_are_kept() -> None:
    shared = SharedTabs(limit=2)
    first = shared.decode(_ringing("101", 5))
    assert shared.decode(_ringing("102", 5)).forwarding is first.forwarding
    six = shared.decode(_ringing("103", 6))
    assert shared.decode(_ringing("104", 5)).forwarding is first.forwarding  # used again
    shared.decode(_ringing("105", 7))  # a third variant: 6 is the least recent, dropped
    assert shared.decode(_ringing("106", 5)).forwarding is first.forwarding
    assert shared.decode(_ringing("107", 6)).forwarding is not six.forwarding


def test_a_bad_tab_is_reported_under_its_name() -> None:
    document = _document("101")
    document["forwarding"] = {"status": "asleep"}
    with pytest.raises(ValidationError, match="forwarding"):
        SharedTabs().decode(document)


def test_events_decoded_with_a_table_share_their_extensions_tabs() -> None:
    shared = SharedTabs()
    events = []
    for number in ("101", "102"):
        extension = Extension.model_validate(_document(number))
        name, document = encode_event(ExtensionCreated(number=number, extension=extension))
        events.append(decode_event(name, document, shared=shared))
    first, second = (event.extension for event in events if isinstance(event, ExtensionCreated))
    assert (first.number, second.number) == ("101", "102")
    assert first.forwarding is second.forwarding
