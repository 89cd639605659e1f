"""The bundle of management use-cases that every interface is given."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from centralino.admin.accounts import AccountService, TokenSigner
from centralino.admin.audit import AuditService
from centralino.admin.calls import CallsService
from centralino.admin.csv_service import CsvService
from centralino.admin.extensions import ExtensionService
from centralino.admin.live import LiveService
from centralino.admin.nodes import NodesService
from centralino.admin.recordings import RecordingService
from centralino.admin.resources import GroupService, OfficeHoursService, SettingsService
from centralino.admin.routing import RoutingService
from centralino.admin.security import SecurityService
from centralino.admin.status import StatusService
from centralino.admin.voicemail import TransientAudioArchive, VoicemailService
from centralino.admin.workers import SlowWork
from centralino.domain.calls import LiveCalls
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.location import LiveView
from centralino.domain.nodes import ClusterView
from centralino.domain.ports import AudioArchive, Clock, UnitOfWorkFactory
from centralino.domain.security import BlockRecords

__all__ = ["ManagementServices"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagementServices:
    """Every use-case, built on one unit-of-work factory."""

    extensions: ExtensionService
    groups: GroupService
    office_hours: OfficeHoursService
    settings: SettingsService
    accounts: AccountService
    audit: AuditService
    csv: CsvService
    status: StatusService
    routing: RoutingService
    voicemail: VoicemailService
    """Mailboxes: messages and greetings (also the call engine's ``Mailboxes`` port)."""
    recordings: RecordingService
    """Recorded calls (also the call engine's ``CallRecordings`` port)."""
    security: SecurityService
    """Blocks after failed SIP authentications, of every node."""
    live: LiveService = field(default_factory=LiveService)
    """The running call engine's live state (empty when none runs)."""
    calls: CallsService = field(default_factory=CallsService)
    """The calls in progress (empty when no call engine runs)."""
    nodes: NodesService = field(default_factory=NodesService)
    """The nodes sharing the database (none without a cluster view)."""

    @classmethod
    def build(
        cls,
        units: UnitOfWorkFactory,
        clock: Clock,
        secret: bytes,
        generator: CredentialGenerator | None = None,
        audio: AudioArchive | None = None,
        *,
        node: str = "",
        cluster: ClusterView | None = None,
        work: SlowWork | None = None,
        blocks: BlockRecords | None = None,
    ) -> ManagementServices:
        """Wire every service to the same storage and clock.

        Changes reach the call engines through the change feed that each
        unit of work writes (``UnitOfWork.changes``); ``node`` names this
        process among the nodes sharing the database.

        ``work`` runs the CPU-heavy work (password hashing) off the event
        loop; the composition root owns it and shuts it down at stop.

        ``audio`` is where greetings, messages and recordings are kept; without
        one they are kept in memory only (tools and tests that keep no audio).
        """
        generate = generator or CredentialGenerator()
        archive = audio if audio is not None else TransientAudioArchive()
        extensions = ExtensionService(units, clock, generate, audio=archive)
        settings = SettingsService(units, clock)
        return cls(
            extensions=extensions,
            groups=GroupService(units, clock),
            office_hours=OfficeHoursService(units, clock),
            settings=settings,
            accounts=AccountService(units, clock, TokenSigner(secret), work=work),
            audit=AuditService(units),
            csv=CsvService(units, clock, generate),
            status=StatusService(extensions, settings),
            routing=RoutingService(units, clock),
            voicemail=VoicemailService(units, clock, archive, extensions, node=node),
            recordings=RecordingService(units, clock, archive),
            nodes=NodesService(cluster, clock),
            security=SecurityService(units, clock, blocks, nodes=NodesService(cluster, clock)),
        )

    def with_engine(
        self, view: LiveView, calls: LiveCalls, node: str | None = None
    ) -> ManagementServices:
        """The same services, reading live state from a running call engine.

        Args:
            view: the engine's registrations and blocked addresses.
            calls: the engine's calls in progress.
            node: the node the engine runs as (its entries are listed from
                the engine, the other nodes' from the database).

        Returns:
            A copy whose live, calls and routing services use the engine.
        """
        nodes = self.nodes if node is None else self.nodes.running_as(node)
        live, live_calls = LiveService(view, nodes), CallsService(calls, nodes)
        routing = self.routing.with_live(live, live_calls)
        security = self.security.with_live(live, nodes)
        return replace(
            self, live=live, calls=live_calls, routing=routing, nodes=nodes, security=security
        )
