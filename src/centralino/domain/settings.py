"""System settings: SMTP, networks, numbering, dial codes (SPEC section 3)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, field_validator, model_validator

from centralino.domain.forwarding import DEFAULT_STATUS_NAMES, Status
from centralino.domain.model import DomainModel, FieldValueError
from centralino.domain.text import Matches
from centralino.domain.values import Email, Label

__all__ = [
    "DialCode",
    "DialCodeSettings",
    "NetworkSettings",
    "NumberingSettings",
    "PresenceSettings",
    "SecuritySettings",
    "SipSettings",
    "SmtpSettings",
    "SystemSettings",
]

HostName = Annotated[str, Matches(r"[A-Za-z0-9.:\[\]-]{1,253}", "a host name or IP address")]


class SmtpSettings(DomainModel):
    """The mail server used for voicemail, missed-call and welcome emails."""

    host: HostName | None = None
    port: int = Field(default=587, ge=1, le=65535)
    username: Annotated[str, StringConstraints(max_length=200)] | None = None
    password: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, repr=False
    )
    sender: Email | None = None
    starttls: bool = True


def _default_local_networks() -> list[str]:
    return ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


class NetworkSettings(DomainModel):
    """Which addresses count as the LAN, and how the PBX is reached."""

    local_networks: list[str] = Field(default_factory=_default_local_networks, max_length=100)
    public_host: HostName | None = None
    """The PBX's address as seen from outside the local networks (NAT, a DNS
    name): the host it names itself by in SIP (Via, Contact) and in SDP (media)
    to peers outside ``local_networks``, and the domain of the emails' sender.
    Unset: every peer is given the configured SIP host."""

    @field_validator("local_networks")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        try:
            return [str(ipaddress.ip_network(value.strip(), strict=False)) for value in values]
        except ValueError as exc:
            raise ValueError(f"not a network in CIDR form: {exc}") from exc

    def is_local(self, address: str) -> bool:
        """Tell whether an IP address lies in one of the local networks."""
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(net) for net in self.local_networks)


DigestAlgorithmName = Literal["MD5", "SHA-256"]
"""A digest algorithm the PBX can challenge with (RFC 8760)."""


def _default_digest_algorithms() -> list[DigestAlgorithmName]:
    return ["MD5"]


class SipSettings(DomainModel):
    """How the PBX authenticates phones.

    ``digest_algorithms``: one digest challenge per algorithm, in this order
    (RFC 8760 §2.3: phones take the first they support). MD5 only by default:
    baresip 1.0 refuses a challenge list holding SHA-256 and SIPp answers only
    the first challenge, so offering SHA-256 first locks such phones out.
    """

    digest_algorithms: list[DigestAlgorithmName] = Field(
        default_factory=_default_digest_algorithms, min_length=1
    )

    @field_validator("digest_algorithms")
    @classmethod
    def _distinct(cls, values: list[DigestAlgorithmName]) -> list[DigestAlgorithmName]:
        if len(set(values)) != len(values):
            raise ValueError("an algorithm is listed twice")
        return values


def _default_emergency_numbers() -> list[str]:
    return ["112", "113", "115", "118", "911"]


class NumberingSettings(DomainModel):
    """How long extension numbers are, and the numbers outside calls treat apart.

    ``emergency_numbers`` are always allowed: they bypass every outbound
    restriction and carry the extension's own caller ID. ``outbound_unlock_code``
    is what a PIN-protected extension dials (then its voicemail PIN and ``#``)
    to make outside calls for ``outbound_unlock_minutes``.
    """

    extension_length: int = Field(default=3, ge=2, le=6)
    emergency_numbers: list[Annotated[str, Matches(r"[0-9]{2,6}", "2 to 6 digits, e.g. 112")]] = (
        Field(default_factory=_default_emergency_numbers, max_length=20)
    )
    outbound_unlock_code: Annotated[
        str, Matches(r"[0-9*#]{2,8}", "2 to 8 digits, '*' or '#', e.g. 777")
    ] = "777"
    outbound_unlock_minutes: int = Field(default=10, ge=1, le=1440)


DialCode = Annotated[
    str, Matches(r"[*#][0-9*#]{1,7}", "'*' or '#' then 1 to 7 digits, '*' or '#' (e.g. *32)")
]
"""A feature code dialled from a phone; never a plain number, so never an extension."""


class DialCodeSettings(DomainModel):
    """Codes a phone dials: its own presence status (SPEC §2.3), its voicemail.

    Dialling a status code sets the caller's status and the call is answered
    ``603 Status set to <name>`` at once: the phone shows the reason phrase.
    The voicemail codes are answered by the PBX's voicemail menu.
    """

    available: DialCode = "*30"
    away: DialCode = "*31"
    dnd: DialCode = "*32"
    lunch: DialCode = "*33"
    business_trip: DialCode = "*34"
    voicemail: DialCode = "*97"
    """The caller's own mailbox: listen to messages, record a greeting."""
    record_greeting: DialCode = "*96"
    """Record a new greeting for the caller's own mailbox, straight away."""
    voicemail_login: DialCode = "*98"
    """Any mailbox from any phone: the mailbox number, then its PIN."""

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        seen: dict[str, str] = {}
        for name in (
            *(status.value for status in Status),
            "voicemail",
            "record_greeting",
            "voicemail_login",
        ):
            code = getattr(self, name)
            if code in seen:
                raise FieldValueError(name, f"{code} is already the code of {seen[code]}")
            seen[code] = name
        return self

    def status_for(self, dialled: str) -> Status | None:
        """The status a dialled code sets, or None when it is no status code."""
        return next((s for s in Status if getattr(self, s.value) == dialled), None)


class PresenceSettings(DomainModel):
    """How statuses are called on phones, clients, the console and the explainer.

    ``display_names`` renames some statuses (e.g. ``{"lunch": "Pausa pranzo"}``);
    the others keep their default names.
    """

    display_names: dict[Status, Label] = Field(default_factory=dict)

    def name_of(self, status: Status) -> str:
        """The display name of ``status``."""
        return self.display_names.get(status) or DEFAULT_STATUS_NAMES[status]

    def names(self) -> dict[Status, str]:
        """Every status with its display name."""
        return {status: self.name_of(status) for status in Status}


class SecuritySettings(DomainModel):
    """Who the defence against password guessing trusts.

    ``trusted_networks``: addresses that are rate-limited after failed SIP
    authentications (a short pause) but never blocked. None: the local
    networks (``network.local_networks``); an empty list: no network.
    """

    trusted_networks: list[str] | None = Field(default=None, max_length=100)

    @field_validator("trusted_networks")
    @classmethod
    def _cidrs(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        try:
            return [str(ipaddress.ip_network(value.strip(), strict=False)) for value in values]
        except ValueError as exc:
            raise ValueError(f"not a network in CIDR form: {exc}") from exc

    def trusted(self, network: NetworkSettings) -> list[str]:
        """The trusted networks in force (the local networks when unset)."""
        return network.local_networks if self.trusted_networks is None else self.trusted_networks


class SystemSettings(DomainModel):
    """Every section of the system settings."""

    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    numbering: NumberingSettings = Field(default_factory=NumberingSettings)
    presence: PresenceSettings = Field(default_factory=PresenceSettings)
    dial_codes: DialCodeSettings = Field(default_factory=DialCodeSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
