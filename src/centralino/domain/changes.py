"""The change feed's records: a committed domain event, and its JSON form.

Theory of operation. Every use-case that commits a change appends its domain
events to the change feed (``UnitOfWork.changes``) in the same transaction:
the feed is an outbox, so an event exists exactly when its change does. Each
record gets a position that grows with commit order; followers (one per
process) read the records after their cursor and hand the events to their
in-process bus in that order.

An event travels as ``(type, document)``: the event class's name and a JSON
object of its fields. :func:`encode_event` and :func:`decode_event` convert
by the fields' declared types (models by their own JSON form, enums by
value, tuples as lists), so a new event needs no code here, only its entry
in :data:`FEED_EVENTS`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from centralino.domain import events
from centralino.domain.events import DomainEvent
from centralino.domain.extension import Extension
from centralino.domain.shared_tabs import SharedTabs

__all__ = [
    "FEED_EVENTS",
    "Change",
    "ChangeBatch",
    "UnknownEvent",
    "decode_event",
    "encode_event",
    "encode_event_json",
]

FEED_EVENTS: Mapping[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        events.ExtensionCreated,
        events.ExtensionChanged,
        events.ExtensionDeleted,
        events.CredentialsChanged,
        events.StatusChanged,
        events.SettingsChanged,
        events.OfficeHoursChanged,
        events.GroupChanged,
        events.TrunkChanged,
        events.OutboundRuleChanged,
        events.VoicemailLeft,
        events.MailboxChanged,
        events.CallRecorded,
        events.AddressUnblocked,
    )
}
"""The events that travel on the change feed, by type name.

``CallStateChanged`` (one node's calls), ``CallRecordCreated`` (written by
the node that handled the call, straight to its table) and ``ChangesMissed``
(a follower's own signal) never do."""


class UnknownEvent(ValueError):
    """A feed record whose type this version does not know (a newer node wrote it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One committed change as read back from the feed."""

    position: int
    at: dt.datetime
    actor: str
    node: str
    event: DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeBatch:
    """Records read past a cursor: ``through`` is the last position read.

    ``through`` may pass the last change's position when unreadable records
    (a newer version's events) were skipped; it equals the cursor read from
    when nothing was there.
    """

    changes: tuple[Change, ...]
    through: int


Decoder = Callable[[Any], Any]

_EXTENSION: Decoder = Extension.model_validate
_DECODERS: dict[str, dict[str, Decoder]] = {}
"""Each feed event's field decoders, built from its type hints on first use."""


def encode_event(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """The feed form of ``event``: its type name and a JSON-ready document.

    Raises:
        UnknownEvent: ``event`` does not travel on the feed.
    """
    name = type(event).__name__
    if name not in FEED_EVENTS:
        raise UnknownEvent(f"{name} is not a change-feed event")
    document = {
        field.name: _encode(getattr(event, field.name)) for field in dataclasses.fields(event)
    }
    return name, document


def encode_event_json(event: DomainEvent) -> tuple[str, str]:
    """:func:`encode_event` with the document as JSON text, models rendered by pydantic.

    Three times quicker for an event carrying an extension (``model_dump_json``
    is Rust); the text decodes to the same document.

    Raises:
        UnknownEvent: ``event`` does not travel on the feed.
    """
    name = type(event).__name__
    if name not in FEED_EVENTS:
        raise UnknownEvent(f"{name} is not a change-feed event")
    members = []
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        text = value.model_dump_json() if isinstance(value, BaseModel) else _json(_encode(value))
        members.append(f"{_json(field.name)}:{text}")
    return name, "{" + ",".join(members) + "}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode_event(
    name: str, document: Mapping[str, Any], *, shared: SharedTabs | None = None
) -> DomainEvent:
    """The event that :func:`encode_event` turned into ``(name, document)``.

    With ``shared``, an extension's identical tabs are one object across the
    events decoded with it (a burst of 50,000 new extensions in the caches).

    Raises:
        UnknownEvent: ``name`` is not a change-feed event.
        ValueError: the document does not fit the event (pydantic's
            ``ValidationError`` is one).
    """
    cls = FEED_EVENTS.get(name)
    if cls is None:
        raise UnknownEvent(f"unknown change-feed event {name!r}")
    decoders = _decoders(cls)
    if shared is not None:  # (bound methods compare equal)
        decoders = {f: shared.decode if d == _EXTENSION else d for f, d in decoders.items()}
    try:
        return cls(**{field: decode(document[field]) for field, decode in decoders.items()})
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{name}: {exc}") from exc


def _encode(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    return value


def _decoders(cls: type[Any]) -> dict[str, Decoder]:
    name = cls.__name__
    if name not in _DECODERS:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        _DECODERS[name] = {field.name: _decoder(hints[field.name]) for field in fields}
    return _DECODERS[name]


def _decoder(hint: Any) -> Decoder:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        decode = _decoder(inner[0]) if len(inner) == 1 else _identity
        return lambda value: None if value is None else decode(value)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        return lambda value: tuple(item(element) for element in value)
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return hint.model_validate
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    return _identity


def _identity(value: Any) -> Any:
    return value
