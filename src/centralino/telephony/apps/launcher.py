"""The call engine's :class:`~centralino.telephony.calls.ports.Applications`.

Binds the voicemail applications (:mod:`.voicemail`) to the mailboxes (the
management side's :class:`~centralino.domain.ports.Mailboxes`), the shipped
voice prompts and the limits, so the B2BUA can start one on a call with
nothing but the extensions involved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from centralino.domain.extension import Extension
from centralino.domain.ports import Mailboxes
from centralino.telephony.apps.channel import Channel
from centralino.telephony.apps.outbound import announce, unlock_outbound
from centralino.telephony.apps.prompts import Prompts
from centralino.telephony.apps.screening import ScreeningControl, screen_call
from centralino.telephony.apps.voicemail import (
    DEFAULT_LIMITS,
    PinGuard,
    VoicemailLimits,
    leave_message,
    mailbox_login,
    record_greeting,
    voicemail_menu,
)
from centralino.telephony.calls.ports import Application

__all__ = ["VoicemailApplications"]


class VoicemailApplications:
    """Voicemail for the call engine.

    Args:
        mailboxes: where messages and greetings are kept.
        lookup: an extension by number (for logging in to any mailbox).
        prompts: the voice prompts (default: the shipped ones).
        limits: message lengths, PIN attempts, timeouts.
        tz: the zone dates are read out in (None: the server's local zone).
    """

    def __init__(
        self,
        mailboxes: Mailboxes,
        *,
        lookup: Callable[[str], Extension | None] = lambda _number: None,
        prompts: Prompts | None = None,
        limits: VoicemailLimits = DEFAULT_LIMITS,
        tz: dt.tzinfo | None = None,
    ) -> None:
        self.mailboxes = mailboxes
        self.lookup = lookup
        self.prompts = prompts or Prompts.load()
        self.limits = limits
        self.tz = tz
        self.pins = PinGuard()
        """Wrong PINs per mailbox across calls (a mailbox locks after too many)."""

    def leave_message(self, box: Extension, caller: Extension) -> Application:
        """The caller leaves a message in ``box``'s mailbox."""

        async def run(channel: Channel) -> None:
            await leave_message(channel, self.mailboxes, box, self.prompts, self.limits)

        return run

    def voicemail_menu(self, owner: Extension) -> Application:
        """The owner listens to their messages from their own phone."""

        async def run(channel: Channel) -> None:
            await voicemail_menu(
                channel,
                self.mailboxes,
                owner,
                self.prompts,
                own_phone=True,
                limits=self.limits,
                tz=self.tz,
                guard=self.pins,
            )

        return run

    def record_greeting(self, owner: Extension) -> Application:
        """The owner records a new greeting from their own phone."""

        async def run(channel: Channel) -> None:
            await record_greeting(channel, self.mailboxes, owner, self.prompts, self.limits)

        return run

    def mailbox_login(self, caller: Extension) -> Application:
        """Any mailbox from ``caller``'s phone: the mailbox number, then its PIN."""

        async def run(channel: Channel) -> None:
            await mailbox_login(
                channel,
                self.mailboxes,
                caller,
                self.lookup,
                self.prompts,
                limits=self.limits,
                tz=self.tz,
                guard=self.pins,
            )

        return run

    def screen_call(self, control: ScreeningControl) -> Application:
        """Call screening: the caller's name, then the extension accepts or refuses."""

        async def run(channel: Channel) -> None:
            await screen_call(channel, control, self.prompts)

        return run

    def announce(self, prompt: str) -> Application:
        """Explain a refused outside call (its prompt), before the 403."""

        async def run(channel: Channel) -> None:
            await announce(channel, self.prompts, prompt)

        return run

    def unlock_outbound(self, caller: Extension, unlock: Callable[[str], int]) -> Application:
        """The unlock code: ``caller``'s voicemail PIN allows outside calls for a while."""

        async def run(channel: Channel) -> None:
            await unlock_outbound(
                channel, caller, self.prompts, unlock, limits=self.limits, guard=self.pins
            )

        return run
