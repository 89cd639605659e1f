"""The asyncio glue of the call core (:mod:`centralino.calls`).

Theory of operation. :class:`B2bua` authenticates new calls, answers the
dial codes, feeds the pure :class:`~centralino.calls.CallCore` and carries
out its commands on the SIP server, the event bus and the PBX's
applications (:class:`~.channel.CallChannel`).
"""

from centralino.telephony.calls.b2bua import RELAYED_METHODS, B2bua, EngineLookup
from centralino.telephony.calls.channel import CallChannel
from centralino.telephony.calls.ports import loop_scheduler

__all__ = ["RELAYED_METHODS", "B2bua", "CallChannel", "EngineLookup", "loop_scheduler"]
