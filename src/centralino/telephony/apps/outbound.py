"""The PBX's voice around outside calls: refusals explained, the PIN unlock.

Theory of operation. When an extension's restrictions refuse an outside call
(SPEC §2.6), the call core answers 183 with the PBX's media and runs
:func:`announce`: the reason, spoken, then the core sends 403. A
PIN-protected extension dials the unlock code (``777``): the PBX answers and
runs :func:`unlock_outbound`, which asks for the extension's voicemail PIN
with the voicemail's own rules and lock-out (:func:`~.voicemail.authenticate`
and its :class:`~.voicemail.PinGuard`), and on success allows outside calls
for a while and says for how long.
"""

from __future__ import annotations

from collections.abc import Callable

from centralino.domain.extension import Extension
from centralino.telephony.apps.channel import Channel
from centralino.telephony.apps.prompts import Prompts
from centralino.telephony.apps.voicemail import (
    DEFAULT_LIMITS,
    PinGuard,
    VoicemailLimits,
    authenticate,
)

__all__ = ["announce", "prompt_name", "unlock_outbound"]


def prompt_name(prompt: str) -> str:
    """The clip of a refusal's prompt (``pin_required`` -> ``pin-required``)."""
    return prompt.replace("_", "-")


async def announce(channel: Channel, prompts: Prompts, prompt: str) -> None:
    """Say ``prompt`` once, whole (keys do not cut it short)."""
    await channel.play(prompts.say(prompt_name(prompt)), interrupt=False)


async def unlock_outbound(
    channel: Channel,
    caller: Extension,
    prompts: Prompts,
    unlock: Callable[[str], int],
    *,
    limits: VoicemailLimits = DEFAULT_LIMITS,
    guard: PinGuard | None = None,
) -> bool:
    """Ask for ``caller``'s voicemail PIN; if right, ``unlock(number)`` and say for how long.

    Args:
        unlock: allows outside calls for the extension; returns the minutes.

    Returns:
        Whether outside calls were unlocked.
    """
    if not await authenticate(channel, caller, prompts, limits, guard):
        await channel.play(prompts.say("goodbye"), interrupt=False)
        return False
    minutes = unlock(caller.number)
    spoken = [*prompts.say("outbound-unlocked"), *prompts.number(minutes), *prompts.say("minutes")]
    await channel.play(spoken, interrupt=False)
    await channel.play(prompts.say("goodbye"), interrupt=False)
    return True
