"""Codecs per leg: how the anchor rewrites offers and answers.

Theory of operation. The PBX sits in the middle of every offer/answer
exchange, so each leg negotiates its own codecs:

* an **offer** crossing the PBX keeps the offerer's codecs, in its order,
  and gains the codecs the PBX can transcode to (G.711 mu-law and A-law,
  from the codec registry) that it lacked: a PCMA-only phone can then
  answer a PCMU-only caller;
* the **answer** going back is cut to what the offerer offered: if the
  answerer chose a codec the offerer listed, the answer passes with only
  those codecs (no transcoding); otherwise it names the offerer's first
  codec the PBX can transcode, and the relay converts between the two.
  ``telephone-event`` stays only if both sides have it.

Only the first audio RTP stream is anchored; other streams (video) are
disabled (port 0) on the way through, as an audio PBX cannot relay them.
:class:`LegCodecs` is the outcome for one leg: payload type to codec name
(for packets from that phone) and codec name to payload type (for packets
to it), and the codec to transcode into.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from centralino.media.codecs import CodecRegistry
from centralino.sip.sdp import (
    Attribute,
    Codec,
    MediaDescription,
    SessionDescription,
    rewrite_connection,
)

__all__ = [
    "LegCodecs",
    "MediaAddress",
    "anchored_stream",
    "answer_for_offerer",
    "augment_offer",
    "media_address",
    "point_at",
]

AUXILIARY = frozenset({"TELEPHONE-EVENT", "CN"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LegCodecs:
    """The codecs one leg negotiated, by payload type and by name (upper case)."""

    by_payload_type: dict[int, str] = field(default_factory=dict)
    payload_types: dict[str, int] = field(default_factory=dict)
    primary: str | None = None
    """The first real (non-auxiliary) codec: what the PBX sends when it transcodes."""

    @classmethod
    def of(cls, codecs: Sequence[Codec]) -> LegCodecs:
        """Index ``codecs`` (the negotiated ones, in preference order)."""
        by_payload_type = {codec.payload_type: codec.encoding_name.upper() for codec in codecs}
        payload_types: dict[str, int] = {}
        for codec in codecs:
            payload_types.setdefault(codec.encoding_name.upper(), codec.payload_type)
        primary = next((name for name in payload_types if name not in AUXILIARY), None)
        return cls(by_payload_type=by_payload_type, payload_types=payload_types, primary=primary)


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaAddress:
    """Where a phone receives RTP and RTCP, as its SDP says (None: nowhere)."""

    rtp: tuple[str, int] | None
    rtcp: tuple[str, int] | None
    rtcp_mux: bool = False


def anchored_stream(description: SessionDescription) -> int | None:
    """The index of the first active audio RTP stream, or None."""
    for index, media in enumerate(description.media):
        if media.media == "audio" and "RTP/" in media.proto.upper() and media.port != 0:
            return index
    return None


def media_address(description: SessionDescription, index: int) -> MediaAddress:
    """Where the author of ``description`` wants stream ``index`` sent."""
    media = description.media[index]
    connection = description.media_connection(media)
    if connection is None or connection.is_null or media.port == 0:
        return MediaAddress(rtp=None, rtcp=None, rtcp_mux=media.rtcp_mux)
    host = connection.address.split("/")[0]
    rtcp = (host, media.port + 1)
    for attribute in media.attributes:
        if attribute.name == "rtcp" and attribute.value:
            rtcp = _rtcp_attribute(attribute.value, host, rtcp)
    return MediaAddress(rtp=(host, media.port), rtcp=rtcp, rtcp_mux=media.rtcp_mux)


def _rtcp_attribute(value: str, host: str, default: tuple[str, int]) -> tuple[str, int]:
    # RFC 3605: a=rtcp:<port> [IN IP4 <address>]
    words = value.split()
    if not words or not words[0].isdigit():
        return default
    return (words[3] if len(words) >= 4 else host, int(words[0]))


def augment_offer(
    offer: SessionDescription, index: int, registry: CodecRegistry
) -> SessionDescription:
    """Add the codecs the PBX transcodes to, when the offer has one of them.

    Args:
        offer: the offer as received.
        index: the anchored stream.
        registry: the codecs the PBX can decode and encode.

    Returns:
        The offer with the missing transcodable codecs appended to that stream.
    """
    media = offer.media[index]
    codecs = list(media.codecs)
    names = {codec.encoding_name.upper() for codec in codecs}
    if not any(registry.by_name(name) for name in names):
        return offer
    used = {int(item) for item in media.formats if item.isdigit()}
    extra = [
        Codec(payload_type=codec.payload_type, encoding_name=codec.name, clock_rate=8000)
        for codec in registry
        if codec.payload_type is not None
        and codec.name.upper() not in names
        and codec.payload_type not in used
    ]
    if not extra:
        return offer
    return _replace_stream(offer, index, _with_codecs(media, [*codecs, *extra]))


def answer_for_offerer(
    offer: SessionDescription,
    answer: SessionDescription,
    index: int,
    registry: CodecRegistry,
) -> SessionDescription:
    """Cut the answer to the codecs the offerer offered (see the module doc).

    Args:
        offer: the offer as the offerer sent it (before :func:`augment_offer`).
        answer: the answer as the answerer sent it.
        index: the anchored stream.
        registry: the codecs the PBX can decode and encode.

    Returns:
        The answer to give the offerer.
    """
    if index >= len(answer.media) or answer.media[index].port == 0:
        return answer
    offered = offer.media[index].codecs
    answered = answer.media[index].codecs
    common = [codec for codec in answered if _find(offered, codec) is not None]
    if any(codec.encoding_name.upper() not in AUXILIARY for codec in common):
        if len(common) == len(answered):
            return answer
        chosen = [_find(offered, codec) or codec for codec in common]
    else:
        primary = next(
            (
                c
                for c in offered
                if c.encoding_name.upper() not in AUXILIARY and registry.by_name(c.encoding_name)
            ),
            None,
        )
        if primary is None:
            return answer  # nothing to transcode to: let the offerer decide
        chosen = [primary, *(_find(offered, codec) or codec for codec in common)]
    return _replace_stream(answer, index, _with_codecs(answer.media[index], chosen))


def _find(codecs: Sequence[Codec], wanted: Codec) -> Codec | None:
    for codec in codecs:
        if (
            codec.encoding_name.upper() == wanted.encoding_name.upper()
            and codec.clock_rate == wanted.clock_rate
        ):
            return codec
    return None


def point_at(
    description: SessionDescription, index: int, *, address: str, port: int
) -> SessionDescription:
    """Point the anchored stream at the PBX; disable every other stream.

    Args:
        description: the SDP to relay.
        index: the anchored stream.
        address: the PBX's advertised media address.
        port: the PBX's RTP port for the leg that receives this SDP.

    Returns:
        The rewritten SDP (``c=`` and ``m=`` ports; a legacy ``c=0.0.0.0``
        hold becomes an explicit direction attribute).
    """
    ports = [port if position == index else 0 for position in range(len(description.media))]
    rewritten = rewrite_connection(description, address=address, ports=ports)
    if len(rewritten.media) == 1:
        return rewritten  # the usual offer: the anchored stream alone, nothing to disable
    streams = tuple(
        media if media.port != 0 or position == index else _disabled(media)
        for position, media in enumerate(rewritten.media)
    )
    return dataclasses.replace(rewritten, media=streams)


def _disabled(media: MediaDescription) -> MediaDescription:
    return dataclasses.replace(media, attributes=(), bandwidths=(), connection=None)


def _with_codecs(media: MediaDescription, codecs: Sequence[Codec]) -> MediaDescription:
    kept = tuple(a for a in media.attributes if a.name not in ("rtpmap", "fmtp"))
    maps = [Attribute(name="rtpmap", value=f"{codec.payload_type} {codec}") for codec in codecs]
    parameters = [
        Attribute(name="fmtp", value=f"{codec.payload_type} {codec.parameters}")
        for codec in codecs
        if codec.parameters is not None
    ]
    formats = tuple(str(codec.payload_type) for codec in codecs)
    return dataclasses.replace(media, formats=formats, attributes=(*maps, *parameters, *kept))


def _replace_stream(
    description: SessionDescription, index: int, media: MediaDescription
) -> SessionDescription:
    streams = list(description.media)
    streams[index] = media
    return dataclasses.replace(description, media=tuple(streams))
