"""Helpers for end-to-end tests on running ``centralino serve`` processes.

A :class:`Node` is one ``serve`` process (tests.e2e.test_serve.serving: its
own data directory, free HTTP and SIP ports, stopped by PID) with an API
client logged in as the owner, and the ``centralino`` CLI run as a separate
process on the same data directory and database URL, as an administrator's
shell would. Phones are the scripted UDP phones of the telephony tests
(tests.telephony.calls_support.SipPhone: auth ID ``user<number>``, password
``PASSWORD``).

Every wait is bounded; failure messages carry the serve process's output
(:meth:`Node.diagnostics`).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from centralino.sip.message import Response
from tests.e2e.test_serve import SCRIPT, Server, _client, serving
from tests.telephony.calls_support import PASSWORD, SipPhone

__all__ = [
    "ADMIN_PASSWORD",
    "Node",
    "eventually",
    "register_until",
    "start_node",
]

ADMIN_PASSWORD = "end-to-end-admin-password"
CLI_SECONDS = 60.0
"""The longest a CLI command may run (it starts in ~2 s: imports and migrations)."""

PROBLEM = re.compile(r"\[(warning|error|critical)\s*\]|Traceback")
"""A line of the serve process's log that a clean run never writes."""

T = TypeVar("T")


@dataclass
class Node:
    """A running ``centralino serve``, its API and its CLI."""

    name: str
    server: Server
    data_dir: Path
    database_url: str | None
    api: httpx.Client

    @property
    def sip_port(self) -> int:
        return self.server.sip_port

    def diagnostics(self) -> str:
        """What the serve process wrote so far, for failure messages."""
        return f"node {self.name}:\n{self.server.diagnostics()}"

    def problems(self) -> list[str]:
        """The warnings, errors and tracebacks the serve process logged so far."""
        self.server.diagnostics()  # reads what the process wrote since
        return [line for line in self.server.lines if PROBLEM.search(line)]

    def centralino(self, *arguments: str) -> tuple[str, float]:
        """Run ``centralino ARGUMENTS`` in a new process on this node's data.

        Returns:
            Its stdout and the ``time.monotonic()`` of its exit (the change is
            committed by then: a deadline for the running server starts there).
        """
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
        if self.database_url is not None:
            environment["CENTRALINO_DATABASE_URL"] = self.database_url
        command = [str(SCRIPT), *arguments, "--data-dir", str(self.data_dir)]
        completed = subprocess.run(
            command, capture_output=True, text=True, env=environment, timeout=CLI_SECONDS
        )
        exited = time.monotonic()
        assert completed.returncode == 0, (
            f"centralino {' '.join(arguments)}: exit {completed.returncode}\n"
            f"{completed.stdout}{completed.stderr}\n{self.diagnostics()}"
        )
        return completed.stdout, exited

    def create_extension(self, number: str, **fields: Any) -> dict[str, Any]:
        """Create an extension through the API with the phones' credentials."""
        document = {"number": number, "auth_id": f"user{number}", "auth_password": PASSWORD}
        response = self.api.post("/api/v1/extensions", json=document | fields)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def register_once(self, number: str) -> Response:
        """One REGISTER of ``number`` with its current credentials (digest answered)."""

        async def once() -> Response:
            phone = SipPhone(self.sip_port, number)
            try:
                return await phone.register()
            finally:
                phone.close()

        return asyncio.run(once())

    def registered_numbers(self) -> list[str]:
        """The numbers ``GET /api/v1/registrations`` lists (every node's)."""
        response = self.api.get("/api/v1/registrations")
        assert response.status_code == 200, response.text
        return [registration["number"] for registration in response.json()]


def start_node(
    stack: ExitStack, directory: Path, *, name: str, database_url: str | None = None
) -> Node:
    """Start ``serve`` as node ``name`` (SQLite in ``directory`` unless ``database_url``)."""
    environment = {"CENTRALINO_NODE_NAME": name}
    if database_url is not None:
        environment["CENTRALINO_DATABASE_URL"] = database_url
    data_dir = directory / name / "data"
    server = stack.enter_context(serving(data_dir, ADMIN_PASSWORD, environment=environment))
    api = stack.enter_context(_client(server.url, ADMIN_PASSWORD))
    return Node(name=name, server=server, data_dir=data_dir, database_url=database_url, api=api)


async def register_until(
    phone: SipPhone,
    accepted: Callable[[Response], bool],
    *,
    since: float,
    within: float = 5.0,
    interval: float = 0.02,
) -> tuple[Response, float]:
    """REGISTER ``phone`` until ``accepted`` says yes or ``within`` seconds pass.

    Returns:
        The last final answer and its time since ``since`` (a ``time.monotonic()``).
    """
    while True:
        answer = await phone.register()
        elapsed = time.monotonic() - since
        if accepted(answer) or elapsed > within:
            return answer, elapsed
        await asyncio.sleep(interval)


def eventually(check: Callable[[], T], what: str, *, within: float = 5.0) -> T:
    """Poll ``check`` until it returns something true (bounded); return that."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not seen within {within} s"
        time.sleep(0.05)
