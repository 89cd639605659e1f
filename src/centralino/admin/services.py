"""The bundle of management use-cases that every interface is given."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from centralino.admin.accounts import AccountService, TokenSigner
from centralino.admin.audit import AuditService
from centralino.admin.call_records import CallRecordService
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
from centralino.admin.trunks import OutboundRuleService, TrunkService
from centralino.admin.voicemail import TransientAudioArchive, VoicemailService
from centralino.admin.workers import SlowWork
from centralino.domain.calls import LiveCalls
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.location import LiveView
from centralino.domain.nodes import ClusterView
from centralino.domain.ports import AudioArchive, Clock, UnitOfWorkFactory
from centralino.domain.security import BlockRecords
from centralino.domain.trunks import TrunkStatuses

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
    call_records: CallRecordService
    """The records of finished calls: search, read, CSV export."""
    trunks: TrunkService
    """SIP trunks, and their health as this node's call engine reports it."""
    outbound_rules: OutboundRuleService
    """Which trunks carry a dialled number."""
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
        trunk_statuses: TrunkStatuses | None = None,
    ) -> ManagementServices:
        """Wire every service to the same storage and clock.

        Changes reach the call engines through the change feed that each
        unit of work writes (``UnitOfWork.changes``); ``node`` names this
        process among the nodes sharing the database.

        ``work`` runs the CPU-heavy work (password hashing) off the event
        loop; the composition root owns it and shuts it down at stop.

        ``audio`` is where greetings, messages and recordings are kept; without
        one they are kept in memory only (tools and tests that keep no audio).

        ``trunk_statuses`` is the call engine's view of its trunks (none: the
        trunk status reports only what is stored; ``with_engine`` can add it).
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
            call_records=CallRecordService(units),
            trunks=TrunkService(units, clock, trunk_statuses),
            outbound_rules=OutboundRuleService(units, clock),
        )

    def with_engine(
        self,
        view: LiveView,
        calls: LiveCalls,
        node: str | None = None,
        trunks: TrunkStatuses | None = None,
    ) -> ManagementServices:
        """The same services, reading live state from a running call engine.

        Args:
            view: the engine's registrations and blocked addresses.
            calls: the engine's calls in progress.
            node: the node the engine runs as (its entries are listed from
                the engine, the other nodes' from the database).
            trunks: the engine's trunk health (None: the trunk service keeps
                the one it has).

        Returns:
            A copy whose live, calls, routing and trunk services use the engine.
        """
        nodes = self.nodes if node is None else self.nodes.running_as(node)
        live, live_calls = LiveService(view, nodes), CallsService(calls, nodes)
        routing = self.routing.with_live(live, live_calls)
        security = self.security.with_live(live, nodes)
        trunk_service = self.trunks if trunks is None else self.trunks.with_statuses(trunks)
        return replace(
            self,
            live=live,
            calls=live_calls,
            routing=routing,
            nodes=nodes,
            security=security,
            trunks=trunk_service,
        )
