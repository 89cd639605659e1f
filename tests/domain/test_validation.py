"""Every tab of an extension: good values pass, bad ones name the field and why."""

from __future__ import annotations

from typing import Any

import pytest

from centralino.admin.validation import parse_model
from centralino.domain.errors import InvalidInput
from centralino.domain.extension import ExtensionSpec
from centralino.domain.forwarding import ForwardingSettings
from centralino.domain.voicemail import VoicemailSettings

GOOD_SPEC: dict[str, Any] = {
    "number": "100",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "mobile": "+393331234567",
    "outbound_caller_id": "0612345678",
    "auth_id": "ada.lovelace",
    "auth_password": "Abcdefghij123456",
    "dids": ["+390612345600", "0612345601"],
    "meeting_room": "ada-room",
    "voicemail": {
        "enabled": True,
        "pin": "4711",
        "require_pin": False,
        "announce_caller_id": True,
        "announce_datetime": False,
        "email_mode": "attach_and_delete",
        "greetings": [{"id": "busy", "name": "Busy"}, {"id": "holiday", "name": "Holiday"}],
        "active_greeting": "holiday",
    },
    "forwarding": {
        "status": "lunch",
        "auto_switch_by_office_hours": True,
        "office_hours": "sales",
        "profiles": {
            "available": {
                "ring_mobile": True,
                "no_answer_seconds": 30,
                "internal": {
                    "no_answer": {"type": "extension", "number": "101"},
                    "busy": {"type": "extension_voicemail", "number": "101"},
                    "not_registered": {"type": "mobile"},
                },
                "external": {
                    "no_answer": {"type": "number", "number": "+390612345678"},
                    "busy": {"type": "end_call"},
                    "not_registered": {"type": "voicemail"},
                },
            },
            "dnd": {"internal": {"type": "end_call"}, "external": {"type": "voicemail"}},
        },
        "exceptions": [
            {"caller_id": "+3906*", "destination": {"type": "extension", "number": "102"}},
            {
                "caller_id": "12?4",
                "window": {
                    "type": "specific",
                    "days": ["mon", "fri"],
                    "start": "08:00",
                    "end": "12:30",
                },
                "destination": {"type": "end_call"},
            },
            {
                "caller_id": "#1",
                "window": {"type": "office_hours"},
                "destination": {"type": "mobile"},
            },
        ],
    },
    "devices": [
        {"vendor": "yealink", "model": "T46U", "mac": "80:5E:C0:12:34:56", "language": "it-IT"},
        {"vendor": "softphone", "model": "Centralino Client"},
    ],
    "blf_keys": [
        {"position": 1, "kind": "blf", "number": "101", "label": "Bob"},
        {"position": 2, "kind": "speed_dial", "number": "+390612345678"},
        {"position": 3, "kind": "custom_speed_dial", "number": "*72#"},
        {"position": 4, "kind": "shared_parking", "slot": 7},
        {"position": 5, "kind": "agent_login", "queue": "800"},
        {"position": 6, "kind": "change_status", "status": "dnd"},
    ],
    "options": {"disabled": False, "pin_protected": True, "lan_only": True, "sip_id": "ada"},
    "rights": [
        {"group": "sales", "role": "manager", "permissions": {"barge_in": True}},
        {"group": "Support Team", "role": "user"},
    ],
    "administration": {
        "console_access": True,
        "extensions_scope": "all",
        "system": True,
        "call_reports": True,
        "download_recordings": True,
    },
    "client": {"sip_transport": "tls", "rtp_mode": "srtp", "codecs": ["PCMA", "G722"]},
    "integrations": {
        "crm_enabled": True,
        "crm_lookup_url": "https://crm.example.com/lookup?n={caller}",
        "webhooks": [{"event": "call_missed", "url": "http://hooks.example.com/x"}],
        "script": "hooks/on_call.py",
    },
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """A copy of GOOD_SPEC with one dotted path set (list indexes as numbers)."""
    import copy

    document = copy.deepcopy(GOOD_SPEC)
    *parents, leaf = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return document


def errors_of(document: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_model(ExtensionSpec, document)
    assert caught.value.errors, "InvalidInput must carry at least one field error"
    return [(error.path, error.reason) for error in caught.value.errors]


def test_every_tab_with_good_values_is_accepted() -> None:
    spec = parse_model(ExtensionSpec, GOOD_SPEC)
    assert spec.devices[0].mac == "805ec0123456"
    assert spec.forwarding.profiles.available.no_answer_seconds == 30
    assert [key.kind for key in spec.blf_keys] == [
        "blf",
        "speed_dial",
        "custom_speed_dial",
        "shared_parking",
        "agent_login",
        "change_status",
    ]


def test_minimal_document_is_accepted() -> None:
    spec = parse_model(ExtensionSpec, {"number": "100"})
    assert spec.auth_id is None
    assert spec.auth_password is None
    assert spec.voicemail.pin is None


BAD_VALUES = [
    # general
    ("number", "10a", "number", "digits"),
    ("number", "1", "number", "digits"),
    ("email", "not-an-email", "email", "email address"),
    ("email", "a@b", "email", "email address"),
    ("mobile", "call me", "mobile", "phone number"),
    ("outbound_caller_id", "06-1234", "outbound_caller_id", "phone number"),
    ("dids", ["0612", "0612"], "dids.1", "DID 0612 appears more than once"),
    ("dids", ["abc"], "dids.0", "phone number"),
    ("meeting_room", "Ada Room!", "meeting_room", "lower-case letters"),
    ("meeting_room", "ab", "meeting_room", "3 to 40"),
    ("auth_id", "a b", "auth_id", "letters, digits"),
    ("auth_id", "abc", "auth_id", "4 to 64"),
    ("auth_password", "short", "auth_password", "12 to 128"),
    ("auth_password", "has a space in it", "auth_password", "without spaces"),
    ("first_name", "x" * 65, "first_name", "at most 64"),
    # voicemail
    ("voicemail.pin", "12", "voicemail.pin", "4 to 10 digits"),
    ("voicemail.pin", "12ab", "voicemail.pin", "4 to 10 digits"),
    ("voicemail.email_mode", "fax", "voicemail.email_mode", "'attach_and_delete'"),
    ("voicemail.enabled", "maybe", "voicemail.enabled", "boolean"),
    ("voicemail.active_greeting", "missing", "voicemail.active_greeting", "one of the greetings"),
    (
        "voicemail.greetings",
        [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}],
        "voicemail.greetings",
        "unique",
    ),
    ("voicemail.greetings", [{"id": "Bad Id", "name": "x"}], "voicemail.greetings.0.id", "lower"),
    # forwarding
    ("forwarding.status", "asleep", "forwarding.status", "'business_trip'"),
    (
        "forwarding.profiles.available.no_answer_seconds",
        2,
        "forwarding.profiles.available.no_answer_seconds",
        "greater than or equal to 5",
    ),
    (
        "forwarding.profiles.available.no_answer_seconds",
        601,
        "forwarding.profiles.available.no_answer_seconds",
        "less than or equal to 600",
    ),
    (
        "forwarding.profiles.available.internal.busy",
        {"type": "extension"},
        "forwarding.profiles.available.internal.busy.number",
        "Field required",
    ),
    (
        "forwarding.profiles.away.external",
        {"type": "number", "number": "call-me"},
        "forwarding.profiles.away.external.number",
        "phone number",
    ),
    (
        "forwarding.exceptions.0.destination",
        {"type": "teleport"},
        "forwarding.exceptions.0.destination.type",
        "must be one of: voicemail, extension_voicemail, mobile, extension, number, end_call",
    ),
    (
        "forwarding.exceptions.0.destination",
        {"type": "extension", "number": "abc"},
        "forwarding.exceptions.0.destination.number",
        "digits",
    ),
    (
        "forwarding.exceptions.1.window.end",
        "07:00",
        "forwarding.exceptions.1.window.end",
        "must be after start",
    ),
    (
        "forwarding.exceptions.1.window.start",
        "25:00",
        "forwarding.exceptions.1.window.start",
        "HH:MM",
    ),
    (
        "forwarding.exceptions.1.window.days",
        [],
        "forwarding.exceptions.1.window.days",
        "at least 1",
    ),
    ("forwarding.exceptions.0.caller_id", "abc", "forwarding.exceptions.0.caller_id", "caller ID"),
    ("forwarding.office_hours", "Not A Name", "forwarding.office_hours", "lower-case"),
    # devices
    ("devices.0.mac", "80:5E:C0:12:34", "devices.0.mac", "12 hexadecimal digits"),
    ("devices.0.mac", "zz5ec0123456", "devices.0.mac", "12 hexadecimal digits"),
    ("devices.0.vendor", "nokia", "devices.0.vendor", "'yealink'"),
    ("devices.1.language", "Italian", "devices.1.language", "language code"),
    (
        "devices.1.mac",
        "805ec0123456",
        "devices.1.mac",
        "MAC address 805ec0123456 appears more than once",
    ),
    # blf keys
    ("blf_keys.1.position", 1, "blf_keys.1.position", "key position 1 appears more than once"),
    ("blf_keys.0.number", "Bob", "blf_keys.0.number", "digits"),
    ("blf_keys.0.position", 0, "blf_keys.0.position", "greater than or equal to 1"),
    ("blf_keys.3.slot", 100, "blf_keys.3.slot", "less than or equal to 99"),
    ("blf_keys.5.status", "sleeping", "blf_keys.5.status", "'available'"),
    ("blf_keys.0.kind", "lamp", "blf_keys.0.kind", "must be one of: blf, speed_dial, "),
    ("blf_keys.0.kind", 5, "blf_keys.0.kind", "must be one of: blf, speed_dial, "),
    # options
    ("options.sip_id", "1abc", "options.sip_id", "starting with a letter"),
    ("options.lan_only", "sometimes", "options.lan_only", "boolean"),
    # rights
    ("rights.0.role", "boss", "rights.0.role", "'user' or 'manager'"),
    ("rights.0.group", "-bad", "rights.0.group", "letters, digits"),
    ("rights.1.group", "sales", "rights.1.group", "group sales appears more than once"),
    ("rights.0.permissions", {"fly": True}, "rights.0.permissions.fly", "Extra inputs"),
    # administration
    (
        "administration.extensions_scope",
        "groups",
        "administration.extensions_scope",
        "must be 'all' for a system administrator",
    ),
    (
        "administration.call_reports",
        False,
        "administration.download_recordings",
        "requires call_reports",
    ),
    ("administration.extensions_scope", "world", "administration.extensions_scope", "'all'"),
    # client
    ("client.codecs", ["PCMA", "PCMA"], "client.codecs", "each codec may appear once"),
    ("client.codecs", [], "client.codecs", "at least 1"),
    ("client.codecs", ["AMR"], "client.codecs.0", "'PCMU'"),
    ("client.sip_transport", "sctp", "client.sip_transport", "'udp'"),
    # integrations
    ("integrations.crm_lookup_url", None, "integrations.crm_lookup_url", "required when"),
    ("integrations.crm_lookup_url", "ftp://x", "integrations.crm_lookup_url", "http://"),
    ("integrations.webhooks.0.event", "call_made", "integrations.webhooks.0.event", "'call_ended'"),
    ("integrations.script", "rm -rf /", "integrations.script", "script path"),
    # unknown fields anywhere
    ("nickname", "ada", "nickname", "Extra inputs are not permitted"),
    ("voicemail.colour", "red", "voicemail.colour", "Extra inputs are not permitted"),
    ("forwarding.profiles.lunch.nap", True, "forwarding.profiles.lunch.nap", "Extra inputs"),
    ("devices.0.colour", "red", "devices.0.colour", "Extra inputs are not permitted"),
    ("blf_keys.0.colour", "red", "blf_keys.0.colour", "Extra inputs are not permitted"),
    ("options.colour", "red", "options.colour", "Extra inputs are not permitted"),
    ("administration.root", True, "administration.root", "Extra inputs are not permitted"),
    ("client.colour", "red", "client.colour", "Extra inputs are not permitted"),
    ("integrations.colour", "red", "integrations.colour", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("field", "value", "path", "reason"),
    BAD_VALUES,
    ids=[f"{row[0]}={row[1]!r}"[:60] for row in BAD_VALUES],
)
def test_bad_value_names_field_and_reason(field: str, value: Any, path: str, reason: str) -> None:
    errors = errors_of(with_change(field, value))
    assert [p for p, _ in errors] == [path], errors
    assert reason in errors[0][1], errors


def test_reasons_are_readable_not_regular_expressions() -> None:
    errors = errors_of(with_change("voicemail.pin", "1"))
    assert errors == [("voicemail.pin", "must be 4 to 10 digits")]
    assert "[0-9]" not in errors[0][1]


def test_several_bad_fields_are_all_reported() -> None:
    document = with_change("voicemail.pin", "1")
    document["email"] = "nope"
    document["options"]["sip_id"] = "9"
    paths = {path for path, _ in errors_of(document)}
    assert paths == {"voicemail.pin", "email", "options.sip_id"}


def test_missing_number_is_reported() -> None:
    assert errors_of({"first_name": "Ada"}) == [("number", "Field required")]


@pytest.mark.parametrize("document", [[], "100", 100, None])
def test_a_document_that_is_not_an_object_is_rejected(document: Any) -> None:
    [(path, reason)] = errors_of(document)
    assert path == "(body)"
    assert "dictionary" in reason


def test_strings_are_stripped_before_checking() -> None:
    spec = parse_model(ExtensionSpec, {"number": " 100 ", "voicemail": {"pin": " 1234 "}})
    assert spec.number == "100"
    assert spec.voicemail.pin == "1234"


def test_prefix_points_at_the_tab() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(VoicemailSettings, {"pin": "1"}, prefix="voicemail")
    assert [e.path for e in caught.value.errors] == ["voicemail.pin"]
    with pytest.raises(InvalidInput) as caught:
        parse_model(ForwardingSettings, [], prefix="forwarding")
    assert [e.path for e in caught.value.errors] == ["forwarding"]


def test_invalid_input_message_lists_path_and_reason() -> None:
    with pytest.raises(InvalidInput, match=r"voicemail\.pin: must be 4 to 10 digits"):
        parse_model(ExtensionSpec, with_change("voicemail.pin", "x"))


BLF_KINDS = "blf, speed_dial, custom_speed_dial, shared_parking, agent_login, change_status"
DESTINATION_TYPES = "voicemail, extension_voicemail, mobile, extension, number, end_call"
WINDOW_TYPES = "always, office_hours, outside_office_hours, specific"


@pytest.mark.parametrize(
    ("document", "path", "reason"),
    [
        (
            {"number": "100", "blf_keys": [{"position": 1, "kind": "lamp"}]},
            "blf_keys.0.kind",
            f"must be one of: {BLF_KINDS}",
        ),
        (
            {"number": "100", "blf_keys": [{"position": 1, "number": "101"}]},
            "blf_keys.0.kind",
            f"is required and must be one of: {BLF_KINDS}",
        ),
        (
            {
                "number": "100",
                "forwarding": {"exceptions": [{"caller_id": "1", "destination": {"type": "fax"}}]},
            },
            "forwarding.exceptions.0.destination.type",
            f"must be one of: {DESTINATION_TYPES}",
        ),
        (
            {
                "number": "100",
                "forwarding": {"exceptions": [{"caller_id": "1", "destination": {}}]},
            },
            "forwarding.exceptions.0.destination.type",
            f"is required and must be one of: {DESTINATION_TYPES}",
        ),
        (
            {
                "number": "100",
                "forwarding": {
                    "exceptions": [
                        {"caller_id": "1", "window": {"days": ["mon"]}, "destination": {}}
                    ]
                },
            },
            "forwarding.exceptions.0.window.type",
            f"is required and must be one of: {WINDOW_TYPES}",
        ),
        (
            {
                "number": "100",
                "forwarding": {"profiles": {"dnd": {"internal": {"type": None}}}},
            },
            "forwarding.profiles.dnd.internal.type",
            f"must be one of: {DESTINATION_TYPES}",
        ),
    ],
)
def test_a_bad_or_missing_discriminator_names_itself_and_the_choices(
    document: dict[str, Any], path: str, reason: str
) -> None:
    errors = errors_of(document)
    assert (path, reason) in errors, errors
    assert all(not p.endswith((".0", ".destination", ".window")) for p, _ in errors), errors


def test_a_missing_discriminator_in_one_tab_names_the_choices() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(ForwardingSettings, {"profiles": {"dnd": {"internal": {}}}}, "forwarding")
    [error] = caught.value.errors
    assert error.path == "forwarding.profiles.dnd.internal.type"
    assert error.reason == f"is required and must be one of: {DESTINATION_TYPES}"
