"""A PBX with trunks, a provider, the outside world and phones, for trunk call tests.

Theory of operation. :func:`trunk_pbx` starts the real call engine
(``centralino.app.build_engine`` through ``tests.telephony.calls_support``)
on a free loopback port, over an in-memory store seeded with extensions,
trunks, outbound rules and settings, media anchored, with the PBX's
applications (the refusal prompts, the ``777`` PIN unlock) over in-memory
mailboxes. It keeps every ``CallStateChanged`` and ``CallRecordCreated`` the
engine publishes; :meth:`TrunkPbx.stored_records` reads the records the
engine's call-record writer stored, through the repository
(``uow.call_records``), as the API does. When a test's body ends without an
error, every trunk's count of calls in progress must be back to 0 (a call
counted and never counted out would hold the trunk's ``max_calls``).

The provider is Kamailio (:mod:`tests.interop.provider_support`); the outside
world is SIPp (:class:`Outside`: a callee answering behind the provider, or a
caller dialling a DID through it); the extensions' phones are baresip
(:mod:`tests.interop.baresip_support`) or SIPp dialling with digest.

Audio is checked as the other call tests do: the outside world plays a pcap
of one tone (:func:`write_tone_pcap`), and a phone's recording of what it
received must carry that tone (Goertzel, :func:`assert_tone`); the other
way, SIPp echoes what it gets (``-rtp_echo``), so a phone hears its own tone
only if it went out through the trunk and came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import socket
import struct
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from centralino.domain.bus import LocalEventBus
from centralino.domain.call_records import CallRecord, CallRecordQuery
from centralino.domain.calls import CallState
from centralino.domain.events import CallRecordCreated, CallStateChanged, DomainEvent
from centralino.domain.extension import Extension
from centralino.domain.settings import SystemSettings
from centralino.domain.trunks import OutboundRule, Trunk, TrunkRegistration
from centralino.telephony.apps.launcher import VoicemailApplications
from centralino.telephony.engine import Telephony
from tests.fakes import FakeClock, InMemoryStore
from tests.interop.baresip_support import BaresipPhone, goertzel_power, make_phone, read_samples
from tests.interop.calls_support import SCENARIOS, Processes, free_port
from tests.interop.pcap_support import RtpStream
from tests.interop.provider_support import (
    ProviderAccount,
    ProviderOptions,
    ProviderRig,
    outside_uas_command,
    provider_rig,
)
from tests.telephony.apps.fakes import InMemoryMailboxes
from tests.telephony.calls_support import PASSWORD, start_calls

__all__ = [
    "ACCOUNT",
    "DID",
    "OUTSIDE_CALLER",
    "OUTSIDE_NUMBER",
    "OUTSIDE_TONE",
    "PHONE_TONE",
    "SUNDAY_NIGHT",
    "UNOWNED_DID",
    "Peers",
    "TrunkPbx",
    "assert_tone",
    "call_out",
    "everybody",
    "extension_call",
    "free_rtp_range",
    "log_lines",
    "outside_command",
    "outside_options",
    "peers",
    "provider_pbx",
    "start_phone",
    "trunk_pbx",
    "trunk_to",
    "until",
    "write_tone_pcap",
]

PHONE_TONE = 1000.0
"""What the extensions' baresip phones say (their WAV microphone)."""
OUTSIDE_TONE = 2000.0
"""What the outside world says (SIPp's pcap)."""

WEDNESDAY_MORNING = dt.datetime(2026, 12, 9, 9, 0, tzinfo=dt.UTC)
"""The engine's wall clock by default: inside the default office hours (10:00 in Rome)."""
SUNDAY_NIGHT = dt.datetime(2026, 12, 13, 3, 0, tzinfo=dt.UTC)
"""Outside the default office hours."""

DID = "+390212345"
"""The DID extension 101 owns in most tests."""
UNOWNED_DID = "+390212399"
"""A DID of the trunk no extension owns."""
OUTSIDE_CALLER = "+393351234567"
OUTSIDE_NUMBER = "+390698765432"
"""An outside number the extensions dial (``0698765432`` in the trunk's national format)."""
ACCOUNT = ProviderAccount(
    username="39021234", password="trunk-secret", auth_user="acct-1", dids=(DID, UNOWNED_DID)
)
"""The trunk account at the provider."""


def everybody(*trunks: str, **changes: object) -> OutboundRule:
    """A rule taking every number out through ``trunks`` in turn."""
    return OutboundRule.model_validate({"name": "all", "trunks": list(trunks), **changes})


def extension_call(
    pbx: TrunkPbx,
    work: Path,
    scenario: str,
    *,
    caller: str,
    number: str,
    name: str = "extension",
    extra: Sequence[str] = (),
    timeout: float = 40.0,
) -> list[str]:
    """SIPp as extension ``caller`` (digest: ``user<caller>``) dialling ``number`` via the PBX.

    ``scenario`` is a file of ``tests/interop/scenarios`` taking ``caller``;
    run the command in ``work`` (its ``rtp.pcap``, ``<name>.msg`` and
    ``<name>.log`` are there).
    """
    return [
        "sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(free_port()),
        "-mi", "127.0.0.1", "-mp", str(free_rtp_range(4)), "-m", "1",
        "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
        "-trace_msg", "-message_file", str(work / f"{name}.msg"),
        "-trace_logs", "-log_file", str(work / f"{name}.log"),
        "-s", number, "-set", "caller", caller, "-au", f"user{caller}", "-ap", PASSWORD,
        *extra, f"127.0.0.1:{pbx.port}",
    ]  # fmt: skip


def trunk_to(rig: ProviderRig, name: str = "provider", **changes: object) -> Trunk:
    """A trunk registering to ``rig``'s account, its DIDs, Italian national format."""
    account = rig.account
    values: dict[str, object] = {
        "name": name,
        "host": "127.0.0.1",
        "port": rig.port,
        "registration": TrunkRegistration(
            enabled=True,
            username=account.username,
            auth_user=account.auth_user,
            password=account.password,
            expires=300,
        ),
        "dids": list(account.dids),
        "number_format": "national",
        "country_code": "39",
        "national_prefix": "",
        "caller_id": "+3902999000",
    }
    values.update(changes)
    return Trunk.model_validate(values)


def outside_command(
    scenario: str,
    work: Path,
    *,
    name: str,
    port: int | None = None,
    remote: tuple[str, int] | None = None,
    service: str | None = None,
    variables: dict[str, str] | None = None,
    timeout: float = 40.0,
    host: str = "127.0.0.1",
) -> list[str]:
    """SIPp as the outside world running ``scenario`` (a file of tests/interop/scenarios).

    It listens on ``host``:``port`` (a free port when None) and, as a caller, sends to
    ``remote`` dialling ``service``; ``variables`` go in with ``-set``. Run it
    in ``work``: its ``rtp.pcap``, ``<name>.msg`` and ``<name>.log`` are there.
    """
    command = [
        "sipp", "-sf", str(SCENARIOS / scenario), "-i", host,
        "-p", str(port or free_port()), "-m", "1",
        "-mi", host, "-mp", str(free_rtp_range(4)),
        "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
        "-trace_msg", "-message_file", str(work / f"{name}.msg"),
        "-trace_logs", "-log_file", str(work / f"{name}.log"),
    ]  # fmt: skip
    for key, value in (variables or {}).items():
        command += ["-set", key, value]
    if service is not None:
        command += ["-s", service]
    if remote is not None:
        command.append(f"{remote[0]}:{remote[1]}")
    return command


def log_lines(work: Path, name: str, marker: str) -> list[str]:
    """The lines of SIPp's ``<name>.log`` in ``work`` that start with ``marker``."""
    path = work / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return [line.strip() for line in text.splitlines() if line.strip().startswith(marker)]


@dataclass
class TrunkPbx:
    """The running engine, its store, and what it published."""

    telephony: Telephony
    store: InMemoryStore
    clock: FakeClock
    mailboxes: InMemoryMailboxes
    states: list[CallStateChanged] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)

    def record(self, event: DomainEvent) -> None:
        if isinstance(event, CallStateChanged):
            self.states.append(event)
        elif isinstance(event, CallRecordCreated):
            self.records.append(event.record)

    @property
    def port(self) -> int:
        return self.telephony.port()

    def registered(self, *numbers: str) -> bool:
        """Whether every extension of ``numbers`` has a live binding."""
        return all(self.telephony.registrar.contacts(number) for number in numbers)

    def answered(self) -> bool:
        return any(event.state is CallState.ANSWERED for event in self.states)

    async def wait_records(self, count: int, within: float = 10.0) -> list[CallRecord]:
        """The records published so far, once there are ``count`` of them."""
        await until(lambda: len(self.records) >= count, within, f"{count} call records")
        return list(self.records)

    def trunk_calls(self, name: str) -> int:
        """The calls the engine counts on trunk ``name`` now (its ``max_calls`` is held to it)."""
        trunks = self.telephony.trunks
        status = trunks.status(name) if trunks is not None else None
        assert status is not None, name
        return status.calls_in_progress

    async def assert_trunks_idle(self, within: float = 3.0) -> None:
        """Every trunk's count of calls is back to 0 (no call left counted)."""
        names = [trunk.name for trunk in self.store.state.trunks.values()]
        with contextlib.suppress(TimeoutError):
            await until(lambda: not any(self.trunk_calls(name) for name in names), within, "")
        counts = {name: self.trunk_calls(name) for name in names}
        assert not any(counts.values()), f"calls still counted on trunks: {counts}"

    async def stored_records(self, within: float = 5.0) -> list[CallRecord]:
        """The call records in the repository (the writer's work), oldest first.

        The writer stores in the background: this waits (up to ``within``
        seconds) until it holds as many as were published.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            async with self.store() as uow:
                query = CallRecordQuery(limit=200, descending=False)
                stored = list((await uow.call_records.search(query)).items)
            if len(stored) >= len(self.records) or loop.time() > deadline:
                return stored
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def trunk_pbx(
    *,
    extensions: Sequence[Extension],
    trunks: Sequence[Trunk] = (),
    rules: Sequence[OutboundRule] = (),
    settings: SystemSettings | None = None,
    now: dt.datetime = WEDNESDAY_MORNING,
) -> AsyncIterator[TrunkPbx]:
    """The engine on a free loopback port with these extensions, trunks and rules."""
    store = InMemoryStore()
    store.seed(extensions=extensions, settings=settings)
    store.state.trunks.update({trunk.name: trunk for trunk in trunks})
    store.state.outbound_rules.update({rule.name: rule for rule in rules})
    bus = LocalEventBus()
    clock = FakeClock(now)
    pbx: TrunkPbx | None = None
    unsubscribe: Callable[[], None] | None = None
    mailboxes = InMemoryMailboxes()
    applications = VoicemailApplications(mailboxes)
    telephony, _registry = await start_calls(
        store, clock, bus, media_anchoring=True, ring_timeout=30.0, applications=applications
    )
    try:
        pbx = TrunkPbx(telephony=telephony, store=store, clock=clock, mailboxes=mailboxes)
        unsubscribe = bus.subscribe(pbx.record)
        yield pbx
        await pbx.assert_trunks_idle()  # every call through a trunk was counted out
    finally:
        await telephony.stop()
        if unsubscribe is not None:
            unsubscribe()


@contextlib.asynccontextmanager
async def provider_pbx(
    root: Path,
    *,
    extensions: Sequence[Extension],
    rules: Sequence[OutboundRule] = (),
    options: ProviderOptions | None = None,
    account: ProviderAccount = ACCOUNT,
    trunk: Mapping[str, object] | None = None,
    now: dt.datetime = WEDNESDAY_MORNING,
) -> AsyncIterator[tuple[ProviderRig, TrunkPbx]]:
    """A provider in ``root/rig`` and the PBX registered to it by the trunk ``provider``.

    The trunk is :func:`trunk_to` the provider with the ``trunk`` changes;
    the PBX is :func:`trunk_pbx` with ``extensions``, the trunk, ``rules``.
    """
    with provider_rig(root / "rig", account, options) as rig:
        trunks = [trunk_to(rig, "provider", **(trunk or {}))]
        async with trunk_pbx(extensions=extensions, trunks=trunks, rules=rules, now=now) as pbx:
            await rig.wait_registered()
            yield rig, pbx


def outside_options(
    *, tcp: bool = False, challenge_invites: bool = False
) -> tuple[int, ProviderOptions]:
    """A free port for the outside world's callee, and the provider relaying calls out there."""
    port = free_port()
    outside = ("127.0.0.1", port)
    return port, ProviderOptions(tcp=tcp, challenge_invites=challenge_invites, outside=outside)


@dataclass
class Peers:
    """The peers' processes of one test: SIPp's (run in ``work``) and the baresip phones."""

    root: Path
    sipp: Processes
    baresip: Processes
    phones: list[BaresipPhone] = field(default_factory=list)

    async def phone(
        self, number: str, pbx: TrunkPbx, *, answer: str = "auto"
    ) -> tuple[BaresipPhone, asyncio.subprocess.Process]:
        """A registered baresip phone for ``number`` (:func:`start_phone`), quit at the end."""
        phone, process = await start_phone(self.baresip, self.root, number, pbx, answer=answer)
        self.phones.append(phone)
        return phone, process


@contextlib.asynccontextmanager
async def peers(root: Path, work: Path | None = None) -> AsyncIterator[Peers]:
    """:class:`Peers` under ``root`` (SIPp in ``work``, else ``root``), all ended on the way out.

    Every phone started is told to quit, then every process is stopped by its PID.
    """
    found = Peers(root=root, sipp=Processes(work or root), baresip=Processes(root))
    try:
        yield found
    finally:
        for phone in found.phones:
            with contextlib.suppress(OSError):
                await phone.command("quit")
        await found.baresip.stop_all()
        await found.sipp.stop_all()


async def call_out(
    run: Peers,
    pbx: TrunkPbx,
    work: Path,
    outside_port: int,
    *,
    caller: str = "101",
    number: str = OUTSIDE_NUMBER,
) -> CallRecord:
    """Extension ``caller`` (SIPp, digest) dials ``number``; SIPp answers at ``outside_port``.

    Both SIPp run to their end in ``work``; returns the call's record, the only one.
    """
    callee = await run.sipp.start(*outside_uas_command(outside_port, work))
    command = extension_call(pbx, work, "call_uac_bye.xml", caller=caller, number=number)
    await run.sipp.finish(await run.sipp.start(*command), 30)
    await run.sipp.finish(callee, 20)
    [record] = await pbx.wait_records(1)
    return record


async def start_phone(
    processes: Processes, root: Path, number: str, pbx: TrunkPbx, *, answer: str = "auto"
) -> tuple[BaresipPhone, asyncio.subprocess.Process]:
    """A baresip phone for ``number`` (saying :data:`PHONE_TONE`), registered, and its process.

    Its ports are picked free just before it starts; should another process
    take one first (baresip then exits, or never registers), it is started
    again on other ports, three times at most.
    """
    for attempt in range(3):
        phone = make_phone(root, number, PHONE_TONE, free_rtp_range(), answer)
        phone.configure(pbx.port, seconds=60)
        process = await processes.start("baresip", "-f", str(phone.root))

        def settled(process: asyncio.subprocess.Process = process) -> bool:
            return pbx.registered(number) or process.returncode is not None

        with contextlib.suppress(TimeoutError):
            await until(settled, 10, "")
        if pbx.registered(number) and process.returncode is None:
            return phone, process
        if attempt < 2:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    raise TimeoutError(f"{number} never registered")


def free_rtp_range(size: int = 10) -> int:
    """The first of ``size`` consecutive UDP ports free now (baresip's ``rtp_ports``)."""
    for _ in range(50):
        base = free_port() & ~1
        probes: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise RuntimeError("no free RTP port range")


def write_tone_pcap(directory: Path, frequency: float | None, seconds: float = 10.0) -> Path:
    """``directory/rtp.pcap``: PCMU of one tone (None: silence) for SIPp to play."""
    directory.mkdir(parents=True, exist_ok=True)
    amplitude = 0 if frequency is None else 12000
    tone = frequency or 0.0
    pcm = b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * tone * n / 8000)))
        for n in range(int(8000 * seconds))
    )
    stream = RtpStream()
    stream.audio(pcm)
    return stream.write(directory / "rtp.pcap")


def assert_tone(recording: Path, *, wanted: float, unwanted: float) -> None:
    """``recording`` carries ``wanted`` clearly, and ``unwanted`` hardly at all."""
    samples, rate = read_samples(recording)
    assert len(samples) > rate, recording  # more than a second of audio arrived
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    found = goertzel_power(middle, rate, wanted)
    stray = goertzel_power(middle, rate, unwanted)
    assert found > 1e6, (recording.name, found)
    assert found > 100 * max(stray, 1e-9), (recording.name, found, stray)


async def until(condition: Callable[[], object], within: float, what: str) -> None:
    """Wait until ``condition()`` is true (TimeoutError naming ``what`` after ``within`` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)
