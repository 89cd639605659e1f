"""A routing plan as a JSON document (for the explainer API and the CLI).

Every step becomes an object with a ``type`` (``ring_extension``,
``send_to_voicemail``, ``dial_external``, ``forward``, ``end_call``,
``skip_extension``), its fields, and ``text``: the same sentence the
rendered plan shows. Ring steps nest their three continuations, forwards
the whole plan of the extension they forward to.
"""

from __future__ import annotations

from typing import Any

from centralino.routing.plan import (
    DialExternal,
    EndCall,
    Forward,
    RingExtension,
    RoutingPlan,
    SendToVoicemail,
    SkipExtension,
    Step,
    TraceEntry,
    describe_step,
)

__all__ = ["plan_document", "step_document", "trace_document"]


def trace_document(entry: TraceEntry) -> dict[str, Any]:
    """One trace entry as JSON."""
    return {
        "extension": entry.extension,
        "rule": entry.rule.value,
        "matched": entry.matched,
        "text": entry.text,
    }


def plan_document(plan: RoutingPlan) -> dict[str, Any]:
    """A plan (its steps and trace, nested plans included) as JSON."""
    return {
        "extension": plan.extension,
        "first": step_document(plan.first),
        "trace": [trace_document(entry) for entry in plan.trace],
    }


def step_document(step: Step) -> dict[str, Any]:
    """One step (and what nests in it) as JSON."""
    document: dict[str, Any] = {"type": _TYPES[type(step)], "text": describe_step(step)}
    match step:
        case RingExtension():
            document |= {
                "number": step.number,
                "seconds": step.seconds,
                "also_ring_mobile": step.also_ring_mobile,
                "on_no_answer": step_document(step.on_no_answer),
                "on_busy": step_document(step.on_busy),
                "on_not_registered": step_document(step.on_not_registered),
            }
        case Forward():
            document |= {"number": step.number, "plan": plan_document(step.plan)}
        case SendToVoicemail():
            document["box_number"] = step.box_number
        case DialExternal():
            document |= {"number": step.number, "reason": step.reason.value}
        case EndCall():
            document |= {"sip_status": int(step.sip_status), "reason": step.reason.value}
        case SkipExtension():
            document |= {"number": step.number, "reason": step.reason.value}
    return document


_TYPES: dict[type, str] = {
    RingExtension: "ring_extension",
    SendToVoicemail: "send_to_voicemail",
    DialExternal: "dial_external",
    Forward: "forward",
    EndCall: "end_call",
    SkipExtension: "skip_extension",
}
