"""Outbound routing: which trunks carry a dialled number, in what form, as whom.

Theory of operation. :func:`plan_outbound` turns a number an extension
dialled (or a forwarding rule holds) into an :class:`OutboundPlan`: the
ordered :class:`TrunkAttempt` list the call core tries in turn, each naming
the trunk, the number in that trunk's format and the caller ID to present,
with a trace saying why each rule and trunk was taken or passed over. It
reads no clock and no state: trunk health comes in as ``is_up`` and
``has_capacity``. The outbound *restrictions* (external calls disabled, PIN,
office hours) are decided before, by :mod:`centralino.routing.restrictions`.

1. *Number*: only digits with an optional leading ``+`` are dialled out
   (otherwise 404 ``Not a phone number``).
2. *Emergency*: a number listed exactly in ``numbering.emergency_numbers``
   is always planned (below).
3. *Rules*, enabled ones only, by ``priority`` then name; the first whose
   ``prefix`` starts the dialled number (as written: ``+39`` does not match
   ``0039``), whose digit count (the ``+`` is no digit) lies within
   ``min_length`` / ``max_length``, and whose ``callers`` / ``groups`` hold
   the caller (both empty: everybody) decides. No rule: 404
   ``No route for <number>``. The first matching rule decides even when
   all its trunks are down: a rule's trunk list is its failover.
4. *Rewriting*: ``strip`` digits go from the front (a leading ``+`` goes
   with them), ``prepend`` is put in front, then the number is written in
   each trunk's format (:func:`centralino.domain.numbers.for_trunk`).
5. *Trunks*, in the rule's order: a trunk that does not exist, is disabled,
   is down (``is_up``) or is full (``has_capacity``) is skipped. None left:
   503 ``No trunk available``.
6. *Caller ID*: the extension's ``outbound_caller_id``, else the rule's,
   else the trunk's (none at all: ``None``, the call core then presents
   the trunk account), written in the trunk's format. A forwarded call
   also carries the original caller (``presented``) for trunks that allow
   it to be shown.

Emergency numbers: the matching rule's trunks (if a rule matches) come
first, then every other enabled trunk in name order with the number as
dialled; trunks that are up are tried before trunks believed down, which
are still tried last (a health estimate must never stand between a caller
and 112), and ``max_calls`` does not apply. The caller ID is the
extension's own: its ``outbound_caller_id``, else its first DID, else the
trunk's (the rule's caller ID is not used). Only when no trunk is enabled
at all is an emergency call refused (503).

:func:`failover` says whether a trunk's answer lets the next trunk be tried.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from centralino.domain.extension import Extension
from centralino.domain.numbers import for_trunk
from centralino.domain.settings import NumberingSettings
from centralino.domain.trunks import OutboundRule, Trunk

__all__ = [
    "TRUNK_FAULTS",
    "CallerIdSource",
    "OutboundCheck",
    "OutboundPlan",
    "OutboundRefused",
    "OutboundStatus",
    "OutboundTrace",
    "TrunkAttempt",
    "failover",
    "groups_of",
    "is_emergency",
    "plan_outbound",
    "rewrite",
    "rule_order",
]

_DIALLED = re.compile(r"\+?[0-9]{1,32}")


class OutboundStatus(enum.IntEnum):
    """SIP final responses outbound routing refuses a number with (RFC 3261 §21)."""

    NOT_FOUND = 404
    SERVICE_UNAVAILABLE = 503


class OutboundCheck(enum.StrEnum):
    """What a trace line reports on."""

    NUMBER = "number"
    EMERGENCY = "emergency"
    RULE = "rule"
    TRUNK = "trunk"


class CallerIdSource(enum.StrEnum):
    """Where an attempt's caller ID comes from."""

    EXTENSION = "extension"
    """The extension's ``outbound_caller_id``."""
    DID = "did"
    """The extension's first DID (emergency calls only)."""
    RULE = "rule"
    TRUNK = "trunk"
    NONE = "none"
    """Nothing is configured: the trunk account's own identity is presented."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundTrace:
    """One thing looked at: which (``subject``), whether it was taken, and why."""

    check: OutboundCheck
    subject: str
    matched: bool
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkAttempt:
    """One try: a trunk, the number in its format, the caller ID to present."""

    trunk: str
    number: str
    caller_id: str | None
    caller_id_source: CallerIdSource
    presented: str | None = None
    """The original caller of a forwarded call, in the trunk's format, for a
    trunk that lets it be shown (else ``caller_id`` is presented)."""


def _render(trace: Sequence[OutboundTrace]) -> list[str]:
    return [f"  {'✔' if entry.matched else '✘'} {entry.text}" for entry in trace]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundPlan:
    """How a dialled number leaves the PBX: the trunks to try, in order."""

    dialled: str
    rule: str | None
    """The outbound rule that matched (None: an emergency number no rule matched)."""
    emergency: bool
    attempts: tuple[TrunkAttempt, ...]
    trace: tuple[OutboundTrace, ...]

    def render(self) -> str:
        """Explain the plan in plain text: the trace, then the attempts."""
        lines = [f"Outbound {self.dialled}:", *_render(self.trace), "  Attempts:"]
        for attempt in self.attempts:
            shown = attempt.caller_id or "the trunk account"
            lines.append(f"    → trunk {attempt.trunk}: {attempt.number} as {shown}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundRefused:
    """A dialled number that does not leave the PBX: the SIP answer and why."""

    status: OutboundStatus
    reason: str
    """The SIP reason phrase (digits and words only: safe in a status line)."""
    trace: tuple[OutboundTrace, ...]

    def render(self) -> str:
        """Explain the refusal in plain text."""
        head = f"Outbound: refused {int(self.status)} {self.reason}"
        return "\n".join([head, *_render(self.trace)])


def is_emergency(dialled: str, settings: NumberingSettings) -> bool:
    """Tell whether a dialled number is an emergency number (an exact match).

    Args:
        dialled: the number as dialled.
        settings: the numbering settings (``emergency_numbers``).

    Returns:
        True when the number is listed.
    """
    return dialled in settings.emergency_numbers


def groups_of(extension: Extension) -> frozenset[str]:
    """The groups an extension belongs to (its rights name them)."""
    return frozenset(right.group for right in extension.rights)


def rule_order(rules: Iterable[OutboundRule]) -> list[OutboundRule]:
    """Rules in the order they are tried: lowest ``priority`` first, then by name."""
    return sorted(rules, key=lambda rule: (rule.priority, rule.name))


def rewrite(dialled: str, rule: OutboundRule) -> str:
    """Apply a rule's ``strip`` and ``prepend`` to a dialled number.

    >>> from centralino.domain.trunks import OutboundRule
    >>> rule = OutboundRule(name="uk", prefix="90", strip=2, prepend="+44", trunks=["t"])
    >>> rewrite("902071234567", rule)
    '+442071234567'

    A leading ``+`` is removed with the stripped digits (it is not a digit).
    """
    body = dialled[1:] if rule.strip and dialled.startswith("+") else dialled
    return rule.prepend + body[rule.strip :]


def _digit_count(number: str) -> int:
    return len(number) - number.startswith("+")


def _rule_verdict(
    rule: OutboundRule, dialled: str, caller: str, groups: Collection[str]
) -> str | None:
    """Why the rule does not match (None: it matches)."""
    digits = _digit_count(dialled)
    if not rule.enabled:
        return "is disabled"
    if not dialled.startswith(rule.prefix):
        return f"wants the prefix '{rule.prefix}'"
    if rule.min_length is not None and digits < rule.min_length:
        return f"wants at least {rule.min_length} digits, {dialled} has {digits}"
    if rule.max_length is not None and digits > rule.max_length:
        return f"wants at most {rule.max_length} digits, {dialled} has {digits}"
    if (rule.callers or rule.groups) and not (
        caller in rule.callers or any(group in groups for group in rule.groups)
    ):
        return f"is not for extension {caller} (neither among its callers nor its groups)"
    if digits <= rule.strip:
        return f"would strip all of {dialled}"
    return None


class _Unusable(enum.StrEnum):
    """Why a trunk is passed over (the value is the trace's words)."""

    MISSING = "does not exist"
    DISABLED = "is disabled"
    DOWN = "is down"
    FULL = "is full (max_calls)"


@dataclass(slots=True, kw_only=True)
class _Planning:
    """The inputs of one ``plan_outbound`` and the trace so far."""

    dialled: str
    caller: Extension
    trunks: dict[str, Trunk]
    is_up: Callable[[str], bool]
    has_capacity: Callable[[str], bool]
    emergency: bool
    presented: str | None
    trace: list[OutboundTrace] = field(default_factory=list)

    def note(self, check: OutboundCheck, subject: str, matched: bool, text: str) -> None:
        self.trace.append(OutboundTrace(check=check, subject=subject, matched=matched, text=text))

    def first_rule(
        self, rules: Iterable[OutboundRule], groups: Collection[str]
    ) -> OutboundRule | None:
        for rule in rule_order(rules):
            why_not = _rule_verdict(rule, self.dialled, self.caller.number, groups)
            if why_not is None:
                self.note(OutboundCheck.RULE, rule.name, True, f"rule '{rule.name}' matches")
                return rule
            self.note(OutboundCheck.RULE, rule.name, False, f"rule '{rule.name}' {why_not}")
        return None

    def caller_id(
        self, rule: OutboundRule | None, trunk: Trunk
    ) -> tuple[str | None, CallerIdSource]:
        extension = self.caller
        choices: list[tuple[str | None, CallerIdSource]] = [
            (extension.outbound_caller_id, CallerIdSource.EXTENSION)
        ]
        if self.emergency:
            choices.append((extension.dids[0] if extension.dids else None, CallerIdSource.DID))
        elif rule is not None:
            choices.append((rule.caller_id, CallerIdSource.RULE))
        choices.append((trunk.caller_id, CallerIdSource.TRUNK))
        for value, source in choices:
            if value:
                return for_trunk(value, trunk), source
        return None, CallerIdSource.NONE

    def attempt(self, trunk: Trunk, number: str, rule: OutboundRule | None) -> TrunkAttempt:
        caller_id, source = self.caller_id(rule, trunk)
        presented = self.presented
        shown = for_trunk(presented, trunk) if presented and _DIALLED.fullmatch(presented) else None
        attempt = TrunkAttempt(
            trunk=trunk.name,
            number=for_trunk(number, trunk),
            caller_id=caller_id,
            caller_id_source=source,
            presented=shown,
        )
        said = f"{attempt.caller_id} ({source.value})" if caller_id else "the trunk account"
        text = f"trunk {trunk.name} is tried: {attempt.number} as {said}"
        self.note(OutboundCheck.TRUNK, trunk.name, True, text)
        return attempt

    def unusable(self, name: str) -> _Unusable | None:
        """Why the trunk cannot carry the call now (None: it can)."""
        trunk = self.trunks.get(name)
        if trunk is None:
            return _Unusable.MISSING
        if not trunk.enabled:
            return _Unusable.DISABLED
        if not self.is_up(name):
            return _Unusable.DOWN
        if not self.emergency and not self.has_capacity(name):
            return _Unusable.FULL
        return None


def plan_outbound(
    dialled: str,
    caller: Extension,
    caller_groups: Collection[str],
    rules: Iterable[OutboundRule],
    trunks: Iterable[Trunk],
    *,
    settings: NumberingSettings,
    is_up: Callable[[str], bool],
    has_capacity: Callable[[str], bool],
    presented: str | None = None,
) -> OutboundPlan | OutboundRefused:
    """Decide which trunks carry a dialled number (module docstring), and explain why.

    A pure function: equal inputs give equal plans.

    Args:
        dialled: the number as dialled, or as a forwarding rule holds it.
        caller: the extension the call is made for (its rules, its caller ID).
        caller_groups: the groups of ``caller`` (:func:`groups_of`).
        rules: every outbound rule, in any order.
        trunks: every trunk.
        settings: the numbering settings (``emergency_numbers``).
        is_up: whether a trunk (by name) is up: registered, or answering.
        has_capacity: whether a trunk (by name) is below its ``max_calls``.
        presented: the original caller of a forwarded call, if any.

    Returns:
        The plan (attempts in order, never empty), or the refusal: 404 for a
        number that is not one or that no rule matches, 503 when no trunk
        can carry it.
    """
    if _DIALLED.fullmatch(dialled) is None:
        entry = OutboundTrace(
            check=OutboundCheck.NUMBER, subject="", matched=False, text="not a phone number"
        )
        return OutboundRefused(
            status=OutboundStatus.NOT_FOUND, reason="Not a phone number", trace=(entry,)
        )
    planning = _Planning(
        dialled=dialled,
        caller=caller,
        trunks={trunk.name: trunk for trunk in trunks},
        is_up=is_up,
        has_capacity=has_capacity,
        emergency=is_emergency(dialled, settings),
        presented=presented,
    )
    if planning.emergency:
        text = f"{dialled} is an emergency number: always allowed, with the extension's caller ID"
        planning.note(OutboundCheck.EMERGENCY, dialled, True, text)
    rule = planning.first_rule(rules, caller_groups)
    if rule is None and not planning.emergency:
        return _refused(planning, OutboundStatus.NOT_FOUND, f"No route for {dialled}")
    attempts = _attempts(planning, rule)
    if not attempts:
        return _refused(planning, OutboundStatus.SERVICE_UNAVAILABLE, "No trunk available")
    return OutboundPlan(
        dialled=dialled,
        rule=rule.name if rule else None,
        emergency=planning.emergency,
        attempts=attempts,
        trace=tuple(planning.trace),
    )


def _refused(planning: _Planning, status: OutboundStatus, reason: str) -> OutboundRefused:
    return OutboundRefused(status=status, reason=reason, trace=tuple(planning.trace))


def _attempts(planning: _Planning, rule: OutboundRule | None) -> tuple[TrunkAttempt, ...]:
    """The attempts: the rule's trunks; for emergencies every other, then the down ones."""
    candidates: list[tuple[str, OutboundRule | None]] = (
        [(name, rule) for name in rule.trunks] if rule else []
    )
    if planning.emergency:
        named = {name for name, _ in candidates}
        candidates += [(name, None) for name in sorted(planning.trunks) if name not in named]
    attempts: list[TrunkAttempt] = []
    down: list[tuple[str, OutboundRule | None]] = []
    for name, source in candidates:
        why_not = planning.unusable(name)
        if why_not is None:
            attempts.append(_attempt(planning, name, source))
            continue
        last_resort = planning.emergency and why_not is _Unusable.DOWN
        if last_resort:
            down.append((name, source))
        suffix = ": tried last (emergency)" if last_resort else ": skipped"
        planning.note(OutboundCheck.TRUNK, name, False, f"trunk {name} {why_not.value}{suffix}")
    attempts += [_attempt(planning, name, source) for name, source in down]
    return tuple(attempts)


def _attempt(planning: _Planning, name: str, rule: OutboundRule | None) -> TrunkAttempt:
    number = rewrite(planning.dialled, rule) if rule else planning.dialled
    return planning.attempt(planning.trunks[name], number, rule)


TRUNK_FAULTS = frozenset({401, 407, 408})
"""Final 4xx answers that speak for the trunk, not the number: the provider
refused our credentials (401, 407: the challenge could not be answered) or
did not answer in time (408)."""


def failover(status: int | None) -> bool:
    """Tell whether the next trunk is tried after a trunk's final answer.

    True when the trunk, not the number, failed: no answer at all (``None``:
    a timeout or a transport error), 408, 401 or 407 (:data:`TRUNK_FAULTS`),
    and every 5xx, a 503 with ``Retry-After`` included (RFC 3261 §21.5.4:
    that server is unavailable, another may not be; the glue may keep the
    trunk down for the time given). False for any other 4xx (404, 480, 486,
    403: they speak for the number or the callee, and another trunk would
    reach the same callee) and for 6xx (RFC 3261 §21.6: a global failure,
    no other route may be tried) and 3xx (a redirect is not a failure of the
    trunk).

    Args:
        status: the SIP status of the final answer, or None when none came.

    Returns:
        Whether to try the next trunk.

    Raises:
        ValueError: ``status`` is not a final failure (below 300 or above 699).
    """
    if status is None:
        return True
    if not 300 <= status <= 699:
        raise ValueError(f"status {status} is not a final failure response")
    return status in TRUNK_FAULTS or 500 <= status <= 599
