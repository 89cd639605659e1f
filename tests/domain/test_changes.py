"""Domain events in their change-feed form: every feed event survives JSON."""

from __future__ import annotations

import json

import pytest

from centralino.domain.calls import CallState
from centralino.domain.changes import FEED_EVENTS, UnknownEvent, decode_event, encode_event
from centralino.domain.events import (
    AddressUnblocked,
    CallRecorded,
    CallStateChanged,
    ChangesMissed,
    CredentialsChanged,
    DomainEvent,
    ExtensionChanged,
    ExtensionCreated,
    ExtensionDeleted,
    GroupChanged,
    MailboxChanged,
    OfficeHoursChanged,
    OutboundRuleChanged,
    SettingsChanged,
    StatusChanged,
    TrunkChanged,
    VoicemailLeft,
)
from centralino.domain.forwarding import Status
from centralino.domain.group import Group
from centralino.domain.office_hours import OfficeHours
from centralino.domain.settings import NetworkSettings, SystemSettings
from centralino.domain.trunks import OutboundRule, Trunk
from tests.storage.builders import rich_extension

EXTENSION = rich_extension("101")
TRUNK = Trunk.model_validate(
    {
        "name": "voip",
        "host": "sip.example.net",
        "registration": {"enabled": True, "username": "0212345", "password": "s3cret"},
        "dids": ["+390212345678"],
        "default_destination": {"type": "extension", "number": "101"},
    }
)

EXAMPLES: list[DomainEvent] = [
    ExtensionCreated(number="101", extension=EXTENSION),
    ExtensionChanged(number="101", tabs=("general", "options"), extension=EXTENSION),
    ExtensionDeleted(number="101"),
    CredentialsChanged(number="101", old_auth_id="old-id"),
    StatusChanged(number="101", old=Status.AVAILABLE, new=Status.BUSINESS_TRIP),
    SettingsChanged(
        sections=("network",),
        settings=SystemSettings(network=NetworkSettings(local_networks=["10.0.0.0/8"])),
    ),
    OfficeHoursChanged(name="global", schedule=OfficeHours()),
    OfficeHoursChanged(name="gone", schedule=None),
    GroupChanged(name="sales", group=Group(name="sales")),
    GroupChanged(name="sales", group=None),
    TrunkChanged(name="voip", trunk=TRUNK),
    TrunkChanged(name="voip", trunk=None),
    OutboundRuleChanged(name="all", rule=OutboundRule(name="all", trunks=["voip"])),
    OutboundRuleChanged(name="all", rule=None),
    VoicemailLeft(mailbox="101", message_id="m1", node="A"),
    MailboxChanged(mailbox="101", new=2, saved=1),
    CallRecorded(recording_id="r1", call_id="c1", caller="101", callee="102"),
    AddressUnblocked(address="198.51.100.9"),
]


def test_every_feed_event_has_an_example() -> None:
    assert {type(event).__name__ for event in EXAMPLES} == set(FEED_EVENTS)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: type(event).__name__)
def test_round_trip_through_json(event: DomainEvent) -> None:
    kind, document = encode_event(event)
    assert decode_event(kind, json.loads(json.dumps(document))) == event


def test_node_local_events_do_not_travel() -> None:
    call = CallStateChanged(call_id="c", caller="101", callee="102", state=CallState.RINGING)
    for event in (call, ChangesMissed(reason="x")):
        with pytest.raises(UnknownEvent):
            encode_event(event)


def test_unknown_type_and_bad_documents_are_refused() -> None:
    with pytest.raises(UnknownEvent):
        decode_event("SomethingNew", {})
    with pytest.raises(ValueError, match="StatusChanged"):
        decode_event("StatusChanged", {"number": "101"})
    _, document = encode_event(EXAMPLES[0])
    document["extension"]["number"] = "not a number"
    with pytest.raises(ValueError):
        decode_event("ExtensionCreated", document)
