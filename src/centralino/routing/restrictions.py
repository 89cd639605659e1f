"""Outbound restrictions: whether an extension may call outside now (SPEC §2.6).

Theory of operation. :func:`outbound_refusal` decides, before any outbound
rule is looked at, whether a number an extension dialled may leave the PBX;
it returns a :class:`Refusal` (403, a reason phrase naming the reason, and
the prompt the PBX speaks before hanging up) or None. The checks, in this
fixed order, the first that refuses decides:

1. *emergency*: an emergency number passes every restriction;
2. ``external_calls_disabled``: "External calls disabled" — permanent,
   nothing the user can do, so it is said first;
3. ``block_outbound_outside_office_hours``, outside the extension's office
   hours (its own schedule, else the global one; a break counts as outside,
   as for forwarding windows): "Outside office hours" — a PIN would not
   lift it, so it is said before asking for one;
4. ``pin_protected`` and not unlocked now: "PIN required: dial 777 then
   your PIN and #" (the configured unlock code).

The restrictions apply to numbers the extension dials itself; where its
forwarding rules or its mobile ringing dial out is the call core's choice.

:class:`OutboundUnlock` keeps, per extension, until when a PIN unlock lasts.
It does not check PINs: the unlock code's application checks the PIN with
the voicemail's own check and lock-out (``telephony.apps.voicemail``:
``authenticate`` with the launcher's single ``PinGuard``, keyed by the
extension number), so wrong PINs at the unlock code and at the voicemail
menu count together, and only a right PIN reaches :meth:`OutboundUnlock.unlock`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from centralino.domain.extension import Extension
from centralino.domain.office_hours import OfficeHours, OfficeState

__all__ = [
    "OutboundUnlock",
    "Refusal",
    "RefusalReason",
    "office_is_open",
    "outbound_refusal",
]

_FORBIDDEN = 403


class RefusalReason(enum.StrEnum):
    """Why an outbound call is refused (the value is the log's word)."""

    EXTERNAL_CALLS_DISABLED = "external_calls_disabled"
    OUTSIDE_OFFICE_HOURS = "outside_office_hours"
    PIN_REQUIRED = "pin_required"

    @property
    def prompt(self) -> str:
        """The name of the spoken prompt (prompt files use '-': ``pin-required``)."""
        return self.value.replace("_", "-")


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """An outbound call refused: the SIP answer, and the prompt spoken first."""

    reason: RefusalReason
    phrase: str
    """The SIP reason phrase, e.g. ``PIN required: dial 777 then your PIN and #``."""
    status: int = _FORBIDDEN

    @property
    def prompt(self) -> str:
        """The prompt to play before hanging up, e.g. ``external-calls-disabled``."""
        return self.reason.prompt


def office_is_open(schedule: OfficeHours, now: dt.datetime) -> bool:
    """Tell whether an extension is inside its office hours (open, not on a break).

    Args:
        schedule: the extension's own schedule, else the global one.
        now: the moment (aware).

    Returns:
        True while the schedule is OPEN.
    """
    return schedule.state_at(now) is OfficeState.OPEN


def _aware(moment: dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def outbound_refusal(
    extension: Extension,
    *,
    emergency: bool,
    now: dt.datetime,
    in_office_hours: bool,
    unlocked_until: dt.datetime | None,
    unlock_code: str = "777",
) -> Refusal | None:
    """Decide whether an extension may dial out now (the order in the module docstring).

    Args:
        extension: the calling extension (its ``options`` are read).
        emergency: the number is an emergency number (passes everything).
        now: the moment of the call (aware).
        in_office_hours: the extension's office hours are open now
            (:func:`office_is_open`).
        unlocked_until: until when its PIN unlock lasts (None: not unlocked).
        unlock_code: ``numbering.outbound_unlock_code``, for the reason phrase.

    Returns:
        The refusal, or None when the call may go out.

    Raises:
        ValueError: ``now`` or ``unlocked_until`` is a naive datetime.
    """
    _aware(now, "now")
    if unlocked_until is not None:
        _aware(unlocked_until, "unlocked_until")
    options = extension.options
    if emergency:
        return None
    if options.external_calls_disabled:
        return Refusal(
            reason=RefusalReason.EXTERNAL_CALLS_DISABLED, phrase="External calls disabled"
        )
    if options.block_outbound_outside_office_hours and not in_office_hours:
        return Refusal(reason=RefusalReason.OUTSIDE_OFFICE_HOURS, phrase="Outside office hours")
    if options.pin_protected and (unlocked_until is None or now >= unlocked_until):
        phrase = f"PIN required: dial {unlock_code} then your PIN and #"
        return Refusal(reason=RefusalReason.PIN_REQUIRED, phrase=phrase)
    return None


class OutboundUnlock:
    """Per extension, until when outside calls are unlocked by a PIN.

    An unlock lasts from the right PIN for ``minutes`` (a new unlock starts
    the period again); it ends at its deadline or when :meth:`lock` is
    called (the extension's PIN or restrictions changed, it was deleted).
    Expired entries are dropped when seen, and :meth:`expire` drops them
    all; :meth:`next_expiry` is the earliest deadline, for a timer. The
    state is per node, in memory: an unlock is not seen by another node and
    does not survive a restart (the user dials the code again).
    """

    def __init__(self) -> None:
        self._until: dict[str, dt.datetime] = {}

    def unlock(self, number: str, now: dt.datetime, minutes: int) -> dt.datetime:
        """Unlock outside calls of extension ``number`` for ``minutes`` from ``now``.

        Args:
            number: the extension number.
            now: the moment the right PIN was entered (aware).
            minutes: ``numbering.outbound_unlock_minutes`` (at least 1).

        Returns:
            The deadline.

        Raises:
            ValueError: ``now`` is naive or ``minutes`` is below 1.
        """
        _aware(now, "now")
        if minutes < 1:
            raise ValueError(f"minutes must be at least 1, not {minutes}")
        until = now + dt.timedelta(minutes=minutes)
        self._until[number] = until
        return until

    def unlocked_until(self, number: str, now: dt.datetime) -> dt.datetime | None:
        """The deadline of extension ``number``'s unlock, or None (not unlocked now)."""
        _aware(now, "now")
        until = self._until.get(number)
        if until is not None and now >= until:
            del self._until[number]
            return None
        return until

    def lock(self, number: str) -> None:
        """End extension ``number``'s unlock now (nothing happens when there is none)."""
        self._until.pop(number, None)

    def expire(self, now: dt.datetime) -> list[str]:
        """Drop every unlock ended at ``now``; return their extension numbers."""
        _aware(now, "now")
        ended = sorted(number for number, until in self._until.items() if now >= until)
        for number in ended:
            del self._until[number]
        return ended

    def next_expiry(self) -> dt.datetime | None:
        """The earliest deadline of the unlocks held (None: none)."""
        return min(self._until.values(), default=None)

    def __len__(self) -> int:
        """How many unlocks are held (expired ones not yet dropped included)."""
        return len(self._until)
