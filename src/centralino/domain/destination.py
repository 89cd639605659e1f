"""Where a call goes: a typed union, never a dialplan string (SPEC section 5).

A destination is one of six kinds, told apart by its ``type`` field. Kinds that
point at another extension carry that extension's ``number``; an external
number carries the number to dial.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from centralino.domain.model import DomainModel
from centralino.domain.values import ExtensionNumber, PhoneNumber

__all__ = [
    "Destination",
    "EndCall",
    "ExtensionDestination",
    "ExtensionVoicemail",
    "ExternalNumber",
    "Mobile",
    "Voicemail",
]


class Voicemail(DomainModel):
    """The called extension's own voicemail box."""

    type: Literal["voicemail"] = "voicemail"


class ExtensionVoicemail(DomainModel):
    """Another extension's voicemail box."""

    type: Literal["extension_voicemail"] = "extension_voicemail"
    number: ExtensionNumber


class Mobile(DomainModel):
    """The called extension's mobile number, over a trunk."""

    type: Literal["mobile"] = "mobile"


class ExtensionDestination(DomainModel):
    """Ring another extension (whose own rules then apply)."""

    type: Literal["extension"] = "extension"
    number: ExtensionNumber


class ExternalNumber(DomainModel):
    """An external number, over a trunk."""

    type: Literal["number"] = "number"
    number: PhoneNumber


class EndCall(DomainModel):
    """Hang up the call."""

    type: Literal["end_call"] = "end_call"


Destination = Annotated[
    Voicemail | ExtensionVoicemail | Mobile | ExtensionDestination | ExternalNumber | EndCall,
    Field(discriminator="type"),
]
