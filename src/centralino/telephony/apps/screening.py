"""Call screening (SPEC §2.6): the caller says their name, the callee decides.

Theory of operation. An extension with ``call_screening`` on is never rung
straight away: the PBX answers the caller (see
:meth:`~centralino.calls.call.Call.answer_locally`) and runs
:func:`screen_call`:

1. the caller is asked to say their name after the tone; it is recorded
   (a few seconds, or until ``#``);
2. the caller hears "please hold" and then a ringback tone while the PBX
   rings the extension with its own offer (:meth:`ScreeningControl.ring`);
3. when the extension answers, it hears "You have a call from", the
   caller's recorded name, and "to accept press 1, to refuse press 2";
4. ``1`` bridges the two (:meth:`ScreeningControl.connect`): from then on
   it is an ordinary call. ``2``, no key after a few tries, the extension
   hanging up, or nobody answering, and the caller goes where the
   extension's no-answer rule sends it (:meth:`ScreeningControl.fallback`:
   its voicemail by default), the refused phone being hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol

from centralino.media.tones import beep, multitone, silence
from centralino.telephony.apps.channel import Channel, HungUp, RecordEnd
from centralino.telephony.apps.prompts import Prompts

__all__ = ["ScreeningControl", "ScreeningLimits", "screen_call"]

_RINGBACK_ON = multitone((440.0, 480.0), 2.0, amplitude=0.15)
_RINGBACK_PIECE = 0.5
"""Seconds of ringback played at a time (how soon an answer is noticed)."""


class ScreeningControl(Protocol):
    """What the screening application asks of the call."""

    async def ring(self) -> Channel | None:
        """Ring the screened extension; its channel once it answers, else None."""
        ...

    def connect(self) -> None:
        """Bridge the caller and the extension that answered."""
        ...

    async def fallback(self, channel: Channel) -> None:
        """Send the caller where the extension's no-answer rule says."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreeningLimits:
    """How long the name may be, and how long the extension has to decide."""

    name_seconds: float = 4.0
    decision_seconds: float = 6.0
    announcements: int = 3


def _ringback_pieces() -> list[bytes]:
    pattern = _RINGBACK_ON + silence(4.0)
    size = round(_RINGBACK_PIECE * 16000)
    return [pattern[offset : offset + size] for offset in range(0, len(pattern), size)]


async def screen_call(
    channel: Channel,
    control: ScreeningControl,
    prompts: Prompts,
    limits: ScreeningLimits | None = None,
) -> None:
    """Screen the call on ``channel`` (see the module docstring)."""
    limits = limits or ScreeningLimits()
    await channel.play(prompts.say("screening-say-name"))
    await channel.play(beep(), interrupt=False)
    channel.flush_digits()
    name = await channel.record(max_seconds=limits.name_seconds, stop_keys="#")
    if name.end is RecordEnd.HUNG_UP:
        return
    await channel.play(prompts.say("screening-please-hold"), interrupt=False)
    ringing = asyncio.ensure_future(control.ring())
    try:
        pieces = _ringback_pieces()
        while not ringing.done():
            for piece in pieces:
                await channel.play(piece, interrupt=False)
                if ringing.done():
                    break
        callee = ringing.result()
    finally:
        if not ringing.done():
            ringing.cancel()
    if callee is not None and await _ask(callee, name.pcm, prompts, limits):
        control.connect()
        return
    await control.fallback(channel)


async def _ask(callee: Channel, name: bytes, prompts: Prompts, limits: ScreeningLimits) -> bool:
    """Announce the caller to ``callee``: True when it accepts (1)."""
    asked = prompts.say("screening-accept-refuse")
    announcement = [*prompts.say("screening-call-from"), name, *asked]
    try:
        for _ in range(limits.announcements):
            await callee.play(announcement)
            key = await callee.get_digit(limits.decision_seconds)
            if key == "1":
                return True
            if key == "2":
                break
        await callee.hang_up()
    except HungUp:
        pass  # the extension hung up: refused
    with contextlib.suppress(HungUp):
        await callee.hang_up()
    return False
