"""encode_event_json: the feed document as JSON text, the same as encode_event's."""

from __future__ import annotations

import json

import pytest

from centralino.domain.changes import UnknownEvent, decode_event, encode_event, encode_event_json
from centralino.domain.events import ChangesMissed, DomainEvent
from tests.domain.test_changes import EXAMPLES


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: type(event).__name__)
def test_the_text_is_the_document_of_encode_event(event: DomainEvent) -> None:
    name, text = encode_event_json(event)
    assert (name, json.loads(text)) == encode_event(event)
    assert decode_event(name, json.loads(text)) == event


def test_an_event_off_the_feed_is_refused() -> None:
    with pytest.raises(UnknownEvent):
        encode_event_json(ChangesMissed(reason="test"))
