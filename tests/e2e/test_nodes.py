"""Two ``centralino serve`` nodes on one PostgreSQL: every node lists every node's state.

Node A starts first (it creates the owner and, through its API, extensions
101 and 102); node B starts on the same database with its own ports and data
directory. SIPp registers 102 on node B, then answers a call that SIPp as
101 places through node B: node A's API lists the registration and, while
the call is up, the call, each with node "B". When B stops, A lists B as not
alive and no longer lists its registration.

Every process is bounded (SIPp ``-m 1 -timeout``; subprocess waits) and
stopped by its own PID.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PostgresServer
from tests.e2e.serve_support import eventually
from tests.e2e.test_serve import Server, _client, serving
from tests.interop.calls_support import SCENARIOS, free_port
from tests.telephony.calls_support import PASSWORD as SIP_PASSWORD

pytestmark = [
    pytest.mark.interop,
    pytest.mark.postgres,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]

ADMIN_PASSWORD = "two-nodes-admin-password"


def _sipp(scenario: str, port: int, pbx: Server, *args: str) -> list[str]:
    return [
        "sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port()), "-m", "1", "-timeout", "20s", "-timeout_error",
        "-nostdin", *args, f"127.0.0.1:{pbx.sip_port}",
    ]  # fmt: skip


class Processes:
    """SIPp runs of one test, each killed by its own PID if still running at the end."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.running: list[subprocess.Popen[str]] = []

    def start(self, command: list[str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            command,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.running.append(process)
        return process

    @staticmethod
    def finish(process: subprocess.Popen[str], within: float = 30) -> None:
        output, _ = process.communicate(timeout=within)
        assert process.returncode == 0, f"exit {process.returncode}:\n{output[-3000:]}"

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)


def _listed(api: httpx.Client, path: str) -> list[dict[str, Any]]:
    response = api.get(path)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def _node(stack: ExitStack, tmp_path: Path, name: str, database_url: str) -> Server:
    options = ["--node-name", name, "--database-url", database_url]
    rtp = {"A": ("30000", "30999"), "B": ("31000", "31999")}[name]
    environment = {"CENTRALINO_RTP_PORT_MIN": rtp[0], "CENTRALINO_RTP_PORT_MAX": rtp[1]}
    return stack.enter_context(
        serving(tmp_path / name, ADMIN_PASSWORD, options=options, environment=environment)
    )


def test_two_nodes_list_each_others_registrations_and_calls(
    tmp_path: Path, postgres_server: PostgresServer, processes: Processes
) -> None:
    database_url = postgres_server.url(postgres_server.create_database())
    with ExitStack() as nodes:
        a = _node(nodes, tmp_path, "A", database_url)
        with _client(a.url, ADMIN_PASSWORD) as api_a:
            for number in ("101", "102"):
                extension = {"number": number, "auth_id": f"user{number}"}
                created = api_a.post(
                    "/api/v1/extensions", json=extension | {"auth_password": SIP_PASSWORD}
                )
                assert created.status_code == 201, created.text
            with ExitStack() as second:
                b = _node(second, tmp_path, "B", database_url)
                with _client(b.url, ADMIN_PASSWORD) as api_b:
                    _registration_and_call_through_b(api_a, api_b, b, processes)
            # B stopped: A lists it as not alive and leaves its registration out.
            stopped = {n["name"]: n for n in _listed(api_a, "/api/v1/nodes")}
            assert stopped["B"]["alive"] is False
            assert stopped["B"]["stopped_at"] is not None
            assert _listed(api_a, "/api/v1/registrations") == []


def _registration_and_call_through_b(
    api_a: httpx.Client, api_b: httpx.Client, b: Server, processes: Processes
) -> None:
    nodes = {n["name"]: n for n in _listed(api_a, "/api/v1/nodes")}
    assert (nodes["A"]["alive"], nodes["B"]["alive"]) == (True, True)
    assert nodes["B"]["sip_address"] == f"127.0.0.1:{b.sip_port}"

    phone = free_port()
    register = processes.start(
        _sipp("call_register.xml", phone, b, "-s", "102", "-au", "user102", "-ap", SIP_PASSWORD)
    )
    processes.finish(register)
    [registration] = eventually(
        lambda: _listed(api_a, "/api/v1/registrations"), "102's registration on node A", within=10
    )
    assert (registration["number"], registration["node"]) == ("102", "B")
    assert registration["contact"] == f"sip:102@127.0.0.1:{phone}"

    callee = processes.start(_sipp("call_uas_answer.xml", phone, b, "-s", "102"))
    caller = processes.start(
        _sipp("call_uac_long.xml", free_port(), b, "-s", "102", "-set", "caller", "101",
              "-au", "user101", "-ap", SIP_PASSWORD)
    )  # fmt: skip
    [call] = eventually(
        lambda: [c for c in _listed(api_a, "/api/v1/calls") if c["state"] == "answered"],
        "the answered call on node A",
        within=10,
    )
    assert (call["caller"], call["callee"], call["node"]) == ("101", "102", "B")
    [on_b] = _listed(api_b, "/api/v1/calls")  # node B: from its own engine
    assert (on_b["id"], on_b["node"]) == (call["id"], "B")

    processes.finish(caller)
    processes.finish(callee)
    eventually(lambda: _listed(api_a, "/api/v1/calls") == [], "the call's end on node A", within=10)
