"""Centralino routing: the pure engine that decides every call (SPEC §2.3).

Theory of operation. :func:`plan_call` takes the call (caller, origin, DID,
ring group, moment), the called extension with its live state and its
office-hours schedule, and a lookup for other extensions; it returns a
:class:`RoutingPlan`: the first step for the call engine, the continuations
of a ring step (no answer, busy, not reachable), nested plans for forwards to
other extensions, and a trace of every rule looked at, in words. Nothing here
reads the clock, a socket or the database: time and state are inputs, so the
same engine drives real calls and the "simulate this call" explainer.

:func:`automatic_status` and :func:`next_change` serve the office-hours status
switch: what status an extension should have now, and when to look again.
"""

from centralino.routing.call import Call, Callee, CallOrigin, ExtensionLookup, LiveState, lookup_in
from centralino.routing.engine import MAX_FORWARDS, MAX_PLANS, plan_call
from centralino.routing.export import plan_document, step_document, trace_document
from centralino.routing.office_switch import (
    HORIZON,
    STATUS_BY_OFFICE_STATE,
    automatic_status,
    next_change,
)
from centralino.routing.plan import (
    DialExternal,
    DialReason,
    EndCall,
    EndReason,
    Forward,
    RingExtension,
    RoutingPlan,
    Rule,
    SendToVoicemail,
    SipStatus,
    SkipExtension,
    SkipReason,
    Step,
    TraceEntry,
    describe_step,
)
from centralino.routing.rules import STATUS_NAMES, caller_matches, judge_window

__all__ = [
    "HORIZON",
    "MAX_FORWARDS",
    "MAX_PLANS",
    "STATUS_BY_OFFICE_STATE",
    "STATUS_NAMES",
    "Call",
    "CallOrigin",
    "Callee",
    "DialExternal",
    "DialReason",
    "EndCall",
    "EndReason",
    "ExtensionLookup",
    "Forward",
    "LiveState",
    "RingExtension",
    "RoutingPlan",
    "Rule",
    "SendToVoicemail",
    "SipStatus",
    "SkipExtension",
    "SkipReason",
    "Step",
    "TraceEntry",
    "automatic_status",
    "caller_matches",
    "describe_step",
    "judge_window",
    "lookup_in",
    "next_change",
    "plan_call",
    "plan_document",
    "step_document",
    "trace_document",
]
