"""The call core: the B2BUA as a sans-IO state machine (DESIGN.md §1, §4).

Theory of operation. :class:`CallCore` takes events (requests, responses,
what applications ask) and the time, and returns commands (respond, send,
ACK, publish, start an application). A :class:`~.call.Call` owns its legs
(:mod:`.legs`) and an enforced phase table; a :class:`~.ring.RingRound`
forks to an extension's phones (first answer wins); a
:class:`~.walker.Walker` walks the routing plan for a ringing or an
answered call. The glue around it is ``centralino.telephony.calls``.
"""

from centralino.calls.call import Call, CallPhase
from centralino.calls.context import CoreSettings
from centralino.calls.core import CallCore
from centralino.calls.ports import (
    Addressing,
    Direction,
    LocalAnswer,
    Lookup,
    MediaPolicy,
    RelayMedia,
    Sdp,
    SdpRole,
    Side,
)

__all__ = [
    "Addressing",
    "Call",
    "CallCore",
    "CallPhase",
    "CoreSettings",
    "Direction",
    "LocalAnswer",
    "Lookup",
    "MediaPolicy",
    "RelayMedia",
    "Sdp",
    "SdpRole",
    "Side",
]
