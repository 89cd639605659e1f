"""Composition root: builds every part from the configuration and runs them.

Only the CLI imports this module. ``Runtime`` owns the database and the
management services; ``serve`` adds the HTTP server (and, as they land, the
SIP and media engines) and runs them in one asyncio process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import os
import secrets
import stat
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog
import uvicorn

from centralino.admin.services import ManagementServices
from centralino.admin.workers import SlowWork
from centralino.api import create_api
from centralino.calls import CallCore, CoreSettings, MediaPolicy, RelayMedia
from centralino.config import Config
from centralino.domain.bus import LocalEventBus
from centralino.domain.changes import FEED_EVENTS
from centralino.domain.events import DomainEvent
from centralino.domain.location import LocationStore
from centralino.domain.ports import (
    CallRecordings,
    Clock,
    Mailboxes,
    StatusChanger,
    UnitOfWorkFactory,
)
from centralino.domain.trunks import OutboundRule, Trunk
from centralino.net.rtp import PortAllocator
from centralino.net.tcp_limits import TcpLimits
from centralino.notify import EmailNotifier, SmtpMailer
from centralino.sip.digest import NonceManager
from centralino.storage import (
    Database,
    FileAudioArchive,
    SqlBlockRecords,
    SqlLocationStore,
    SqlNodes,
    SqlUnitOfWorkFactory,
)
from centralino.storage.feed import ChangeFollower
from centralino.storage.key_rotation import rotate_key_file
from centralino.storage.secrets import SecretBox
from centralino.telephony.apps.launcher import VoicemailApplications
from centralino.telephony.auth import Authenticator
from centralino.telephony.block_publisher import BlockPublisher
from centralino.telephony.call_records import CallRecordWriter
from centralino.telephony.calls import B2bua, EngineLookup
from centralino.telephony.calls.outside import EngineOutside
from centralino.telephony.calls.ports import Applications
from centralino.telephony.directory import Directory
from centralino.telephony.engine import EngineParts, Telephony, TelephonySettings
from centralino.telephony.media import AnchorSdp
from centralino.telephony.mwi import MessageWaiting
from centralino.telephony.node_publisher import NodeAddresses, NodePublisher
from centralino.telephony.notifier import CheckSyncNotifier
from centralino.telephony.office_switch import OfficeHoursSwitch
from centralino.telephony.recording import CallRecorder
from centralino.telephony.registrar import Registrar
from centralino.telephony.sip_server import SipServer
from centralino.telephony.subscriptions import Subscriptions
from centralino.telephony.throttle import Throttle
from centralino.telephony.trunks import TrunkManager

__all__ = [
    "Runtime",
    "SystemClock",
    "build_block_publisher",
    "build_follower",
    "build_node_publisher",
    "build_notifier",
    "build_telephony",
    "open_runtime",
    "prepare_data_dir",
    "rotate_secrets",
    "serve",
]

log = structlog.get_logger("centralino")


class SystemClock:
    """The real clock (aware UTC)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


DATA_DIR_MODE = 0o700
"""The data directory (database, keys, recordings, voicemail) is the owner's alone."""


def load_secret(path: Path) -> bytes:
    """Read the token-signing secret, creating it (mode 0600) on first start."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(mode=DATA_DIR_MODE, parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secret)
    return secret


def prepare_data_dir(path: Path) -> None:
    """Create the data directory 0700, or tighten an existing one (logged)."""
    path.mkdir(mode=DATA_DIR_MODE, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~DATA_DIR_MODE:
        path.chmod(DATA_DIR_MODE)
        log.warning("data directory tightened", path=str(path), was=oct(mode), now="0o700")


def _log_subscriber_error(event: DomainEvent, exc: Exception) -> None:
    log.error("event subscriber failed", event=type(event).__name__, error=repr(exc))


@dataclass(frozen=True, slots=True, kw_only=True)
class Runtime:
    """What every entry point needs: configuration, database, services, events."""

    config: Config
    database: Database
    units: SqlUnitOfWorkFactory
    """Units of work on the database; their commits write the change feed."""
    events: LocalEventBus
    """This process's bus: the change follower (``serve``) publishes the feed on it."""
    services: ManagementServices


@asynccontextmanager
async def open_runtime(config: Config) -> AsyncIterator[Runtime]:
    """Open the database (migrating it) and build the management services."""
    prepare_data_dir(config.data_dir)
    secrets_box = SecretBox.from_file(config.secrets_key_file)
    database = Database(config.resolved_database_url, secrets=secrets_box)
    work = SlowWork()  # password hashing, off the loop that carries the calls
    try:
        await database.migrate()
        events = LocalEventBus(on_error=_log_subscriber_error)
        units = SqlUnitOfWorkFactory(database, node=config.node_name)
        services = ManagementServices.build(
            units,
            SystemClock(),
            load_secret(config.secret_file),
            audio=FileAudioArchive(config.data_dir / "audio"),
            node=config.node_name,
            cluster=SqlNodes(database),
            blocks=SqlBlockRecords(database),
            work=work,
        )
        yield Runtime(
            config=config, database=database, units=units, events=events, services=services
        )
    finally:
        await database.dispose()
        work.shutdown()


async def rotate_secrets(config: Config) -> int:
    """Encrypt every stored secret with a new key; the old keys are then dropped.

    Stop every node first, and copy the new ``secrets.key`` to every node
    sharing the database before starting them again.

    Returns:
        How many stored documents were encrypted again.
    """
    prepare_data_dir(config.data_dir)
    database = Database(config.resolved_database_url)
    try:
        await database.migrate()
    finally:
        await database.dispose()
    return await rotate_key_file(config.secrets_key_file, config.resolved_database_url)


def build_telephony(runtime: Runtime) -> Telephony:
    """The SIP engine on the runtime's database, event bus and configuration."""
    config = runtime.config
    settings = TelephonySettings(
        bind=config.bind,
        port=config.sip_port,
        advertised_host=config.advertised_sip_host,
        realm=config.sip_realm,
        media_anchoring=config.media_anchoring,
        rtp_port_min=config.rtp_port_min,
        rtp_port_max=config.rtp_port_max,
        tcp=TcpLimits(
            max_connections=config.sip_tcp_max_connections,
            max_per_address=config.sip_tcp_max_per_address,
            idle_timeout=config.sip_tcp_idle_timeout,
        ),
    )
    return build_engine(
        settings,
        units=runtime.units,
        store=SqlLocationStore(runtime.database, node=config.node_name),
        events=runtime.events,
        clock=SystemClock(),
        status_changer=runtime.services.status,
        mailboxes=runtime.services.voicemail,
        recordings=runtime.services.recordings,
    )


def build_engine(
    settings: TelephonySettings,
    *,
    units: UnitOfWorkFactory,
    store: LocationStore,
    events: LocalEventBus,
    clock: Clock,
    wall_clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    status_changer: StatusChanger | None = None,
    mailboxes: Mailboxes | None = None,
    recordings: CallRecordings | None = None,
    applications: Applications | None = None,
) -> Telephony:
    """The call engine and its collaborators, wired (one monotonic clock times them all).

    Args:
        settings: the engine's settings.
        units: the database, for the directory cache.
        store: where bindings are kept.
        events: the in-process bus the change follower feeds.
        clock: wall-clock datetimes (bindings, office hours).
        wall_clock: wall-clock seconds (the password-guessing throttle).
        monotonic: the clock of every timer (SIP, calls, media).
        status_changer: the management side's status changes (dial codes,
            office-hours switch); None: neither.
        mailboxes: voicemail; None: no voicemail, no lamps.
        recordings: where recorded calls go; None: no recording.
        applications: the PBX's applications (default: voicemail over
            ``mailboxes``).
    """
    directory = Directory(units)
    sip = SipServer(
        clock=monotonic,
        advertised_host=settings.advertised_host,
        public_host=_public_host(directory),
    )
    nonces = NonceManager(
        secret=secrets.token_bytes(32),
        lifetime=settings.nonce_lifetime,
        max_entries=settings.nonce_entries,
    )
    authenticator = Authenticator(
        directory, nonces, settings.realm, wall_clock, throttle=Throttle(settings.throttle)
    )
    registrar = Registrar(
        authenticator=authenticator,
        directory=directory,
        store=store,
        clock=clock,
        notifier=CheckSyncNotifier(sip),
        policy=settings.expiry,
    )
    subscriptions = Subscriptions(sip, authenticator)
    mwi = None
    if mailboxes is not None:
        mwi = MessageWaiting(
            sip=sip, subscriptions=subscriptions, mailboxes=mailboxes, locations=registrar
        )
    anchor = None
    if settings.media_anchoring:
        anchor = AnchorSdp(
            bind=settings.bind,
            advertised_host=settings.advertised_host,
            allocator=PortAllocator(settings.rtp_port_min, settings.rtp_port_max),
            host_for=sip.advertised_host_for,
            clock=monotonic,
        )
    recorder = None
    if anchor is not None and recordings is not None:
        recorder = CallRecorder(anchor, directory, recordings, clock)
    engine_applications = _applications(applications, mailboxes, directory, anchor)
    media: MediaPolicy = anchor if anchor is not None else RelayMedia()
    trunks = TrunkManager(
        sip=sip,
        load_trunks=_trunk_loader(units),
        load_rules=_rule_loader(units),
        clock=monotonic,
        wall_clock=wall_clock,
    )
    outside = EngineOutside(trunks, directory, clock.now)
    calls = CallCore(
        CoreSettings(
            ring_timeout=settings.ring_timeout,
            applications=engine_applications is not None,
            epoch=clock.now(),
            epoch_monotonic=monotonic(),
        ),
        lookup=EngineLookup(directory, registrar),
        addressing=sip,
        media=media,
        outside=outside,
    )
    b2bua = B2bua(
        calls,
        sip=sip,
        authenticator=authenticator,
        directory=directory,
        events=events,
        applications=engine_applications,
        status_changer=status_changer,
        clock=monotonic,
        outside=outside,
    )
    office_switch = None
    if status_changer is not None and settings.office_switch:
        office_switch = OfficeHoursSwitch(directory, status_changer, clock)
    parts = EngineParts(
        directory=directory,
        sip=sip,
        authenticator=authenticator,
        registrar=registrar,
        subscriptions=subscriptions,
        calls=calls,
        b2bua=b2bua,
        media=anchor,
        recorder=recorder,
        mwi=mwi,
        office_switch=office_switch,
        mailboxes=mailboxes,
        recordings=recordings,
        call_records=CallRecordWriter(units),
        trunks=trunks,
    )
    return Telephony(settings, parts=parts, events=events, clock=clock, wall_clock=wall_clock)


def _trunk_loader(units: UnitOfWorkFactory) -> Callable[[], Awaitable[Sequence[Trunk]]]:
    async def load() -> Sequence[Trunk]:
        async with units() as uow:
            return list(await uow.trunks.all())

    return load


def _rule_loader(units: UnitOfWorkFactory) -> Callable[[], Awaitable[Sequence[OutboundRule]]]:
    async def load() -> Sequence[OutboundRule]:
        async with units() as uow:
            return list(await uow.outbound_rules.all())

    return load


def _public_host(directory: Directory) -> Callable[[str], str | None]:
    """``network.public_host`` for an address outside the local networks, else None."""

    def public_host(address: str) -> str | None:
        host = directory.settings.network.public_host
        return None if host is None or directory.is_local(address) else host

    return public_host


def _applications(
    given: Applications | None,
    mailboxes: Mailboxes | None,
    directory: Directory,
    media: AnchorSdp | None,
) -> Applications | None:
    """The PBX's applications: ``given``, else voicemail over ``mailboxes``.

    They need the PBX in the media path: without anchoring there are none
    (voicemail answers 480, screened extensions are rung directly).
    """
    if media is None:
        if given is not None or mailboxes is not None:
            log.warning("media anchoring is off: no voicemail and no call screening")
        return None
    if given is not None:
        return given
    if mailboxes is None:
        return None
    return VoicemailApplications(mailboxes, lookup=directory.by_number)


def build_notifier(runtime: Runtime) -> EmailNotifier:
    """Voicemail and missed-call emails, following the runtime's events."""
    units = runtime.units
    notifier = EmailNotifier(
        units,
        runtime.services.voicemail,
        SmtpMailer(units),
        SystemClock(),
        node=runtime.config.node_name,
    )
    notifier.subscribe(runtime.events)
    return notifier


def build_follower(runtime: Runtime) -> ChangeFollower:
    """The change-feed follower that feeds this process's event bus."""
    config = runtime.config
    return ChangeFollower(
        runtime.database,
        runtime.units,
        runtime.events,
        node=config.node_name,
        poll_interval=config.feed_poll_interval,
        retention=dt.timedelta(days=config.feed_retention_days),
        batch_size=100,  # decoded in one go on the loop: ~3 ms (250: 6-16 ms, SIP waiting)
    )


def build_block_publisher(runtime: Runtime, telephony: Telephony) -> BlockPublisher:
    """This node's blocks after failed authentications, for every node's listings."""
    view = telephony.live_view()
    publisher = BlockPublisher(
        SqlBlockRecords(runtime.database),
        view.blocked_addresses,
        telephony.next_block_expiry,
        telephony.wall_time,
        runtime.config.node_name,
    )
    telephony.on_blocks_changed(publisher.wake)
    return publisher


def build_node_publisher(runtime: Runtime, telephony: Telephony) -> NodePublisher:
    """This node's heartbeat and calls in progress, for the other nodes' listings."""
    config = runtime.config
    host = config.advertised_sip_host if config.bind in ("0.0.0.0", "::", "") else config.bind
    host = f"[{host}]" if ":" in host else host
    addresses = NodeAddresses(
        name=config.node_name,
        sip_address=f"{host}:{telephony.port()}",
        http_address=f"http://{host}:{config.http_port}",
    )
    records = SqlNodes(runtime.database)
    return NodePublisher(records, telephony.live_calls(), SystemClock(), addresses)


def _tune_garbage_collector() -> None:
    """Fewer, larger young collections (set before the caches load).

    A busy registrar keeps ~100,000 SIP transactions alive (Timer J): with
    the default thresholds the collector scans them over and over. The
    middle generation is collected every 5 young passes, not 20: its pass
    scans everything promoted since the last one, and at 20 that took up
    to 350 ms at 2,000 REGISTER/s, long enough for phones to retransmit
    (bench/RESULTS.md). Loading 50,000 extensions with the default
    thresholds took several times longer than the validation itself.
    """
    gc.set_threshold(20_000, 5, 100)


def _freeze_garbage_collector() -> None:
    """Start-up objects (modules, the caches) are never scanned again.

    Only the youngest generation is collected first: collecting the middle
    one too took 70 ms after a burst, with calls waiting.
    """
    gc.collect(0)
    gc.freeze()


class _FreezeAfterBursts:
    """Hides what a burst of changes added to the caches from the garbage collector.

    A burst (a CSV import) leaves tens of thousands of long-lived objects in
    the engine's caches (some eighty per extension); each full collection
    would walk them all again, a pause of more than a second at 50,000
    extensions, with calls waiting. Once ``threshold`` events were delivered,
    at the end of the follower's batch (``call_soon``), the young garbage is
    collected and everything alive moved to the permanent generation, as at
    start-up. Frozen objects are still freed when released (reference
    counting); only reference cycles among them would be kept.
    """

    def __init__(self, threshold: int = 1000) -> None:
        self._threshold = threshold
        self._delivered = 0
        self._scheduled = False

    def __call__(self, event: DomainEvent) -> None:
        if type(event).__name__ not in FEED_EVENTS:
            # Calls' own events (state changes, records) are no cache change: counted,
            # they froze every few hundred calls and, with them, their garbage cycles
            # (a leak of ~24 KB a call under load).
            return
        self._delivered += 1
        if self._delivered >= self._threshold and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._freeze)

    def _freeze(self) -> None:
        self._delivered, self._scheduled = 0, False
        _freeze_garbage_collector()


def _configure_logging() -> None:
    """structlog's console output, with plain tracebacks.

    By default structlog renders a traceback with rich, every frame's locals
    included: with a bulk import's rows among them one logged exception took
    seconds, and held the event loop (calls, SIP) all along.
    """
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(
                colors=sys.stdout.isatty(),  # a log file gets no escape codes
                exception_formatter=structlog.dev.plain_traceback,
            ),
        ],
        cache_logger_on_first_use=True,
    )


def _announce(config: Config, password: str | None) -> None:
    host = "127.0.0.1" if config.bind in ("0.0.0.0", "::") else config.bind
    url = f"http://{host}:{config.http_port}"
    print(f"Centralino is running: {url}  (API docs: {url}/api/docs)", flush=True)
    sip = f"{config.advertised_sip_host}:{config.sip_port}"
    print(f"SIP: sip:{sip} (UDP and TCP, bound to {config.bind})", flush=True)
    if password is not None:
        print(f"Log in as 'admin' with the one-time password: {password}", flush=True)
        print("Change it with: centralino admin password", flush=True)
    else:
        print("Log in as 'admin' (password unchanged since first start).", flush=True)


class _HttpServer(uvicorn.Server):
    """uvicorn's server whose stop signal (SIGINT, SIGTERM) ends it cleanly.

    uvicorn raises the signal again once it has shut down, which kills the
    process (or interrupts it) before the runtime closes the database; here a
    requested stop returns normally, the runtime closes, and the exit code is 0.
    """

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


async def run_server(config: Config) -> None:
    """Run every server of the PBX until cancelled."""
    async with open_runtime(config) as runtime:
        given = config.admin_password.get_secret_value() if config.admin_password else None
        password = await runtime.services.accounts.ensure_owner(given)
        await runtime.services.accounts.prepare()  # the first login costs like the others
        _tune_garbage_collector()
        follower = build_follower(runtime)
        await follower.prepare()  # before the caches load: nothing is missed
        telephony = build_telephony(runtime)
        notifier = build_notifier(runtime)
        await telephony.start()
        await follower.start()
        publisher = build_node_publisher(runtime, telephony)
        await publisher.start(runtime.events)
        blocks = build_block_publisher(runtime, telephony)
        await blocks.start()
        _freeze_garbage_collector()
        runtime.events.subscribe(_FreezeAfterBursts())
        try:
            services = runtime.services.with_engine(
                telephony.live_view(),
                telephony.live_calls(),
                node=config.node_name,
                trunks=telephony.trunks,
            )
            api = create_api(services)
            api.state.sip_counters = telephony.sip.stats  # GET /api/v1/health shows them
            server = _HttpServer(
                uvicorn.Config(
                    api,
                    host=config.bind,
                    port=config.http_port,
                    log_level=config.log_level,
                    lifespan="on",
                )
            )
            _announce(config, None if given else password)
            await server.serve()
        finally:
            await blocks.stop()
            await publisher.stop()
            await follower.stop()
            await telephony.stop()
            await notifier.close()


def serve(config: Config) -> None:
    """Run the PBX in the foreground (uvloop when available).

    Every file it writes is the owner's alone (umask 077).
    """
    os.umask(0o077)
    _configure_logging()
    try:
        import uvloop
    except ImportError:
        asyncio.run(run_server(config))
    else:
        uvloop.run(run_server(config))
