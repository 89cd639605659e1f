"""The extension: one person's number and every tab of its settings (SPEC 2).

``ExtensionSpec`` is what an administrator writes: the SIP credentials and the
voicemail PIN may be left out and are then generated. ``Extension`` is what is
stored: complete, with credentials. Both share one declaration of the tabs.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Self

from pydantic import Field, model_validator

from centralino.domain.credentials import CredentialGenerator
from centralino.domain.destination import Destination, ExtensionDestination, ExtensionVoicemail
from centralino.domain.devices import BlfKey, BusyLampKey, Device
from centralino.domain.forwarding import ForwardingSettings
from centralino.domain.model import DomainModel, FieldValueError
from centralino.domain.options import ClientOptions, Integrations, Options
from centralino.domain.rights import Administration, GroupRight
from centralino.domain.text import Matches
from centralino.domain.values import (
    AuthId,
    Did,
    Email,
    ExtensionNumber,
    Name,
    PhoneNumber,
    SipPassword,
)
from centralino.domain.voicemail import VoicemailSettings

__all__ = [
    "TABS",
    "Extension",
    "ExtensionSpec",
    "MeetingRoom",
    "Reference",
    "UniqueKey",
    "UniqueKind",
]

MeetingRoom = Annotated[
    str, Matches(r"[a-z0-9][a-z0-9-]{2,39}", "3 to 40 lower-case letters, digits or '-'")
]
"""A personal meeting room's friendly name, used in its URL."""

TABS = (
    "voicemail",
    "forwarding",
    "devices",
    "blf_keys",
    "options",
    "rights",
    "administration",
    "client",
    "integrations",
)
"""The nested tabs of an extension, in console order."""


class UniqueKind(enum.StrEnum):
    """Values that at most one extension may hold, system-wide."""

    SIP_USER = "sip_user"  # auth IDs and SIP IDs share one namespace
    DID = "did"
    MAC = "mac"
    MEETING_ROOM = "meeting_room"


@dataclass(frozen=True, slots=True, kw_only=True)
class UniqueKey:
    """One unique value of an extension and the field path it comes from."""

    kind: UniqueKind
    value: str
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """A setting that points at another extension."""

    path: str
    number: str
    rings: bool
    """True when a call is sent to ring that extension (loops matter)."""


def _destination_number(path: str, destination: Destination) -> list[Reference]:
    if isinstance(destination, ExtensionDestination | ExtensionVoicemail):
        rings = isinstance(destination, ExtensionDestination)
        return [Reference(path=f"{path}.number", number=destination.number, rings=rings)]
    return []


def _repeat_index(values: Sequence[object]) -> int | None:
    """The index of the first value already seen before it (``None`` ignored)."""
    seen: set[object] = set()
    for index, value in enumerate(values):
        if value is not None and value in seen:
            return index
        seen.add(value)
    return None


class _ExtensionFields(DomainModel):
    number: ExtensionNumber
    first_name: Name = ""
    last_name: Name = ""
    email: Email | None = None
    mobile: PhoneNumber | None = None
    outbound_caller_id: PhoneNumber | None = None
    dids: list[Did] = Field(default_factory=list, max_length=50)
    meeting_room: MeetingRoom | None = None
    voicemail: VoicemailSettings = Field(default_factory=VoicemailSettings)
    forwarding: ForwardingSettings = Field(default_factory=ForwardingSettings)
    devices: list[Device] = Field(default_factory=list, max_length=20)
    blf_keys: list[BlfKey] = Field(default_factory=list, max_length=200)
    options: Options = Field(default_factory=Options)
    rights: list[GroupRight] = Field(default_factory=list, max_length=100)
    administration: Administration = Field(default_factory=Administration)
    client: ClientOptions = Field(default_factory=ClientOptions)
    integrations: Integrations = Field(default_factory=Integrations)

    @model_validator(mode="after")
    def _unique_items(self) -> Self:
        # The error points at the repeated item, e.g. ``blf_keys.1.position``.
        checks: list[tuple[str, str | None, list[object], str]] = [
            ("dids", None, list(self.dids), "DID"),
            ("blf_keys", "position", [key.position for key in self.blf_keys], "key position"),
            ("devices", "mac", [device.mac for device in self.devices], "MAC address"),
            ("rights", "group", [right.group for right in self.rights], "group"),
        ]
        for tab, field, values, what in checks:
            index = _repeat_index(values) if len(values) > 1 else None
            if index is not None:
                path = (tab, index) if field is None else (tab, index, field)
                raise FieldValueError(path, f"{what} {values[index]} appears more than once")
        return self

    def references(self) -> list[Reference]:
        """Every setting that points at an extension number."""
        found: list[Reference] = []
        profiles = self.forwarding.profiles
        for route in ("internal", "external"):
            routes = getattr(profiles.available, route)
            for case in ("no_answer", "busy", "not_registered"):
                found += _destination_number(
                    f"forwarding.profiles.available.{route}.{case}", getattr(routes, case)
                )
            for status in ("away", "dnd", "lunch", "business_trip"):
                destination = getattr(getattr(profiles, status), route)
                found += _destination_number(f"forwarding.profiles.{status}.{route}", destination)
        for index, exception in enumerate(self.forwarding.exceptions):
            found += _destination_number(
                f"forwarding.exceptions.{index}.destination", exception.destination
            )
        for index, key in enumerate(self.blf_keys):
            if isinstance(key, BusyLampKey):
                path = f"blf_keys.{index}.number"
                found.append(Reference(path=path, number=key.number, rings=False))
        return found

    @property
    def display_name(self) -> str:
        """The name phones show: first and last name, or the number."""
        return f"{self.first_name} {self.last_name}".strip() or self.number


class ExtensionSpec(_ExtensionFields):
    """An extension as an administrator writes it; secrets may be omitted."""

    auth_id: AuthId | None = None
    auth_password: SipPassword | None = Field(default=None, repr=False)

    def complete(
        self, generate: CredentialGenerator, previous: Extension | None = None
    ) -> Extension:
        """Fill in omitted secrets, keeping the previous ones, else generating.

        Args:
            generate: the source of new credentials.
            previous: the stored extension this spec replaces, if any.

        Returns:
            A complete extension.
        """
        auth_id = self.auth_id or (previous and previous.auth_id) or generate.auth_id()
        password = (
            self.auth_password or (previous and previous.auth_password) or generate.password()
        )
        pin = self.voicemail.pin or (previous and previous.voicemail.pin) or generate.pin()
        voicemail = self.voicemail.model_copy(update={"pin": pin})
        # Every part is already valid (this spec, the previous extension, or
        # generated), so the tabs are reused as they are and only the rules of
        # a complete extension are checked: no second full validation.
        fields = {name: getattr(self, name) for name in _ExtensionFields.model_fields}
        extension = Extension.model_construct(
            **(fields | {"auth_id": auth_id, "auth_password": password, "voicemail": voicemail})
        )
        return extension.checked()


class Extension(_ExtensionFields):
    """A stored extension: complete, with its SIP credentials and PIN."""

    auth_id: AuthId
    auth_password: SipPassword = Field(repr=False)
    """Recoverable (phones need it in their configuration); never in a repr or a log."""

    @model_validator(mode="after")
    def _complete_rules(self) -> Self:
        return self.checked()

    def checked(self) -> Self:
        """Check the rules of a complete extension (also run on validation).

        Raises:
            FieldValueError: the PIN is missing or the SIP ID repeats the auth ID.
        """
        if self.voicemail.pin is None:
            raise FieldValueError(("voicemail", "pin"), "is required")
        sip_id = self.options.sip_id
        if sip_id is not None and sip_id.lower() == self.auth_id.lower():
            raise FieldValueError(("options", "sip_id"), "must differ from auth_id")
        return self

    @property
    def sip_user_names(self) -> tuple[str, ...]:
        """User names a phone may register with: the auth ID and the SIP ID."""
        return tuple(name for name in (self.auth_id, self.options.sip_id) if name)

    def unique_keys(self) -> list[UniqueKey]:
        """Every value of this extension that no other extension may hold."""
        keys = [UniqueKey(kind=UniqueKind.SIP_USER, value=self.auth_id.lower(), path="auth_id")]
        if self.options.sip_id:
            sip_id = self.options.sip_id.lower()
            keys.append(UniqueKey(kind=UniqueKind.SIP_USER, value=sip_id, path="options.sip_id"))
        keys += [
            UniqueKey(kind=UniqueKind.DID, value=did, path=f"dids.{index}")
            for index, did in enumerate(self.dids)
        ]
        keys += [
            UniqueKey(kind=UniqueKind.MAC, value=device.mac, path=f"devices.{index}.mac")
            for index, device in enumerate(self.devices)
            if device.mac
        ]
        if self.meeting_room:
            room = UniqueKey(
                kind=UniqueKind.MEETING_ROOM, value=self.meeting_room, path="meeting_room"
            )
            keys.append(room)
        return keys
