"""Options and restrictions (SPEC 2.6), client options (2.9), integrations (2.10)."""

from __future__ import annotations

import enum
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from centralino.domain.model import DomainModel, FieldValueError
from centralino.domain.text import Matches

__all__ = [
    "CallControl",
    "ClientOptions",
    "Codec",
    "DefaultView",
    "DtmfMode",
    "Integrations",
    "Options",
    "RtpMode",
    "SipId",
    "SipTransport",
    "Webhook",
    "WebhookEvent",
]

SipId = Annotated[
    str,
    Matches(
        r"[A-Za-z][A-Za-z0-9._-]{1,63}",
        "2 to 64 letters, digits, '.', '_' or '-', starting with a letter",
    ),
]
"""An alternative SIP user name; it starts with a letter so it never hides a number."""

HttpUrl = Annotated[str, Matches(r"https?://[^\s]{1,2000}", "an http:// or https:// URL")]


class Options(DomainModel):
    """Restrictions and general options of an extension."""

    disabled: bool = False
    external_calls_disabled: bool = False
    pin_protected: bool = False
    lan_only: bool = False
    block_tunnel: bool = False
    block_outbound_outside_office_hours: bool = False
    record_all_calls: bool = False
    call_screening: bool = False
    missed_call_email: bool = False
    hide_from_phonebook: bool = False
    allow_web_meetings: bool = True
    sip_id: SipId | None = None


class SipTransport(enum.StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class RtpMode(enum.StrEnum):
    PLAIN = "plain"
    SRTP = "srtp"


class DtmfMode(enum.StrEnum):
    RFC4733 = "rfc4733"
    INBAND = "inband"
    SIP_INFO = "sip_info"


class DefaultView(enum.StrEnum):
    DIALPAD = "dialpad"
    PRESENCE = "presence"


class CallControl(enum.StrEnum):
    SOFTPHONE = "softphone"
    DESK_PHONE = "desk_phone"


class Codec(enum.StrEnum):
    """Audio codecs by their SDP encoding names."""

    PCMU = "PCMU"
    PCMA = "PCMA"
    G722 = "G722"
    OPUS = "opus"
    G729 = "G729"


def _default_codecs() -> list[Codec]:
    return [Codec.OPUS, Codec.G722, Codec.PCMU, Codec.PCMA]


class ClientOptions(DomainModel):
    """Settings pushed to the extension's softphone client."""

    network_interface: Annotated[str, StringConstraints(max_length=64)] = "auto"
    sip_transport: SipTransport = SipTransport.UDP
    rtp_mode: RtpMode = RtpMode.PLAIN
    dtmf_mode: DtmfMode = DtmfMode.RFC4733
    push_notifications: bool = True
    reprovision_on_start: bool = True
    use_tunnel: bool = False
    default_view: DefaultView = DefaultView.DIALPAD
    call_control: CallControl = CallControl.SOFTPHONE
    block_client: bool = False
    hide_forwarding_rules: bool = False
    show_own_recordings: bool = False
    allow_delete_recordings: bool = False
    codecs: list[Codec] = Field(default_factory=_default_codecs, min_length=1)

    @model_validator(mode="after")
    def _unique_codecs(self) -> Self:
        if len(set(self.codecs)) != len(self.codecs):
            raise FieldValueError("codecs", "each codec may appear once")
        return self


class WebhookEvent(enum.StrEnum):
    CALL_RINGING = "call_ringing"
    CALL_ANSWERED = "call_answered"
    CALL_ENDED = "call_ended"
    CALL_MISSED = "call_missed"
    VOICEMAIL_LEFT = "voicemail_left"


class Webhook(DomainModel):
    """POST a JSON description of a call event to a URL."""

    event: WebhookEvent
    url: HttpUrl


class Integrations(DomainModel):
    """CRM / helpdesk look-up and journaling, webhooks and a script hook.

    ``crm_lookup_url`` and ``crm_journal_url`` are templates: ``{caller}``,
    ``{number}`` and ``{duration}`` are replaced on each call.
    """

    crm_enabled: bool = False
    crm_lookup_url: HttpUrl | None = None
    crm_journal_url: HttpUrl | None = None
    webhooks: list[Webhook] = Field(default_factory=list, max_length=20)
    script: (
        Annotated[
            str,
            Matches(
                r"[A-Za-z0-9_./-]{1,200}", "a script path of letters, digits, '_', '.', '/' or '-'"
            ),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _crm_needs_url(self) -> Self:
        if self.crm_enabled and self.crm_lookup_url is None:
            raise FieldValueError("crm_lookup_url", "is required when crm_enabled is true")
        return self
