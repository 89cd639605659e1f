"""Presence status use-cases: read and set an extension's status (SPEC §2.3).

Theory of operation. The status is ``forwarding.status`` of the extension;
setting it is an ordinary extension update (:meth:`ExtensionService.patch`):
validated, audited in the same transaction, and published as
``ExtensionChanged`` + ``StatusChanged`` after the commit, so the call
engine's directory, BLF lamps and the API all see it. The REST API, the CLI
and the console call :meth:`StatusService.set`; the call engine reaches the
same use-case through the domain ``StatusChanger`` port
(:meth:`StatusService.set_status`) for the phone dial codes and the
office-hours switch, audited as ``phone:<number>`` or ``office-hours``.
"""

from __future__ import annotations

from dataclasses import dataclass

from centralino.admin.context import Actor
from centralino.admin.extensions import ExtensionService
from centralino.admin.resources import SettingsService
from centralino.domain.account import AccountRole
from centralino.domain.errors import InvalidInput
from centralino.domain.extension import Extension
from centralino.domain.forwarding import Status
from centralino.domain.settings import PresenceSettings

__all__ = ["StatusService", "StatusView", "parse_status"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusView:
    """An extension's status as interfaces show it."""

    number: str
    status: Status
    name: str
    """The display name (``Do Not Disturb``)."""
    auto_switch_by_office_hours: bool

    @classmethod
    def of(cls, extension: Extension, presence: PresenceSettings) -> StatusView:
        """The status view of an extension, with the configured display name."""
        forwarding = extension.forwarding
        return cls(
            number=extension.number,
            status=forwarding.status,
            name=presence.name_of(forwarding.status),
            auto_switch_by_office_hours=forwarding.auto_switch_by_office_hours,
        )


def parse_status(value: object) -> Status:
    """Read a status from user input (its value, e.g. ``dnd``).

    Raises:
        InvalidInput: not one of the statuses.
    """
    try:
        return Status(str(value))
    except ValueError:
        allowed = ", ".join(status.value for status in Status)
        raise InvalidInput.single("status", f"must be one of {allowed}") from None


class StatusService:
    """Read and set presence statuses; also the engine's ``StatusChanger``."""

    def __init__(self, extensions: ExtensionService, settings: SettingsService) -> None:
        self._extensions = extensions
        self._settings = settings

    async def _presence(self) -> PresenceSettings:
        return (await self._settings.get()).presence

    async def get(self, number: str) -> StatusView:
        """The status of extension ``number``.

        Raises:
            NotFound: no such extension.
        """
        return StatusView.of(await self._extensions.get(number), await self._presence())

    async def set(self, actor: Actor, number: str, status: object) -> StatusView:
        """Set the status of extension ``number`` (audited, ``StatusChanged`` published).

        Raises:
            InvalidInput: not a status.
            NotFound: no such extension.
        """
        wanted = parse_status(status)
        patch = {"forwarding": {"status": wanted.value}}
        changed = await self._extensions.patch(actor, number, patch)
        return StatusView.of(changed, await self._presence())

    async def set_status(self, number: str, status: Status, *, by: str) -> None:
        """The ``StatusChanger`` port: a change made by the PBX itself, as ``by``."""
        await self.set(Actor(username=by, role=AccountRole.OWNER), number, status)
