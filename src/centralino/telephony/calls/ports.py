"""What the call engine needs from its neighbours, as small Protocols.

Theory of operation. The B2BUA is written against these Protocols, not
against the concrete registrar, authenticator, directory or SIP server, so
its tests use in-memory stand-ins and the composition root (``telephony
.engine``) plugs the real objects in: their method names match these.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.domain.office_hours import OfficeHours
from centralino.domain.settings import SystemSettings
from centralino.net.transport import Peer, TransportKind
from centralino.sip.events import TransactionKey
from centralino.sip.message import Request
from centralino.telephony.apps.channel import Channel
from centralino.telephony.apps.screening import ScreeningControl
from centralino.telephony.sip_server import IncomingRequest, ResponseCallback

__all__ = [
    "Application",
    "Applications",
    "Authenticator",
    "Cancellable",
    "ExtensionDirectory",
    "Locations",
    "Scheduler",
    "Signaling",
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


class Signaling(Protocol):
    """The part of the SIP server a call uses to send messages."""

    advertised_host: str

    def advertised_host_for(self, address: str | None) -> str:
        """The host the PBX names itself by to the peer at ``address``."""
        ...

    def send_request(
        self, request: Request, peer: Peer, on_outcome: ResponseCallback | None = None
    ) -> TransactionKey:
        """Start a client transaction towards ``peer``."""
        ...

    def send_stateless(self, message: Request, peer: Peer) -> None:
        """Send outside any transaction (the ACK of a 2xx)."""
        ...

    def via(self, kind: TransportKind, branch: str | None = None, *, to: str | None = None) -> str:
        """A Via value with a fresh branch (naming us as the peer at ``to`` sees us)."""
        ...

    def local_port(self, kind: TransportKind = TransportKind.UDP) -> int:
        """The port a transport listens on."""
        ...


class Cancellable(Protocol):
    """A scheduled callback that can be called off."""

    def cancel(self) -> None:
        """Call it off (harmless when it already ran)."""
        ...


Scheduler = Callable[[float, Callable[[], None]], Cancellable]
"""Run a callback after a delay in seconds (``loop.call_later`` fits)."""


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
