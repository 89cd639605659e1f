"""SIP trunks and outbound rules: how calls reach and come from the outside world.

Theory of operation. A :class:`Trunk` is a provider account: where its SIP
server is (``host``, ``port``, ``transport``), how the PBX proves who it is
(``registration``, or the provider trusting our address), which addresses its
calls come from (the registration target, plus ``allowed_addresses``), which
numbers it routes to us (``dids``, E.164) and where in its requests the DID
is (``did_source``), and how it writes numbers (``number_format``).

An :class:`OutboundRule` says which trunks carry a dialled number: rules are
tried in ``priority`` order; the first whose ``prefix``, lengths and callers
match is taken; its ``strip`` and ``prepend`` rewrite the number; its
``trunks`` are tried in turn (failover on 408, 5xx and timeouts).

The engine reports each trunk's health through the :class:`TrunkStatuses`
port (registration state, OPTIONS keep-alive, calls in progress); the
management side reads it without importing the engine.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
from dataclasses import dataclass
from typing import Annotated, Protocol, Self

from pydantic import Field, StringConstraints, field_validator, model_validator

from centralino.domain.destination import Destination
from centralino.domain.model import DomainModel, FieldValueError
from centralino.domain.settings import HostName
from centralino.domain.text import Matches
from centralino.domain.values import ExtensionNumber, GroupName, PhoneNumber

__all__ = [
    "DidSource",
    "E164Number",
    "EmptyTrunkStatuses",
    "NumberFormat",
    "OutboundRule",
    "RegistrationState",
    "Trunk",
    "TrunkName",
    "TrunkRegistration",
    "TrunkStatus",
    "TrunkStatuses",
    "TrunkTransport",
]

TrunkName = Annotated[
    str, Matches(r"[a-z0-9][a-z0-9_-]{0,31}", "1 to 32 lower-case letters, digits, '_' or '-'")
]
"""A trunk's key: short, lower case, safe in URLs and logs."""

E164Number = Annotated[str, Matches(r"\+[1-9][0-9]{1,14}", "an E.164 number: '+' then 2-15 digits")]
"""A number in international form (ITU-T E.164): ``+`` and the country code first."""

Digits = Annotated[str, Matches(r"[0-9]{0,20}", "up to 20 digits")]
"""Dialled digits (possibly none)."""

CountryCode = Annotated[str, Matches(r"[1-9][0-9]{0,2}", "1 to 3 digits, e.g. 39")]

Secret = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class TrunkTransport(enum.StrEnum):
    """How SIP travels to the provider."""

    UDP = "udp"
    TCP = "tcp"


class DidSource(enum.StrEnum):
    """Where a provider puts the dialled DID in its INVITE."""

    REQUEST_URI = "request_uri"
    TO = "to"


class NumberFormat(enum.StrEnum):
    """How a provider writes numbers: ``+393351234567`` or ``03351234567``."""

    E164 = "e164"
    NATIONAL = "national"


class TrunkRegistration(DomainModel):
    """The account the PBX registers with at the provider (RFC 3261 §10)."""

    enabled: bool = False
    username: Annotated[str, StringConstraints(max_length=128)] | None = None
    """The user part of the address of record (often the account number)."""
    auth_user: Annotated[str, StringConstraints(max_length=128)] | None = None
    """The digest user name, when it differs from ``username``."""
    password: Secret | None = Field(default=None, repr=False)
    expires: int = Field(default=3600, ge=60, le=86400)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.enabled and not self.username:
            raise FieldValueError("username", "is required when registration is enabled")
        if self.enabled and not self.password:
            raise FieldValueError("password", "is required when registration is enabled")
        return self

    @property
    def digest_user(self) -> str:
        """The user name to answer challenges with."""
        return self.auth_user or self.username or ""


class Trunk(DomainModel):
    """A SIP trunk to a provider (SPEC §2.1 DIDs, §2.6 outbound restrictions)."""

    name: TrunkName
    host: HostName
    port: int = Field(default=5060, ge=1, le=65535)
    transport: TrunkTransport = TrunkTransport.UDP
    registration: TrunkRegistration = Field(default_factory=TrunkRegistration)
    allowed_addresses: list[str] = Field(default_factory=list, max_length=50)
    """Networks (CIDR) the provider's calls may come from, besides ``host``."""
    dids: list[E164Number] = Field(default_factory=list, max_length=1000)
    did_source: DidSource = DidSource.REQUEST_URI
    caller_id: PhoneNumber | None = None
    """The trunk's default outbound caller ID."""
    present_forwarded_caller: bool = True
    """A call forwarded out (to a mobile, a number) shows its original caller;
    off for providers that refuse a caller ID not on the account (the
    forwarding extension's caller ID is shown instead)."""
    number_format: NumberFormat = NumberFormat.E164
    national_prefix: Annotated[str, Matches(r"[0-9]{0,3}", "up to 3 digits, e.g. 0")] = "0"
    country_code: CountryCode | None = None
    """Required for ``national``: the country whose numbers need no prefix."""
    max_calls: int | None = Field(default=None, ge=1, le=10000)
    default_destination: Destination | None = None
    """Where a call to a DID no extension owns goes; None refuses it (404)."""
    enabled: bool = True

    @field_validator("allowed_addresses")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        try:
            return [str(ipaddress.ip_network(value.strip(), strict=False)) for value in values]
        except ValueError as exc:
            raise ValueError(f"not a network in CIDR form: {exc}") from exc

    @field_validator("dids")
    @classmethod
    def _distinct_dids(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("a DID is listed twice")
        return values

    @model_validator(mode="after")
    def _country(self) -> Self:
        if self.number_format is NumberFormat.NATIONAL and self.country_code is None:
            raise FieldValueError("country_code", "is required when number_format is national")
        return self


class OutboundRule(DomainModel):
    """Which trunks carry a dialled number, and how it is rewritten."""

    name: TrunkName
    priority: int = Field(default=100, ge=0, le=100000)
    """Rules are tried from the lowest priority up; names break ties."""
    prefix: Annotated[str, Matches(r"\+?[0-9]{0,20}", "digits with an optional leading +")] = ""
    """The dialled number starts with it ('' matches every number)."""
    min_length: int | None = Field(default=None, ge=1, le=32)
    max_length: int | None = Field(default=None, ge=1, le=32)
    callers: list[ExtensionNumber] = Field(default_factory=list, max_length=1000)
    """Only these extensions (with ``groups``: either); empty lists: everybody."""
    groups: list[GroupName] = Field(default_factory=list, max_length=100)
    strip: int = Field(default=0, ge=0, le=20)
    """Digits removed from the front of the dialled number."""
    prepend: Annotated[str, Matches(r"\+?[0-9]{0,20}", "digits with an optional leading +")] = ""
    trunks: list[TrunkName] = Field(min_length=1, max_length=20)
    """Tried in turn: the next on 408, 5xx, 6xx-less failures and timeouts."""
    caller_id: PhoneNumber | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise FieldValueError("max_length", "must not be less than min_length")
        if self.strip > len(self.prefix.lstrip("+")) and self.prefix:
            raise FieldValueError("strip", "must not remove more digits than the prefix holds")
        if len(set(self.trunks)) != len(self.trunks):
            raise FieldValueError("trunks", "a trunk is listed twice")
        return self


class RegistrationState(enum.StrEnum):
    """Where the PBX's registration at a provider stands."""

    DISABLED = "disabled"
    """The trunk does not register (IP-authenticated, or disabled)."""
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"
    """The last attempt failed; another follows after a back-off."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkStatus:
    """A trunk's health as the engine sees it now."""

    name: str
    enabled: bool
    registration: RegistrationState
    up: bool
    """Outbound routing uses the trunk (registered, or not registering and
    answering OPTIONS, or not yet probed)."""
    last_response: int | None = None
    """The status of the provider's last answer to REGISTER."""
    last_error: str | None = None
    next_refresh: dt.datetime | None = None
    options_ok: bool | None = None
    """The last OPTIONS keep-alive was answered; None: not probed yet."""
    options_checked_at: dt.datetime | None = None
    calls_in_progress: int = 0


class TrunkStatuses(Protocol):
    """The engine's view of its trunks, read-only."""

    def status(self, name: str) -> TrunkStatus | None:
        """The status of one trunk, or None when the engine does not know it."""
        ...


class EmptyTrunkStatuses:
    """A ``TrunkStatuses`` without an engine: nothing is known."""

    def status(self, name: str) -> TrunkStatus | None:
        """Nothing."""
        return None
