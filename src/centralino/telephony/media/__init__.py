"""Media anchoring: the PBX relays every call's RTP between its two legs.

Map of the package:

* :mod:`.anchor`: :class:`AnchorSdp`, the call core's media policy that opens a
  media session per call and rewrites each SDP to point at the PBX;
* :mod:`.session`: :class:`MediaSession`, two legs (sockets, latching,
  codecs) and the packet relay, transcoding G.711 mu-law <-> A-law;
* :mod:`.negotiation`: per-leg codecs, offer and answer rewriting;
* :mod:`.statistics`: per-leg packets, bytes, loss, jitter;
* :mod:`.taps`: :class:`MediaTap`, the seam for recording, DTMF detection
  and screening, which receive each direction's audio as PCM.

The sockets and the port range live in :mod:`centralino.net.rtp`.
"""

from centralino.telephony.media.anchor import AnchorSdp
from centralino.telephony.media.negotiation import LegCodecs, MediaAddress
from centralino.telephony.media.session import MediaLeg, MediaSession
from centralino.telephony.media.statistics import CallMediaStats, LegStats
from centralino.telephony.media.taps import MediaTap, TapDirection

__all__ = [
    "AnchorSdp",
    "CallMediaStats",
    "LegCodecs",
    "LegStats",
    "MediaAddress",
    "MediaLeg",
    "MediaSession",
    "MediaTap",
    "TapDirection",
]
