"""What the call engine's glue needs from its neighbours, as small Protocols.

Theory of operation. The B2BUA is written against these Protocols, not
against the concrete registrar, authenticator, directory or SIP server, so
its tests use in-memory stand-ins and the composition root (``telephony
.engine``) plugs the real objects in: their method names match these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.domain.office_hours import OfficeHours
from centralino.domain.settings import SystemSettings
from centralino.telephony.apps.channel import Channel
from centralino.telephony.apps.screening import ScreeningControl
from centralino.telephony.sip_server import IncomingRequest

__all__ = [
    "Application",
    "Applications",
    "Authenticator",
    "Cancellable",
    "ExtensionDirectory",
    "Locations",
    "Scheduler",
    "loop_scheduler",
]


class Authenticator(Protocol):
    """Digest authentication of requests from extensions."""

    def challenge_or_identify(self, incoming: IncomingRequest, *, proxy: bool) -> Extension | None:
        """The authenticated extension, or None after answering 407/403 itself."""
        ...


class ExtensionDirectory(Protocol):
    """Extensions by number and by SIP user name (a cache)."""

    def by_number(self, number: str) -> Extension | None:
        """The extension with this number, if any."""
        ...

    def by_sip_user(self, user: str) -> Extension | None:
        """The extension whose auth ID or SIP ID is ``user``."""
        ...

    def by_did(self, did: str) -> Extension | None:
        """The extension whose ``dids`` hold ``did``."""
        ...

    def schedule_for(self, extension: Extension) -> OfficeHours:
        """The office hours that apply to ``extension`` (its own, else the global)."""
        ...

    @property
    def settings(self) -> SystemSettings:
        """The current system settings (the dial codes among them)."""
        ...


class Locations(Protocol):
    """Where each extension's phones are registered."""

    def contacts(self, number: str) -> Sequence[Binding]:
        """The live bindings of extension ``number``."""
        ...


class Cancellable(Protocol):
    """A scheduled callback that can be called off."""

    def cancel(self) -> None:
        """Call it off (harmless when it already ran)."""
        ...


Scheduler = Callable[[float, Callable[[], None]], Cancellable]
"""Run a callback after a delay in seconds (``loop.call_later`` fits)."""


def loop_scheduler(delay: float, callback: Callable[[], None]) -> Cancellable:
    """Run ``callback`` after ``delay`` seconds on the running event loop."""
    return asyncio.get_running_loop().call_later(delay, _guarded, callback)


def _guarded(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        structlog.get_logger("centralino.calls").exception("timer failed")


Application = Callable[[Channel], Awaitable[None]]
"""A PBX application, run on a call the PBX answered (it returns: the PBX hangs up)."""


class Applications(Protocol):
    """The PBX's own call applications, bound to their mailboxes and prompts."""

    def leave_message(self, box: Extension, caller: Extension) -> Application:
        """A caller leaves a message in ``box``'s mailbox."""
        ...

    def voicemail_menu(self, owner: Extension) -> Application:
        """``owner`` listens to their messages, from their own phone."""
        ...

    def record_greeting(self, owner: Extension) -> Application:
        """``owner`` records a new greeting from their own phone."""
        ...

    def mailbox_login(self, caller: Extension) -> Application:
        """Any mailbox from ``caller``'s phone: the mailbox number, then its PIN."""
        ...

    def screen_call(self, control: ScreeningControl) -> Application:
        """Ask the caller's name, then let the screened extension accept or refuse."""
        ...

    def announce(self, prompt: str) -> Application:
        """Say why an outside call is refused (before its 403)."""
        ...

    def unlock_outbound(self, caller: Extension, unlock: Callable[[str], int]) -> Application:
        """Ask ``caller``'s voicemail PIN; if right, ``unlock(number)`` outside calls."""
        ...
