"""Phones tied to an extension (SPEC 2.4) and their BLF keys (SPEC 2.5)."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import Field

from centralino.domain.forwarding import Status
from centralino.domain.model import DomainModel
from centralino.domain.text import Matches
from centralino.domain.values import ExtensionNumber, Label, MacAddress, PhoneNumber

__all__ = [
    "DEFAULT_CLIENT_KEYS",
    "AgentLoginKey",
    "BlfKey",
    "BusyLampKey",
    "ChangeStatusKey",
    "CustomSpeedDialKey",
    "Device",
    "SharedParkingKey",
    "SpeedDialKey",
    "Vendor",
]

DEFAULT_CLIENT_KEYS = 28
"""Keys a softphone client shows by default (expandable)."""


class Vendor(enum.StrEnum):
    """Phone families the provisioning server speaks to."""

    YEALINK = "yealink"
    GRANDSTREAM = "grandstream"
    SNOM = "snom"
    FANVIL = "fanvil"
    POLY = "poly"
    SOFTPHONE = "softphone"


ModelName = Annotated[
    str,
    Matches(
        r"[A-Za-z0-9][A-Za-z0-9 ._+-]{0,39}",
        "a model name of letters, digits, spaces and . _ + - (at most 40)",
    ),
]


class Device(DomainModel):
    """A desk phone or softphone provisioned with this extension's line."""

    vendor: Vendor
    model: ModelName
    mac: MacAddress | None = None
    name: Label = ""
    language: Annotated[
        str, Matches(r"[a-z]{2}(-[A-Z]{2})?", "a language code like 'en' or 'it-IT'")
    ] = "en"
    time_zone: str | None = None


class _Key(DomainModel):
    position: int = Field(ge=1, le=200)


class BusyLampKey(_Key):
    """A lamp showing another extension's state; pressing it calls or picks up."""

    kind: Literal["blf"] = "blf"
    number: ExtensionNumber
    label: Label = ""


class SpeedDialKey(_Key):
    """Dial an extension or phonebook number."""

    kind: Literal["speed_dial"] = "speed_dial"
    number: PhoneNumber
    label: Label = ""


class CustomSpeedDialKey(_Key):
    """Dial any string the phone can dial (feature codes included)."""

    kind: Literal["custom_speed_dial"] = "custom_speed_dial"
    number: Annotated[
        str, Matches(r"[0-9+*#]{1,32}", "up to 32 dialable characters (digits, +, *, #)")
    ]
    label: Label = ""


class SharedParkingKey(_Key):
    """A shared parking slot: park a call on it, or pick up the parked call."""

    kind: Literal["shared_parking"] = "shared_parking"
    slot: int = Field(ge=1, le=99)
    label: Label = ""


class AgentLoginKey(_Key):
    """Log the extension in and out of its queues (or one queue)."""

    kind: Literal["agent_login"] = "agent_login"
    queue: ExtensionNumber | None = None
    label: Label = ""


class ChangeStatusKey(_Key):
    """Switch the extension's presence status."""

    kind: Literal["change_status"] = "change_status"
    status: Status
    label: Label = ""


BlfKey = Annotated[
    BusyLampKey
    | SpeedDialKey
    | CustomSpeedDialKey
    | SharedParkingKey
    | AgentLoginKey
    | ChangeStatusKey,
    Field(discriminator="kind"),
]
