"""Helpers for call interop tests: free ports, bounded subprocesses, an engine.

Every process is started with its own PID kept and stopped by that PID in a
``finally`` block; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import CallStateChanged, DomainEvent
from centralino.domain.extension import Extension
from centralino.telephony.engine import Telephony
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import extension, start_calls

__all__ = ["SCENARIOS", "CallEngine", "Processes", "call_engine", "free_port", "run_once"]

SCENARIOS = Path(__file__).parent / "scenarios"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for UDP (or TCP) on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class CallEngine:
    """The started engine and every CallStateChanged it published."""

    telephony: Telephony
    events: list[CallStateChanged] = field(default_factory=list)

    def record(self, event: DomainEvent) -> None:
        if isinstance(event, CallStateChanged):
            self.events.append(event)

    @property
    def port(self) -> int:
        return self.telephony.port()

    async def wait_ended(self, within: float = 10.0) -> CallStateChanged:
        """The first ENDED event (waiting up to ``within`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            for event in self.events:
                if event.reason is not None:
                    return event
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no call ended; events: {self.events}")


@contextlib.asynccontextmanager
async def call_engine(
    numbers: Sequence[str] = ("101", "102"),
    *,
    media_anchoring: bool = True,
    extensions: Sequence[Extension] = (),
    **engine: Any,
) -> AsyncIterator[CallEngine]:
    """An engine on a free loopback port with extensions ``numbers`` (media anchored).

    ``extensions`` adds fully specified extensions (forwarding rules and so on);
    ``engine`` goes to the Telephony constructor (mailboxes, recordings...).
    """
    store = InMemoryStore()
    store.seed(extensions=[extension(number) for number in numbers] + list(extensions))
    bus = LocalEventBus()
    telephony, _registry = await start_calls(
        store, FakeClock(), bus, media_anchoring=media_anchoring, **engine
    )
    engine = CallEngine(telephony)
    bus.subscribe(engine.record)
    try:
        yield engine
    finally:
        await telephony.stop()


class Processes:
    """Subprocesses of one test, each stopped by its own PID at the end."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._running: list[asyncio.subprocess.Process] = []

    async def start(self, *command: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._running.append(process)
        return process

    async def finish(self, process: asyncio.subprocess.Process, within: float) -> str:
        """Wait (bounded) for ``process``; its exit code must be 0. Returns its output."""
        output, _ = await asyncio.wait_for(process.communicate(), within)
        text = output.decode(errors="replace")
        assert process.returncode == 0, f"exit {process.returncode}:\n{text[-3000:]}"
        return text

    async def stop_all(self) -> None:
        for process in self._running:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 3)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()


async def run_once(command: list[str], cwd: Path, within: float = 30.0) -> tuple[int, str]:
    """Run ``command`` to its end (killed after ``within`` s); exit code and output's tail."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), within)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")[-3000:]
