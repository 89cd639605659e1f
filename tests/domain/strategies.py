"""Hypothesis strategies: valid extension documents, and JSON-ish junk."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from centralino.domain.devices import Vendor
from centralino.domain.forwarding import Status
from centralino.domain.office_hours import Weekday
from centralino.domain.options import Codec, WebhookEvent

__all__ = ["extension_documents", "json_values", "mutated_documents"]


def _regex(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


numbers = _regex(r"[0-9]{2,10}")
phones = _regex(r"\+?[0-9]{2,20}")
# Human-readable text: anything but control characters (and lone surrogates).
_printable = st.characters(exclude_categories=("Cc", "Cs"))
names = st.text(_printable, max_size=20) | st.text(_printable, min_size=60, max_size=64)
labels = st.text(_printable, max_size=32)
emails = _regex(r"[a-z0-9._]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}")
auth_ids = _regex(r"[A-Za-z0-9][A-Za-z0-9._-]{3,20}")
passwords = _regex(r"[!-~]{12,30}")
pins = _regex(r"[0-9]{4,10}")
sip_ids = _regex(r"[A-Za-z][A-Za-z0-9._-]{1,20}")
times = _regex(r"([01][0-9]|2[0-3]):[0-5][0-9]")
group_names = _regex(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,15}").map(str.strip).filter(bool)
macs = _regex(r"[0-9a-f]{12}")
urls = _regex(r"https?://[a-z]{1,10}\.example\.com/[a-z{}=?]{0,20}")


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


destinations: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({"type": "voicemail"}),
    st.builds(lambda n: {"type": "extension_voicemail", "number": n}, numbers),
    st.just({"type": "mobile"}),
    st.builds(lambda n: {"type": "extension", "number": n}, numbers),
    st.builds(lambda n: {"type": "number", "number": n}, phones),
    st.just({"type": "end_call"}),
)


@st.composite
def _specific_window(draw: st.DrawFn) -> dict[str, Any]:
    start, end = sorted(draw(st.lists(times, min_size=2, max_size=2, unique=True)))
    days = draw(st.lists(st.sampled_from([d.value for d in Weekday]), min_size=1, max_size=7))
    return {"type": "specific", "days": days, "start": start, "end": end}


windows = st.one_of(
    st.just({"type": "always"}),
    st.just({"type": "office_hours"}),
    st.just({"type": "outside_office_hours"}),
    _specific_window(),
)

_profile_flags = {
    "ring_mobile": st.booleans(),
    "accept_multiple_calls": st.booleans(),
    "logout_from_queues": st.booleans(),
    "accept_ring_group_calls": st.booleans(),
}


_routes = st.fixed_dictionaries(
    {"no_answer": destinations, "busy": destinations, "not_registered": destinations}
)


_available = st.fixed_dictionaries(
    {
        **_profile_flags,
        "no_answer_seconds": st.integers(5, 600),
        "internal": _routes,
        "external": _routes,
    }
)
_other = st.fixed_dictionaries(
    {**_profile_flags, "internal": destinations, "external": destinations}
)
_exception = st.fixed_dictionaries(
    {
        "caller_id": _regex(r"[0-9+*?#]{1,12}"),
        "window": windows,
        "destination": destinations,
    }
)
_forwarding = st.fixed_dictionaries(
    {
        "status": st.sampled_from([s.value for s in Status]),
        "auto_switch_by_office_hours": st.booleans(),
        "office_hours": _optional(_regex(r"[a-z0-9][a-z0-9_-]{0,10}")),
        "profiles": st.fixed_dictionaries(
            {
                "available": _available,
                "away": _other,
                "dnd": _other,
                "lunch": _other,
                "business_trip": _other,
            }
        ),
        "exceptions": st.lists(_exception, max_size=3),
    }
)


_greeting_ids = st.lists(_regex(r"[a-z0-9][a-z0-9_-]{0,10}"), max_size=3, unique=True)
_email_modes = st.sampled_from(["none", "notify", "attach", "attach_and_delete"])


@st.composite
def _voicemail(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(_greeting_ids)
    return {
        "enabled": draw(st.booleans()),
        "pin": draw(pins),
        "require_pin": draw(st.booleans()),
        "announce_caller_id": draw(st.booleans()),
        "announce_datetime": draw(st.booleans()),
        "email_mode": draw(_email_modes),
        "greetings": [{"id": gid, "name": draw(names)} for gid in ids],
        "active_greeting": draw(st.none() | st.sampled_from(ids)) if ids else None,
    }


_vendors = st.sampled_from([v.value for v in Vendor])
_models = _regex(r"[A-Za-z0-9][A-Za-z0-9 ._+-]{0,15}")
_languages = _regex(r"[a-z]{2}(-[A-Z]{2})?")
_zones = _optional(st.sampled_from(["Europe/Rome", "UTC"]))
_mac_lists = st.lists(macs, max_size=3, unique=True)


@st.composite
def _devices(draw: st.DrawFn) -> list[dict[str, Any]]:
    device_macs = draw(_mac_lists)
    return [
        {
            "vendor": draw(_vendors),
            "model": draw(_models),
            "mac": draw(st.none() | st.just(mac)),
            "name": draw(labels),
            "language": draw(_languages),
            "time_zone": draw(_zones),
        }
        for mac in device_macs
    ]


_KEY_TARGETS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "blf": st.fixed_dictionaries({"number": numbers}),
    "speed_dial": st.fixed_dictionaries({"number": phones}),
    "custom_speed_dial": st.fixed_dictionaries({"number": _regex(r"[0-9+*#]{1,32}")}),
    "shared_parking": st.fixed_dictionaries({"slot": st.integers(1, 99)}),
    "agent_login": st.fixed_dictionaries({"queue": _optional(numbers)}),
    "change_status": st.fixed_dictionaries({"status": st.sampled_from([s.value for s in Status])}),
}


_KEY_KINDS = st.sampled_from(sorted(_KEY_TARGETS))


_positions = st.lists(st.integers(1, 200), max_size=6, unique=True)


@st.composite
def _blf_keys(draw: st.DrawFn) -> list[dict[str, Any]]:
    positions = draw(_positions)
    keys = []
    for position in positions:
        kind = draw(_KEY_KINDS)
        target = draw(_KEY_TARGETS[kind])
        keys.append({"position": position, "kind": kind, "label": draw(labels), **target})
    return keys


_permissions = st.fixed_dictionaries(
    {
        name: st.booleans()
        for name in (
            "see_members",
            "see_calls",
            "show_presence",
            "show_calls",
            "operate_calls",
            "barge_in",
            "intercom",
            "park_calls",
            "control_ivr",
            "manage_phonebook",
        )
    }
)


_group_lists = st.lists(group_names, max_size=3, unique=True)
_roles = st.sampled_from(["user", "manager"])
_scopes = st.sampled_from(["own", "groups", "all"])


@st.composite
def _rights(draw: st.DrawFn) -> list[dict[str, Any]]:
    groups = draw(_group_lists)
    return [
        {
            "group": group,
            "role": draw(_roles),
            "permissions": draw(_permissions),
        }
        for group in groups
    ]


@st.composite
def _administration(draw: st.DrawFn) -> dict[str, Any]:
    system = draw(st.booleans())
    reports = draw(st.booleans())
    return {
        "console_access": draw(st.booleans()),
        "extensions_scope": "all" if system else draw(_scopes),
        "sip_trunks": draw(st.booleans()),
        "system": system,
        "call_reports": reports,
        "download_recordings": reports and draw(st.booleans()),
    }


_client = st.fixed_dictionaries(
    {
        "network_interface": _regex(r"[a-z0-9]{1,10}"),
        "sip_transport": st.sampled_from(["udp", "tcp", "tls"]),
        "rtp_mode": st.sampled_from(["plain", "srtp"]),
        "dtmf_mode": st.sampled_from(["rfc4733", "inband", "sip_info"]),
        "push_notifications": st.booleans(),
        "use_tunnel": st.booleans(),
        "default_view": st.sampled_from(["dialpad", "presence"]),
        "call_control": st.sampled_from(["softphone", "desk_phone"]),
        "hide_forwarding_rules": st.booleans(),
        "codecs": st.lists(
            st.sampled_from([c.value for c in Codec]), min_size=1, max_size=5, unique=True
        ),
    }
)


_webhooks = st.lists(
    st.fixed_dictionaries({"event": st.sampled_from([e.value for e in WebhookEvent]), "url": urls}),
    max_size=2,
)
_scripts = _optional(_regex(r"[A-Za-z0-9_./-]{1,50}"))


@st.composite
def _integrations(draw: st.DrawFn) -> dict[str, Any]:
    lookup = draw(_optional(urls))
    return {
        "crm_enabled": lookup is not None and draw(st.booleans()),
        "crm_lookup_url": lookup,
        "crm_journal_url": draw(_optional(urls)),
        "webhooks": draw(_webhooks),
        "script": draw(_scripts),
    }


@st.composite
def extension_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid, complete extension document (every tab filled at random)."""
    auth_id = draw(auth_ids)
    sip_id = draw(_optional(sip_ids))
    if sip_id is not None and sip_id.lower() == auth_id.lower():
        sip_id = None
    options = {
        name: draw(st.booleans())
        for name in (
            "disabled",
            "external_calls_disabled",
            "pin_protected",
            "lan_only",
            "block_tunnel",
            "record_all_calls",
            "hide_from_phonebook",
            "allow_web_meetings",
        )
    }
    return {
        "number": draw(numbers),
        "first_name": draw(names),
        "last_name": draw(names),
        "email": draw(_optional(emails)),
        "mobile": draw(_optional(phones)),
        "outbound_caller_id": draw(_optional(phones)),
        "auth_id": auth_id,
        "auth_password": draw(passwords),
        "dids": draw(st.lists(phones, max_size=4, unique=True)),
        "meeting_room": draw(_optional(_regex(r"[a-z0-9][a-z0-9-]{2,15}"))),
        "voicemail": draw(_voicemail()),
        "forwarding": draw(_forwarding),
        "devices": draw(_devices()),
        "blf_keys": draw(_blf_keys()),
        "options": options | {"sip_id": sip_id},
        "rights": draw(_rights()),
        "administration": draw(_administration()),
        "client": draw(_client),
        "integrations": draw(_integrations()),
    }


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["100", "voicemail", "extension", "blf", "mon", "09:00", "", "true"]),
)
_keys = st.one_of(
    st.text(max_size=10),
    st.sampled_from(
        [
            "number",
            "type",
            "kind",
            "voicemail",
            "pin",
            "forwarding",
            "profiles",
            "available",
            "exceptions",
            "window",
            "destination",
            "devices",
            "mac",
            "blf_keys",
            "position",
            "rights",
            "group",
            "administration",
            "client",
            "codecs",
            "integrations",
            "greetings",
            "active_greeting",
        ]
    ),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=30,
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A valid document with one node somewhere replaced by junk."""
    document = draw(extension_documents())
    node: Any = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return document
        key = draw(st.sampled_from(keys))
        child = node[key]
        descend = isinstance(child, dict | list) and child and draw(st.booleans())
        if not descend:
            node[key] = draw(json_values)
            return document
        node = child
