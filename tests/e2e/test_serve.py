"""``centralino serve`` as a real process: first start, log in, restart.

The process is started as the README's quick start does, on a temporary data
directory and free ports; its stdout is read line by line for the login line.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.interop.voicemail_support import free_port_pair

SCRIPT = Path(sys.executable).with_name("centralino")
ONE_TIME = re.compile(r"Log in as 'admin' with the one-time password: (\S+)")
RUNNING = re.compile(r"Centralino is running: (http://\S+)")
STARTUP_SECONDS = 30.0


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    sip_port: int = 0
    lines: list[str] = field(default_factory=list)
    log: Path | None = None
    """The file that receives the process's stderr."""
    pending: queue.Queue[str | None] = field(default_factory=queue.Queue)
    """stdout lines read since the start-up ended (structlog writes there)."""

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def diagnostics(self) -> str:
        """Everything the process wrote so far (stdout, then stderr): for failure messages."""
        while not self.pending.empty():
            line = self.pending.get_nowait()
            if line is not None:
                self.lines.append(line)
        stderr = self.log.read_text(errors="replace") if self.log and self.log.exists() else ""
        return f"--- serve stdout ---\n{self.output}--- serve stderr ---\n{stderr}"

    def one_time_password(self) -> str | None:
        match = ONE_TIME.search(self.output)
        return match.group(1) if match else None


def _reader(stream: object, sink: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)
    sink.put(None)


def _wait_for_health(url: str, process: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve did not answer /api/v1/health in time")


def _stop(process: subprocess.Popen[str], stop: signal.Signals) -> int:
    if process.poll() is None:
        process.send_signal(stop)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=15)


@contextmanager
def serving(
    data_dir: Path,
    admin_password: str | None = None,
    stop: signal.Signals = signal.SIGINT,
    *,
    options: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``centralino serve`` until the block ends; stop it with ``stop``.

    ``options`` are added to the command line, ``environment`` to its
    environment (from which every other ``CENTRALINO_*`` variable is removed).
    A stop by signal is a clean shutdown: the process exits with 0.
    """
    http_port, sip_port = free_port_pair(), free_port_pair()
    variables = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    variables |= environment or {}
    if admin_password is not None:
        variables["CENTRALINO_ADMIN_PASSWORD"] = admin_password
    command = [str(SCRIPT), "serve", "--data-dir", str(data_dir), "--bind", "127.0.0.1"]
    command += ["--http-port", str(http_port), "--sip-port", str(sip_port), *options]
    log = data_dir.parent / f"serve-{http_port}.log"  # stderr, for failure reports
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=variables
        )
    try:
        url = f"http://127.0.0.1:{http_port}"
        server = Server(process=process, url=url, sip_port=sip_port, log=log)
        lines = server.pending
        threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not any(line.startswith("Log in as 'admin'") for line in server.lines):
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"serve ended early:\n{log.read_text()}"
            server.lines.append(line)
        _wait_for_health(server.url, process, deadline)
        yield server
        assert _stop(process, stop) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def _token(url: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/auth/token", data={"username": "admin", "password": password}, timeout=10
    )


def _client(url: str, password: str) -> httpx.Client:
    response = _token(url, password)
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return httpx.Client(base_url=url, headers=headers, timeout=10)


def test_first_start_prints_a_one_time_password_that_survives_a_restart(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as first:
        password = first.one_time_password()
        assert password is not None, first.output
        assert len(password) >= 16
        assert RUNNING.search(first.output).group(1) == first.url  # type: ignore[union-attr]
        with _client(first.url, password) as api:
            created = api.post("/api/v1/extensions", json={"number": "101", "first_name": "Ada"})
            assert created.status_code == 201, created.text
        assert _token(first.url, "not-the-password").status_code == 401

    with serving(data_dir) as second:
        assert second.one_time_password() is None
        assert "password unchanged since first start" in second.output
        assert password not in second.output
        with _client(second.url, password) as api:
            stored = api.get("/api/v1/extensions/101")
            assert stored.status_code == 200
            assert stored.json() == created.json()
            audit = api.get("/api/v1/audit").json()
            assert any(entry["resource_id"] == "101" for entry in audit["items"])


def test_a_given_admin_password_is_used_and_never_printed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    given = "a-password-from-the-environment"
    with serving(data_dir, admin_password=given, stop=signal.SIGTERM) as first:
        assert first.one_time_password() is None
        assert given not in first.output
        with _client(first.url, given) as api:
            created = api.post("/api/v1/extensions", json={"number": "102"})
            assert created.status_code == 201, created.text

    # A later start keeps the stored password, whatever the environment says.
    with serving(data_dir, admin_password="another-password-ignored") as second:
        assert second.one_time_password() is None
        assert _token(second.url, "another-password-ignored").status_code == 401
        with _client(second.url, given) as api:
            assert api.get("/api/v1/extensions/102").status_code == 200


def test_the_cli_password_change_works_through_the_api(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    new_password = "changed-from-the-shell"
    with serving(data_dir) as first:
        assert first.one_time_password() is not None
    changed = subprocess.run(
        [str(SCRIPT), "admin", "password", "--password", new_password, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert changed.returncode == 0, changed.stderr
    with serving(data_dir) as second:
        assert _token(second.url, new_password).status_code == 200


def test_a_weak_admin_password_is_refused_with_a_message(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    environment["CENTRALINO_ADMIN_PASSWORD"] = "weak"
    command = [str(SCRIPT), "serve", "--data-dir", str(tmp_path / "data")]
    command += ["--bind", "127.0.0.1", "--http-port", str(free_port_pair())]
    command += ["--sip-port", str(free_port_pair())]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
    assert completed.returncode == 2
    assert "password: must be at least" in completed.stderr
    assert "Traceback" not in completed.stderr
