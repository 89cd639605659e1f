"""What the engine answers: a routing plan, its steps and its trace.

A plan is a small tree. Its ``first`` step is what the call engine does now;
a :class:`RingExtension` step carries the step to take on each outcome of the
ringing (no answer in time, busy, no phone reachable), and a :class:`Forward`
step carries the whole plan of the extension it forwards to, so that
extension's own rules apply. Every other step ends the routing.

The ``trace`` lists, in order, each rule the engine looked at for the plan's
extension, whether it matched, and why, in words an administrator can check.
``render()`` turns the tree and the traces into plain text for the explainer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "DialExternal",
    "DialReason",
    "EndCall",
    "EndReason",
    "Forward",
    "RingExtension",
    "RoutingPlan",
    "Rule",
    "SendToVoicemail",
    "SipStatus",
    "SkipExtension",
    "SkipReason",
    "Step",
    "TraceEntry",
    "describe_step",
]


class SipStatus(enum.IntEnum):
    """SIP final responses the engine may end a call with (RFC 3261 §21)."""

    FORBIDDEN = 403
    NOT_FOUND = 404
    TEMPORARILY_UNAVAILABLE = 480
    LOOP_DETECTED = 482
    DECLINE = 603


class EndReason(enum.StrEnum):
    """Why a plan ends the call."""

    EXTENSION_DISABLED = "extension_disabled"
    UNKNOWN_EXTENSION = "unknown_extension"
    NO_MOBILE = "no_mobile"
    VOICEMAIL_OFF = "voicemail_off"
    END_CALL_RULE = "end_call_rule"
    FORWARDING_LOOP = "forwarding_loop"


class DialReason(enum.StrEnum):
    """Why a plan dials out over a trunk."""

    MOBILE = "mobile"
    NUMBER = "number"


class SkipReason(enum.StrEnum):
    """Why a ring-group member is passed over (the ring group decides next)."""

    EXTENSION_DISABLED = "extension_disabled"
    REFUSES_RING_GROUP_CALLS = "refuses_ring_group_calls"
    NOT_REGISTERED = "not_registered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"


class Rule(enum.StrEnum):
    """The kind of rule a trace entry reports on."""

    ENABLED = "enabled"
    RING_GROUP = "ring_group"
    EXCEPTION = "exception"
    STATUS = "status"
    REGISTRATION = "registration"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    DESTINATION = "destination"
    LOOP = "loop"


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceEntry:
    """One rule looked at: which, whether it matched, and why (``text``)."""

    extension: str
    rule: Rule
    matched: bool
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SendToVoicemail:
    """Answer the call with a voicemail box."""

    box_number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DialExternal:
    """Dial a number over a trunk: the callee's mobile or a set number."""

    number: str
    reason: DialReason


@dataclass(frozen=True, slots=True, kw_only=True)
class EndCall:
    """Refuse the call with a SIP final response."""

    sip_status: SipStatus
    reason: EndReason


@dataclass(frozen=True, slots=True, kw_only=True)
class SkipExtension:
    """A ring-group member that takes no part in this call (or no longer)."""

    number: str
    reason: SkipReason


@dataclass(frozen=True, slots=True, kw_only=True)
class Forward:
    """Hand the call to another extension, whose own plan follows."""

    number: str
    plan: RoutingPlan


@dataclass(frozen=True, slots=True, kw_only=True)
class RingExtension:
    """Ring the extension's phones (and its mobile) and wait for an outcome.

    ``on_busy`` and ``on_not_registered`` apply when the phones answer busy or
    none can be reached while ringing; the up-front checks have already sent
    the call elsewhere when the engine knew it before ringing.
    """

    number: str
    seconds: int
    also_ring_mobile: str | None
    on_no_answer: Step
    on_busy: Step
    on_not_registered: Step


Step = RingExtension | SendToVoicemail | DialExternal | Forward | EndCall | SkipExtension
"""One thing the call engine does with the call."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingPlan:
    """The routing of a call at one extension, with the trace explaining it."""

    extension: str
    first: Step
    trace: tuple[TraceEntry, ...]

    def steps(self) -> tuple[Step, ...]:
        """Every step of the tree, nested plans included, depth first.

        Returns:
            The steps, the first step first.
        """
        return _steps(self.first)

    def render(self) -> str:
        """Explain the plan in plain text (trace, then steps, nested plans indented).

        Returns:
            Several lines of text, without a final newline.
        """
        return "\n".join(_render_plan(self, indent=""))


def _steps(step: Step) -> tuple[Step, ...]:
    match step:
        case RingExtension():
            nested = (step.on_no_answer, step.on_busy, step.on_not_registered)
            return (step, *(inner for branch in nested for inner in _steps(branch)))
        case Forward():
            return (step, *step.plan.steps())
        case _:
            return (step,)


def _render_plan(plan: RoutingPlan, indent: str) -> list[str]:
    lines = [f"{indent}Extension {plan.extension}:"]
    lines += [f"{indent}  {'✔' if e.matched else '✘'} {e.text}" for e in plan.trace]
    lines.append(f"{indent}  Plan:")
    return lines + _render_step(plan.first, indent + "    ")


def _render_step(step: Step, indent: str) -> list[str]:
    match step:
        case RingExtension():
            return _render_ring(step, indent)
        case Forward():
            head = f"{indent}→ forward to extension {step.number}"
            return [head, *_render_plan(step.plan, indent + "  ")]
        case _:
            return [f"{indent}→ {describe_step(step)}"]


def _render_ring(step: RingExtension, indent: str) -> list[str]:
    lines = [f"{indent}→ {describe_step(step)}"]
    branches = (
        ("if no answer", step.on_no_answer),
        ("if busy", step.on_busy),
        ("if not reachable", step.on_not_registered),
    )
    for label, branch in branches:
        inner = _render_step(branch, indent + "    ")
        lines.append(f"{indent}  {label}:")
        lines += inner
    return lines


_END_TEXTS = {
    EndReason.EXTENSION_DISABLED: "the extension is disabled",
    EndReason.UNKNOWN_EXTENSION: "no such extension",
    EndReason.NO_MOBILE: "no mobile number is set",
    EndReason.VOICEMAIL_OFF: "the voicemail box is off",
    EndReason.END_CALL_RULE: "a rule ends the call",
    EndReason.FORWARDING_LOOP: "the forwarding would loop",
}


def describe_step(step: Step) -> str:
    """One line saying what a step does (nested plans left out).

    Args:
        step: any step.

    Returns:
        A short sentence, e.g. ``"ring extension 101 for 20 s"``.
    """
    match step:
        case RingExtension():
            mobile = f" and mobile {step.also_ring_mobile}" if step.also_ring_mobile else ""
            return f"ring extension {step.number}{mobile} for {step.seconds} s"
        case SendToVoicemail():
            return f"voicemail of extension {step.box_number}"
        case DialExternal():
            return f"dial {step.reason.value} {step.number} over a trunk"
        case Forward():
            return f"forward to extension {step.number}"
        case EndCall():
            return f"end the call: {int(step.sip_status)} ({_END_TEXTS[step.reason]})"
        case SkipExtension():
            return f"skip extension {step.number} ({step.reason.value.replace('_', ' ')})"
