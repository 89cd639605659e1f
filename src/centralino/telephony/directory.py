"""The call engine's read cache of extensions and system settings.

Theory of operation. The SIP hot path (every REGISTER, every INVITE) needs an
extension by number or by SIP user name without a database round trip, so the
directory loads every extension, the office-hours schedules and the settings
once at start, through the domain ``UnitOfWorkFactory``, and keeps them in
dictionaries. :meth:`Directory.schedule_for` gives the schedule that applies
to an extension (its own, else the global one) for routing and the automatic
status switch.

It stays current by following the domain events that the change feed
delivers on the bus, whichever process made the change: each event carries
the committed document (the extension after the change, the settings, the
schedule), which the directory applies at once, synchronously, without
reading the database again (a burst of ten thousand changes is ten thousand
dictionary updates). ``ChangesMissed`` (the feed was pruned past this node's
cursor) reloads everything; while that reload runs :attr:`Directory.settling`
is true, and the authenticator re-challenges an unknown user instead of
refusing it.

Listeners registered with :meth:`Directory.on_change` hear ``(number, before,
after)`` for each applied extension change (``after`` is None when
deleted); :meth:`Directory.on_reload` listeners hear that a whole reload
finished.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Coroutine, Iterable

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import (
    ChangesMissed,
    DomainEvent,
    ExtensionChanged,
    ExtensionCreated,
    ExtensionDeleted,
    OfficeHoursChanged,
    SettingsChanged,
)
from centralino.domain.extension import Extension
from centralino.domain.office_hours import GLOBAL_SCHEDULE, OfficeHours
from centralino.domain.ports import UnitOfWorkFactory
from centralino.domain.settings import SystemSettings

__all__ = ["ChangeListener", "Directory"]

log = structlog.get_logger("centralino.telephony")

ChangeListener = Callable[[str, Extension | None, Extension | None], None]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


_DEFAULT_HOURS = OfficeHours()
"""The office hours of an extension when none are stored (built once: models are frozen)."""


class Directory:
    """Extensions by number and by SIP user name, plus the system settings."""

    def __init__(self, units: UnitOfWorkFactory) -> None:
        self._units = units
        self._by_number: dict[str, Extension] = {}
        self._by_user: dict[str, Extension] = {}
        self._by_did: dict[str, Extension] = {}
        self._settings = SystemSettings()
        self._schedules: dict[str, OfficeHours] = {}
        self._networks: tuple[Network, ...] = ()
        self._trusted: tuple[Network, ...] = ()
        self._listeners: list[ChangeListener] = []
        self._schedule_listeners: list[Callable[[str], None]] = []
        self._reload_listeners: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._apply_settings(self._settings)

    # Life cycle -------------------------------------------------------------

    async def load(self) -> None:
        """Read every extension and the settings (call once, at start)."""
        async with self._units() as uow:
            extensions = await uow.extensions.all()
            settings = await uow.settings.get()
            schedules = await uow.office_hours.all()
        self._schedules = {schedule.name: schedule for schedule in schedules}
        self._by_number.clear()
        self._by_user.clear()
        self._by_did.clear()
        for extension in extensions:
            self._put(extension)
        self._apply_settings(settings)

    def subscribe(self, bus: LocalEventBus) -> None:
        """Follow the domain events published on ``bus``."""
        self._unsubscribe = bus.subscribe(self.handle_event)

    async def close(self) -> None:
        """Stop following events and wait for pending reloads."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener(number, before, after)`` after each extension reload."""
        self._listeners.append(listener)

    def on_schedule_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(name)`` after a schedule is reloaded."""
        self._schedule_listeners.append(listener)

    # Look-ups -----------------------------------------------------------------

    def by_number(self, number: str) -> Extension | None:
        """The extension with this number, if any."""
        return self._by_number.get(number)

    def by_sip_user(self, user: str) -> Extension | None:
        """The extension whose auth ID or SIP ID is ``user`` (any case)."""
        return self._by_user.get(user.lower())

    def by_did(self, did: str) -> Extension | None:
        """The extension whose ``dids`` hold ``did`` (as stored: E.164), if any."""
        return self._by_did.get(did)

    def extensions(self) -> Iterable[Extension]:
        """Every cached extension."""
        return self._by_number.values()

    def schedule_for(self, extension: Extension) -> OfficeHours:
        """The office hours that apply to ``extension``: its own, else the global ones."""
        own = extension.forwarding.office_hours
        if own is not None and own in self._schedules:
            return self._schedules[own]
        return self._schedules.get(GLOBAL_SCHEDULE) or _DEFAULT_HOURS

    def schedules(self) -> Iterable[OfficeHours]:
        """Every cached schedule (the global one only when stored)."""
        return self._schedules.values()

    @property
    def settings(self) -> SystemSettings:
        """The current system settings."""
        return self._settings

    @property
    def settling(self) -> bool:
        """True while a whole reload (after ``ChangesMissed``) is still running."""
        return bool(self._tasks)

    def is_local(self, address: str) -> bool:
        """Whether ``address`` lies in the configured local networks."""
        return _within(address, self._networks)

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` lies in the trusted networks (``security.trusted_networks``)."""
        return _within(address, self._trusted)

    # Events -------------------------------------------------------------------

    def handle_event(self, event: DomainEvent) -> None:
        """Apply one domain event's document (a whole reload for ``ChangesMissed``)."""
        match event:
            case (
                ExtensionCreated(number=number, extension=extension)
                | ExtensionChanged(number=number, extension=extension)
            ):
                self._apply_extension(number, extension)
            case ExtensionDeleted(number=number):
                self._apply_extension(number, None)
            case SettingsChanged(settings=settings):
                self._apply_settings(settings)
            case OfficeHoursChanged(name=name, schedule=schedule):
                self._apply_schedule(name, schedule)
            case ChangesMissed():
                self._spawn(self._reload())
            case _:
                pass

    def on_reload(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each whole reload (``ChangesMissed``)."""
        self._reload_listeners.append(listener)

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload(self) -> None:
        await self.load()
        for schedule in list(self._schedules):
            self._notify_schedule(schedule)
        for listener in list(self._reload_listeners):
            try:
                listener()
            except Exception:
                log.exception("directory reload listener failed")

    def _apply_extension(self, number: str, after: Extension | None) -> None:
        before = self._by_number.get(number)
        self._invalidate(number)
        self._by_number.pop(number, None)
        if after is not None:
            self._put(after)
        for listener in list(self._listeners):
            try:
                listener(number, before, after)
            except Exception:
                log.exception("directory listener failed", number=number)

    def _apply_schedule(self, name: str, schedule: OfficeHours | None) -> None:
        if schedule is None:
            self._schedules.pop(name, None)
        else:
            self._schedules[name] = schedule
        self._notify_schedule(name)

    def _notify_schedule(self, name: str) -> None:
        for listener in list(self._schedule_listeners):
            try:
                listener(name)
            except Exception:
                log.exception("directory schedule listener failed", name=name)

    # Internals ----------------------------------------------------------------

    def _put(self, extension: Extension) -> None:
        self._by_number[extension.number] = extension
        for name in extension.sip_user_names:
            self._by_user[name.lower()] = extension
        for did in extension.dids:
            self._by_did[did] = extension

    def _invalidate(self, number: str) -> None:
        # Keep the number entry (so ``before`` is known) but drop every user
        # name pointing at it: no authentication with stale credentials.
        held = self._by_number.get(number)
        for did in held.dids if held is not None else ():
            if (owner := self._by_did.get(did)) is not None and owner.number == number:
                del self._by_did[did]
        for name in held.sip_user_names if held is not None else ():
            if (
                current := self._by_user.get(name.lower())
            ) is not None and current.number == number:
                del self._by_user[name.lower()]

    def _apply_settings(self, settings: SystemSettings) -> None:
        self._settings = settings
        networks = settings.network.local_networks
        self._networks = tuple(ipaddress.ip_network(net, strict=False) for net in networks)
        trusted = settings.security.trusted(settings.network)
        self._trusted = tuple(ipaddress.ip_network(net, strict=False) for net in trusted)


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
