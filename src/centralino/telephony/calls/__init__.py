"""Calls between extensions: a B2BUA (RFC 3261 §6 "back-to-back user agent").

Theory of operation. :class:`B2bua` receives requests from the SIP server,
authenticates new calls and lets the routing engine decide them: a
:class:`PlanRunner` walks each call's plan and rings through a :class:`Call`,
which owns its legs (:mod:`.legs`) and its phase, relays the session between
them through an :class:`SdpPolicy` (today: unchanged), publishes
``CallStateChanged`` domain events and keeps itself in the
:class:`CallRegistry` (the ``LiveCalls`` port) until it ends.
"""

from centralino.telephony.calls.admission import Answer, Refusal, answer_for
from centralino.telephony.calls.b2bua import RELAYED_METHODS, B2bua, loop_scheduler
from centralino.telephony.calls.call import Call, CallPhase, CallServices
from centralino.telephony.calls.media import Direction, RelaySdp, SdpPolicy
from centralino.telephony.calls.plan_runner import LiveRouting, PlanRunner
from centralino.telephony.calls.registry import CallRegistry, Side

__all__ = [
    "RELAYED_METHODS",
    "Answer",
    "B2bua",
    "Call",
    "CallPhase",
    "CallRegistry",
    "CallServices",
    "Direction",
    "LiveRouting",
    "PlanRunner",
    "Refusal",
    "RelaySdp",
    "SdpPolicy",
    "Side",
    "answer_for",
    "loop_scheduler",
]
