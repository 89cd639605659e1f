"""Helpers of the benches that drive ``centralino serve`` from outside.

- :class:`ServeProcess`: one ``centralino serve`` on a data directory, free
  ports (HTTP, SIP, a small RTP range), pinned to a core with ``taskset``,
  its output in a log file; started and stopped by its PID.
- :func:`rss_kb`, :func:`cpu_seconds`: a process's resident memory and CPU
  time from ``/proc``.
- :class:`Postgres`: a throw-away PostgreSQL 15 cluster (the recipe of
  ``/work/shared/PEERS.md``: ``initdb`` and ``pg_ctl`` as the ``postgres``
  user on a temporary directory, fsync off), stopped at the end.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = [
    "ADMIN_PASSWORD",
    "Postgres",
    "ServeProcess",
    "cpu_seconds",
    "free_port",
    "free_range",
    "pin_to",
    "rss_kb",
]

SCRIPT = Path(sys.executable).with_name("centralino")
ADMIN_PASSWORD = "bench-admin-password-0123"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP right now."""
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


def free_range(size: int) -> int:
    """The first of ``size`` consecutive UDP ports free right now (even)."""
    for _ in range(100):
        base = random.randrange(20000, 60000 - size, 2)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
        return base
    raise RuntimeError("no free port range")


def pin_to(core: int) -> None:
    """Pin this process to ``core`` (when the machine has it)."""
    if core < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {core})


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in KiB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (every thread) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class ServeProcess:
    """``centralino serve`` on ``data_dir`` with free ports, pinned to ``core``.

    Args:
        data_dir: its data directory (created).
        core: the CPU it runs on (``taskset``), or None.
        environment: more ``CENTRALINO_*`` variables (database URL, poll interval...).
    """

    def __init__(
        self, data_dir: Path, *, core: int | None = 0, environment: Mapping[str, str] = {}
    ) -> None:
        self.data_dir = data_dir
        self.http_port, self.sip_port = free_port(), free_port()
        self.rtp_base = free_range(40)
        self.core = core
        self.environment = dict(environment)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"serve-{self.http_port}.log"
        self.url = f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def sip(self) -> tuple[str, int]:
        return ("127.0.0.1", self.sip_port)

    def start(self) -> float:
        """Spawn the process; return the monotonic time it was spawned."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        variables = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
        variables |= {
            "CENTRALINO_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CENTRALINO_NODE_NAME": "bench",
            "CENTRALINO_RTP_PORT_MIN": str(self.rtp_base),
            "CENTRALINO_RTP_PORT_MAX": str(self.rtp_base + 39),
            **self.environment,
        }
        command = [str(SCRIPT), "serve", "--data-dir", str(self.data_dir), "--bind", "127.0.0.1"]
        command += ["--http-port", str(self.http_port), "--sip-port", str(self.sip_port)]
        if self.core is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(self.core), *command]
        with self.log.open("a") as output:
            spawned = time.monotonic()
            self.process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=variables,
            )  # fmt: skip
        return spawned

    def wait_healthy(self, timeout: float = 60.0) -> float:
        """Wait for ``/api/v1/health``; return the monotonic time it first answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise TimeoutError("serve did not become healthy")

    def client(self) -> httpx.Client:
        """An API client logged in as the owner."""
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        token = httpx.post(f"{self.url}/api/v1/auth/token", data=login, timeout=10)
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def stop(self, timeout: float = 30.0) -> float:
        """Stop it (SIGINT, then SIGKILL after ``timeout``); return the seconds it took."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        begin = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - begin


class Postgres:
    """A throw-away PostgreSQL 15 cluster on 127.0.0.1 (fsync off)."""

    def __init__(self) -> None:
        # A short path: the Unix socket's name must fit in 107 bytes.
        self.directory = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.port = free_port()

    def _as_postgres(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, user="postgres", group="postgres")
        data = self.directory / "db"
        initdb = [str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres"]
        initdb += ["--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]
        subprocess.run(self._as_postgres(*initdb), check=True, capture_output=True)
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        pg_ctl = [str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-o", options]
        pg_ctl += ["-l", str(self.directory / "log"), "-w", "start"]
        subprocess.run(self._as_postgres(*pg_ctl), check=True, capture_output=True)

    def create_database(self) -> str:
        """A new empty database; its asyncpg URL."""
        name = f"bench_{uuid.uuid4().hex[:12]}"
        psql = [str(POSTGRES_BIN / "psql"), "-X", "-q", "-h", str(self.directory)]
        psql += ["-p", str(self.port), "-U", "postgres", "-d", "postgres"]
        subprocess.run([*psql, "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        data = self.directory / "db"
        if (data / "postmaster.pid").exists():
            pg_ctl = [str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
            subprocess.run(self._as_postgres(*pg_ctl), capture_output=True)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def postgres() -> Iterator[Postgres]:
    """A started cluster, stopped and removed at the end."""
    cluster = Postgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
