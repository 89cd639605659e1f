"""The extension model: defaults, MAC addresses, destinations, keys, references."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import TypeAdapter

from centralino.admin.validation import parse_model
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.destination import (
    Destination,
    EndCall,
    ExtensionDestination,
    ExtensionVoicemail,
    ExternalNumber,
    Mobile,
    Voicemail,
)
from centralino.domain.devices import Device
from centralino.domain.errors import InvalidInput
from centralino.domain.extension import (
    Extension,
    ExtensionSpec,
    Reference,
    UniqueKey,
    UniqueKind,
)
from centralino.domain.forwarding import ForwardProfile, Status
from centralino.domain.values import normalize_mac

DESTINATIONS = TypeAdapter(Destination)


def make(**fields: Any) -> Extension:
    """A complete extension with fixed secrets, built from a document."""
    document: dict[str, Any] = {
        "number": "100",
        "auth_id": "auth100x",
        "auth_password": "Secret1234567890",
        "voicemail": {"pin": "4711"},
    }
    document.update(fields)
    return Extension.model_validate(document)


# --- defaults (SPEC 2.3) -----------------------------------------------------------------


def test_new_extension_is_available_and_rings_twenty_seconds() -> None:
    forwarding = make().forwarding
    assert forwarding.status is Status.AVAILABLE
    assert forwarding.auto_switch_by_office_hours is False
    assert forwarding.profiles.available.no_answer_seconds == 20
    assert forwarding.exceptions == []


@pytest.mark.parametrize("route", ["internal", "external"])
@pytest.mark.parametrize("case", ["no_answer", "busy", "not_registered"])
def test_new_extension_sends_unanswered_calls_to_its_voicemail(route: str, case: str) -> None:
    routes = getattr(make().forwarding.profiles.available, route)
    assert getattr(routes, case) == Voicemail()


@pytest.mark.parametrize("status", ["away", "dnd", "lunch", "business_trip"])
def test_every_other_status_sends_calls_to_voicemail(status: str) -> None:
    profile: ForwardProfile = getattr(make().forwarding.profiles, status)
    assert profile.internal == Voicemail()
    assert profile.external == Voicemail()


def test_dnd_refuses_waiting_calls_and_ring_groups() -> None:
    profiles = make().forwarding.profiles
    assert profiles.dnd.accept_multiple_calls is False
    assert profiles.dnd.accept_ring_group_calls is False
    assert profiles.available.accept_ring_group_calls is True


def test_other_tabs_default_to_an_ordinary_user() -> None:
    extension = make()
    assert extension.voicemail.enabled is True
    assert extension.options.disabled is False
    assert extension.administration.console_access is False
    assert extension.administration.extensions_scope == "own"
    assert extension.client.codecs == ["opus", "G722", "PCMU", "PCMA"]
    assert extension.devices == extension.blf_keys == extension.rights == extension.dids == []


def test_display_name_falls_back_to_number() -> None:
    assert make().display_name == "100"
    assert make(first_name="Ada", last_name="Lovelace").display_name == "Ada Lovelace"
    assert make(last_name="Lovelace").display_name == "Lovelace"


def test_models_are_frozen() -> None:
    extension = make()
    with pytest.raises(ValueError, match="frozen"):
        extension.number = "101"  # type: ignore[misc]


def test_stored_extension_needs_a_pin() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(Extension, {"number": "100", "auth_id": "auth100x", "auth_password": "x" * 12})
    assert [(e.path, e.reason) for e in caught.value.errors] == [("voicemail.pin", "is required")]


def test_stored_extension_needs_credentials() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(Extension, {"number": "100", "voicemail": {"pin": "1234"}})
    assert {e.path for e in caught.value.errors} == {"auth_id", "auth_password"}


def test_sip_id_must_differ_from_auth_id_ignoring_case() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(
            Extension,
            make().model_dump() | {"options": {"sip_id": "AUTH100X"}},
        )
    assert [(e.path, e.reason) for e in caught.value.errors] == [
        ("options.sip_id", "must differ from auth_id")
    ]


# --- MAC addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["80:5E:C0:12:34:56", "80-5e-c0-12-34-56", "805e.c012.3456", "805EC0123456", " 805ec0123456 "],
)
def test_mac_is_normalised(written: str) -> None:
    assert normalize_mac(written) == "805ec0123456"
    device = Device.model_validate({"vendor": "snom", "model": "D785", "mac": written})
    assert device.mac == "805ec0123456"


@pytest.mark.parametrize("bad", ["", "80:5E:C0:12:34", "80:5E:C0:12:34:56:78", "g05ec0123456"])
def test_bad_mac_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="12 hexadecimal digits"):
        normalize_mac(bad)


def test_the_same_mac_written_two_ways_is_a_duplicate() -> None:
    devices = [
        {"vendor": "snom", "model": "D785", "mac": "80:5E:C0:12:34:56"},
        {"vendor": "snom", "model": "D785", "mac": "805ec0123456"},
    ]
    with pytest.raises(InvalidInput) as caught:
        parse_model(ExtensionSpec, {"number": "100", "devices": devices})
    assert [e.path for e in caught.value.errors] == ["devices.1.mac"]


def test_several_devices_without_mac_are_fine() -> None:
    devices = [{"vendor": "softphone", "model": "Client"}] * 3
    spec = parse_model(ExtensionSpec, {"number": "100", "devices": devices})
    assert [device.mac for device in spec.devices] == [None, None, None]


# --- destinations ------------------------------------------------------------------------

ALL_DESTINATIONS: list[Destination] = [
    Voicemail(),
    ExtensionVoicemail(number="103"),
    Mobile(),
    ExtensionDestination(number="103"),
    ExternalNumber(number="+390612345678"),
    EndCall(),
]


@pytest.mark.parametrize("destination", ALL_DESTINATIONS, ids=lambda d: d.type)
def test_destination_round_trips_through_json(destination: Destination) -> None:
    text = DESTINATIONS.dump_json(destination)
    assert DESTINATIONS.validate_json(text) == destination
    assert type(DESTINATIONS.validate_json(text)) is type(destination)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"type": "voicemail"}, Voicemail()),
        ({"type": "extension_voicemail", "number": "103"}, ExtensionVoicemail(number="103")),
        ({"type": "mobile"}, Mobile()),
        ({"type": "extension", "number": "103"}, ExtensionDestination(number="103")),
        ({"type": "number", "number": "+390612345678"}, ExternalNumber(number="+390612345678")),
        ({"type": "end_call"}, EndCall()),
    ],
)
def test_destination_vocabulary_of_spec_section_5(
    document: dict[str, str], expected: Destination
) -> None:
    assert DESTINATIONS.validate_python(document) == expected
    assert DESTINATIONS.dump_python(expected, mode="json") == document


@pytest.mark.parametrize(
    "document",
    [
        "voicemail",
        {"type": "dialplan", "number": "103"},
        {"number": "103"},
        {"type": "extension"},
        {"type": "voicemail", "number": "103"},
    ],
)
def test_destination_is_never_a_string_or_an_untyped_object(document: Any) -> None:
    with pytest.raises(ValueError, match="validation error"):
        DESTINATIONS.validate_python(document)


# --- unique keys and references ----------------------------------------------------------


def test_unique_keys_cover_sip_users_dids_macs_and_meeting_room() -> None:
    extension = make(
        auth_id="Auth100X",
        options={"sip_id": "Ada"},
        dids=["0612345600", "0612345601"],
        devices=[
            {"vendor": "yealink", "model": "T46U", "mac": "80:5E:C0:12:34:56"},
            {"vendor": "softphone", "model": "Client"},
            {"vendor": "snom", "model": "D785", "mac": "000413aabbcc"},
        ],
        meeting_room="ada-room",
    )
    assert extension.unique_keys() == [
        UniqueKey(kind=UniqueKind.SIP_USER, value="auth100x", path="auth_id"),
        UniqueKey(kind=UniqueKind.SIP_USER, value="ada", path="options.sip_id"),
        UniqueKey(kind=UniqueKind.DID, value="0612345600", path="dids.0"),
        UniqueKey(kind=UniqueKind.DID, value="0612345601", path="dids.1"),
        UniqueKey(kind=UniqueKind.MAC, value="805ec0123456", path="devices.0.mac"),
        UniqueKey(kind=UniqueKind.MAC, value="000413aabbcc", path="devices.2.mac"),
        UniqueKey(kind=UniqueKind.MEETING_ROOM, value="ada-room", path="meeting_room"),
    ]
    assert extension.sip_user_names == ("Auth100X", "Ada")


def test_minimal_extension_has_only_its_auth_id_as_unique_key() -> None:
    assert make().unique_keys() == [
        UniqueKey(kind=UniqueKind.SIP_USER, value="auth100x", path="auth_id")
    ]
    assert make().references() == []


def test_references_list_every_pointer_at_an_extension() -> None:
    extension = make(
        forwarding={
            "profiles": {
                "available": {
                    "internal": {"busy": {"type": "extension", "number": "101"}},
                    "external": {"no_answer": {"type": "extension_voicemail", "number": "102"}},
                },
                "lunch": {"external": {"type": "extension", "number": "103"}},
                "dnd": {"internal": {"type": "number", "number": "0612345678"}},
            },
            "exceptions": [
                {"caller_id": "1*", "destination": {"type": "mobile"}},
                {
                    "caller_id": "2*",
                    "destination": {"type": "extension_voicemail", "number": "104"},
                },
            ],
        },
        blf_keys=[
            {"position": 1, "kind": "speed_dial", "number": "105"},
            {"position": 2, "kind": "blf", "number": "106"},
        ],
    )
    assert extension.references() == [
        Reference(
            path="forwarding.profiles.available.internal.busy.number", number="101", rings=True
        ),
        Reference(
            path="forwarding.profiles.available.external.no_answer.number",
            number="102",
            rings=False,
        ),
        Reference(path="forwarding.profiles.lunch.external.number", number="103", rings=True),
        Reference(path="forwarding.exceptions.1.destination.number", number="104", rings=False),
        Reference(path="blf_keys.1.number", number="106", rings=False),
    ]


# --- ExtensionSpec.complete --------------------------------------------------------------


def test_complete_generates_missing_secrets() -> None:
    extension = ExtensionSpec(number="100").complete(CredentialGenerator(random.Random(1)))
    assert len(extension.auth_password) == 20
    assert extension.auth_id[0].isalpha()
    assert extension.voicemail.pin is not None
    assert extension.voicemail.pin.isdigit()


def test_complete_keeps_given_secrets() -> None:
    spec = ExtensionSpec.model_validate(
        {
            "number": "100",
            "auth_id": "given-id",
            "auth_password": "GivenPassword123",
            "voicemail": {"pin": "2468"},
        }
    )
    extension = spec.complete(CredentialGenerator(random.Random(1)))
    assert (extension.auth_id, extension.auth_password, extension.voicemail.pin) == (
        "given-id",
        "GivenPassword123",
        "2468",
    )


def test_complete_keeps_previous_secrets_when_omitted() -> None:
    previous = make()
    spec = ExtensionSpec.model_validate({"number": "100", "first_name": "Ada"})
    extension = spec.complete(CredentialGenerator(random.Random(2)), previous)
    assert extension.auth_id == previous.auth_id
    assert extension.auth_password == previous.auth_password
    assert extension.voicemail.pin == previous.voicemail.pin
    assert extension.first_name == "Ada"


def test_complete_mixes_given_previous_and_generated() -> None:
    previous = make()
    spec = ExtensionSpec.model_validate({"number": "100", "auth_password": "BrandNewSecret99"})
    extension = spec.complete(CredentialGenerator(random.Random(3)), previous)
    assert extension.auth_password == "BrandNewSecret99"
    assert extension.auth_id == previous.auth_id
    assert extension.voicemail.pin == "4711"


def test_complete_is_repeatable_with_a_seeded_source() -> None:
    spec = ExtensionSpec(number="100")
    first = spec.complete(CredentialGenerator(random.Random(42)))
    second = spec.complete(CredentialGenerator(random.Random(42)))
    assert first == second


def test_spec_and_extension_share_the_tab_vocabulary() -> None:
    assert set(ExtensionSpec.model_fields) == set(Extension.model_fields)
