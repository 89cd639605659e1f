"""REGISTER-with-digest throughput: Centralino vs Kamailio vs a bare uvloop echo.

Theory of operation. One run measures three servers with the same SIPp
(pinned to core 0, ``-buff_size 4194304``, bounded by ``-m`` and
``-timeout``), each server pinned to core 1 with ``taskset`` (both
``--sipp-core`` / ``--server-core``; issue 3's runs had them the other way):

1. Centralino: ``centralino serve`` on a fresh SQLite data directory seeded
   with ``--users`` extensions; SIPp registers them in turn from an ``-inf``
   CSV (``[authentication username=[field0] password=[field1]]``): REGISTER,
   401, REGISTER with credentials, 200 = one call.
2. Kamailio 5.6 as a plain registrar (usrloc ``db_mode=0``, ``auth`` with the
   users in an ``htable``), configured from ``bench/kamailio/``.
3. A bare uvloop UDP server answering each OPTIONS with a 200 built by
   copying five header lines: the most any Python SIP server could do.

Each reports the achieved rate (successful calls per second of SIPp's
elapsed time), the failure percentage, and the server's CPU time during the
run (user + system of all its processes and threads, from ``/proc``): calls
per CPU second is what the server would do on a core of its own, a figure
that other work sharing the core does not bend. Ratios are printed at the end.

    .venv/bin/python bench/sip_register.py --rate 2000 --count 20000
    .venv/bin/python bench/sip_register.py echo-server 5099   # (internal)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER_CORE = 1
"""The core every server under test is pinned to (``--server-core``)."""
SIPP_CORE = 0
"""The core SIPp is pinned to (``--sipp-core``)."""
ROOT = HERE.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
CENTRALINO = ROOT / ".venv" / "bin" / "centralino"
PASSWORD = "Bench-password-{index:05d}"


@dataclass(frozen=True)
class Result:
    """One SIPp run against one server."""

    name: str
    target: int
    successful: int
    failed: int
    elapsed: float
    cpu: float = 0.0
    """CPU seconds the server (all its processes and threads) spent during the run."""

    @property
    def per_cpu_second(self) -> float:
        """Successful calls per second of server CPU: the rate of a core of its own."""
        return self.successful / self.cpu if self.cpu else 0.0

    @property
    def rate(self) -> float:
        """Successful calls per second."""
        return self.successful / self.elapsed if self.elapsed else 0.0

    @property
    def failure_percent(self) -> float:
        """Failed calls over all calls, in percent."""
        total = self.successful + self.failed
        return 100.0 * self.failed / total if total else 100.0


def free_port() -> int:
    """A UDP port free on 127.0.0.1 now (TCP too, as serve binds both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
        with socket.socket() as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def pinned(core: int, command: list[str]) -> list[str]:
    """``command`` pinned to one core when taskset exists."""
    return ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command


def users(count: int) -> list[tuple[str, str, str]]:
    """(auth ID, password, number) of every bench extension."""
    return [(f"bench{i:05d}", PASSWORD.format(index=i), str(10000 + i)) for i in range(count)]


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """The SIPp injection file: SEQUENTIAL, then user;password;number."""
    with path.open("w") as handle:
        handle.write("SEQUENTIAL\n")
        handle.writelines(f"{user};{password};{number}\n" for user, password, number in rows)


async def seed_centralino(data_dir: Path, rows: list[tuple[str, str, str]]) -> None:
    """Create the bench extensions in a fresh SQLite database."""
    sys.path.insert(0, str(ROOT / "src"))
    from centralino.domain.extension import Extension
    from centralino.storage import Database, SqlUnitOfWorkFactory, sqlite_url

    database = Database(sqlite_url(data_dir))
    await database.migrate()
    extensions = [
        Extension.model_validate(
            {"number": number, "auth_id": user, "auth_password": password,
             "voicemail": {"pin": "135790"}}
        )
        for user, password, number in rows
    ]  # fmt: skip
    async with SqlUnitOfWorkFactory(database)() as uow:
        await uow.extensions.add_many(extensions)
        await uow.commit()
    await database.dispose()


def wait_for_sip(port: int, seconds: float = 30.0) -> None:
    """Poll with OPTIONS until the server answers."""
    probe = (
        f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{};rport\r\n"
        "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: {}@probe\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            sock.sendto(probe.format(attempt, attempt).encode(), ("127.0.0.1", port))
            with contextlib.suppress(OSError):
                if sock.recv(4096).startswith(b"SIP/2.0 200"):
                    return
    raise RuntimeError(f"no SIP server answered on port {port}")


def run_sipp(name: str, port: int, scenario: str, rate: int, count: int, work: Path,
             inf: Path | None = None) -> Result:  # fmt: skip
    """One bounded SIPp load run; its final statistics.

    ``-nd``: a call that fails (an unexpected 503 from a server shedding
    load) just ends; SIPp's default would send a BYE, which a server then
    has to parse and answer 481 (a refused REGISTER cost a whole BYE).
    """
    stats = work / f"{name}.csv"
    seconds = max(30, 3 * count // max(rate, 1))
    command = [
        "sipp", f"127.0.0.1:{port}", "-sf", str(HERE / "scenarios" / scenario),
        "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(rate), "-m", str(count),
        "-l", str(max(rate * 2, 100)), "-buff_size", "4194304", "-timeout", f"{seconds}s",
        "-trace_stat", "-stf", str(stats), "-fd", "1", "-nostdin", "-bg", "-nd",
    ]  # fmt: skip
    if inf is not None:
        command += ["-inf", str(inf)]
    command = [arg for arg in command if arg != "-bg"]
    subprocess.run(pinned(SIPP_CORE, command), cwd=work, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=seconds + 30, check=False)  # fmt: skip
    return parse_stats(name, rate, stats, count)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid``, its threads and its live descendants, in seconds."""
    total = 0.0
    pending = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(child) for child in children]
    return total


def parse_stats(name: str, rate: int, path: Path, count: int | None = None) -> Result:
    """A SIPp ``-trace_stat`` file: successful and failed calls, elapsed time.

    Elapsed time runs from SIPp's start to the period in which the last call
    succeeded, from CurrentTime - StartTime (microseconds; ElapsedTime(C) has
    whole seconds only, which misstated short runs by up to 10%), so a call
    lost and left to ``-timeout`` does not stretch the run. Every call of
    ``count`` that did not succeed (failed, or unfinished at the timeout)
    counts as failed.
    """
    with path.open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    successful = int(rows[-1]["SuccessfulCall(C)"])
    done = next(row for row in rows if int(row["SuccessfulCall(C)"]) == successful)
    elapsed = _epoch(done["CurrentTime"]) - _epoch(done["StartTime"])
    failed = int(rows[-1]["FailedCall(C)"])
    if count is not None:
        failed = max(failed, count - successful)
    return Result(name, rate, successful, failed, elapsed)


def _epoch(stamp: str) -> float:
    """SIPp writes times as ``date<TAB>time<TAB>epoch.micros``."""
    return float(stamp.split("\t")[-1])


@contextlib.contextmanager
def process(command: list[str], log: Path):  # type: ignore[no-untyped-def]
    """A server subprocess, stopped by its PID at the end."""
    with log.open("w") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)  # fmt: skip
        try:
            yield child
        finally:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def bench_centralino(args: argparse.Namespace, work: Path, inf: Path) -> Result:
    """Centralino's ``serve``, pinned to core 0."""
    data = work / "centralino"
    data.mkdir()
    asyncio.run(seed_centralino(data, users(args.users)))
    port, http = free_port(), free_port()
    command = [str(CENTRALINO), "serve", "--data-dir", str(data), "--sip-port", str(port),
               "--http-port", str(http), "--bind", "127.0.0.1"]  # fmt: skip
    env_log = work / "centralino.log"
    os.environ["CENTRALINO_ADMIN_PASSWORD"] = "bench-admin-password"
    with process(pinned(SERVER_CORE, command), env_log) as server:
        wait_for_sip(port)
        before = cpu_seconds(server.pid)
        result = run_sipp(
            "centralino", port, "register_digest.xml", args.rate, args.count, work, inf
        )
        return dataclasses.replace(result, cpu=cpu_seconds(server.pid) - before)


def kamailio_command(
    template_name: str,
    port: int,
    rows: list[tuple[str, str, str]],
    children: int,
    work: Path,
) -> list[str]:
    """Write ``work/kamailio.cfg`` from a template (port, digest users, children); its command."""
    lines = "\n".join(f'    $sht(users=>{u}) = "{p}";' for u, p, _ in rows)
    template = (HERE / "kamailio" / template_name).read_text()
    config = work / "kamailio.cfg"
    config.write_text(
        template.replace("@PORT@", str(port))
        .replace("@USERS@", lines)
        .replace("@CHILDREN@", str(children))
    )
    return ["kamailio", "-f", str(config), "-DD", "-E", "-m", "256", "-M", "32",
            "-Y", str(work), "-P", str(work / "kamailio.pid")]  # fmt: skip


def bench_kamailio(args: argparse.Namespace, work: Path, inf: Path) -> Result:
    """Kamailio as a registrar with htable digest auth, pinned to core 0."""
    port = free_port()
    command = kamailio_command(
        "registrar.cfg.template", port, users(args.users), args.kamailio_children, work
    )
    with process(pinned(SERVER_CORE, command), work / "kamailio.log") as server:
        wait_for_sip(port)
        rate = args.kamailio_rate
        before = cpu_seconds(server.pid)
        result = run_sipp("kamailio", port, "register_digest.xml", rate, rate * 10, work, inf)
        return dataclasses.replace(result, cpu=cpu_seconds(server.pid) - before)


def bench_echo(args: argparse.Namespace, work: Path) -> Result:
    """The bare uvloop echo answering OPTIONS, pinned to core 0."""
    port = free_port()
    command = [str(PYTHON), str(Path(__file__).resolve()), "echo-server", str(port)]
    with process(pinned(SERVER_CORE, command), work / "echo.log") as server:
        wait_for_sip(port)
        rate = args.echo_rate
        before = cpu_seconds(server.pid)
        result = run_sipp("echo", port, "options.xml", rate, rate * 10, work)
        return dataclasses.replace(result, cpu=cpu_seconds(server.pid) - before)


class EchoProtocol(asyncio.DatagramProtocol):
    """Answers every request with 200, copying Via, From, To, Call-ID, CSeq."""

    _COPIED = (b"via:", b"from:", b"to:", b"call-id:", b"cseq:")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        copied = [line for line in head[1:] if line.lower().startswith(self._COPIED)]
        self.transport.sendto(
            b"SIP/2.0 200 OK\r\n" + b"\r\n".join(copied) + b"\r\nContent-Length: 0\r\n\r\n", addr
        )


async def echo_server(port: int) -> None:
    """Run the echo until interrupted."""
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(EchoProtocol, local_addr=("127.0.0.1", port))
    await asyncio.Event().wait()


def work_directory(stack: contextlib.ExitStack, keep: Path | None, prefix: str) -> Path:
    """A temporary work directory, or ``keep`` (created, kept) when given."""
    if keep is None:
        return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    keep.mkdir(parents=True)
    return keep.resolve()


def report(results: list[Result], rate_label: str = "achieved/s") -> None:
    """Print each result and the ratio of every other server to Centralino."""
    print(f"{'server':<12}{'target/s':>10}{rate_label:>12}{'ok':>9}{'failed':>8}{'fail %':>9}"
          f"{'cpu s':>8}{'per cpu-s':>11}")  # fmt: skip
    for r in results:
        print(f"{r.name:<12}{r.target:>10}{r.rate:>12.0f}{r.successful:>9}{r.failed:>8}"
              f"{r.failure_percent:>9.3f}{r.cpu:>8.1f}{r.per_cpu_second:>11.0f}")  # fmt: skip
    by_name = {r.name: r for r in results}
    if "centralino" in by_name:
        base = by_name["centralino"].rate or 1.0
        for other in sorted(by_name.keys() - {"centralino"}):
            print(f"{other} / centralino = {by_name[other].rate / base:.2f}")
        cpu_base = by_name["centralino"].per_cpu_second or 1.0
        for other in sorted(by_name.keys() - {"centralino"}):
            ratio = by_name[other].per_cpu_second / cpu_base
            print(f"{other} / centralino per CPU second = {ratio:.2f}")


def main() -> None:
    """Parse arguments and run the selected benchmarks."""
    if len(sys.argv) == 3 and sys.argv[1] == "echo-server":
        import uvloop

        uvloop.run(echo_server(int(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=2000, help="Centralino target calls/s")
    parser.add_argument("--count", type=int, default=20000, help="Centralino calls")
    parser.add_argument("--kamailio-rate", type=int, default=8000)
    parser.add_argument("--kamailio-children", type=int, default=2)
    parser.add_argument("--echo-rate", type=int, default=15000)
    parser.add_argument("--only", choices=["centralino", "kamailio", "echo"], action="append")
    parser.add_argument("--keep", type=Path, help="work in this (new) directory and keep it")
    parser.add_argument("--server-core", type=int, default=1, help="core of the server under test")
    parser.add_argument("--sipp-core", type=int, default=0, help="core of SIPp")
    args = parser.parse_args()
    global SERVER_CORE, SIPP_CORE  # set once from the command line
    SERVER_CORE, SIPP_CORE = args.server_core, args.sipp_core
    chosen = args.only or ["centralino", "kamailio", "echo"]
    with contextlib.ExitStack() as stack:
        work = work_directory(stack, args.keep, "bench-sip-")
        inf = work / "users.csv"
        write_csv(inf, users(args.users))
        results = []
        if "centralino" in chosen:
            results.append(bench_centralino(args, work, inf))
        if "kamailio" in chosen:
            results.append(bench_kamailio(args, work, inf))
        if "echo" in chosen:
            results.append(bench_echo(args, work))
        report(results)


if __name__ == "__main__":
    main()
