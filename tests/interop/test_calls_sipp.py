"""SIPp UAC -> Centralino -> SIPp UAS: a call hung up with BYE, and one cancelled.

The callee SIPp first registers from its own port (digest auth), then plays
the UAS scenario on that same port; the caller SIPp answers the PBX's 407.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from centralino.domain.calls import CallEndReason, CallState
from tests.interop.calls_support import SCENARIOS, CallEngine, Processes, call_engine, free_port
from tests.telephony.calls_support import PASSWORD

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]


@pytest.fixture
async def engine() -> AsyncIterator[CallEngine]:
    async with call_engine() as running:
        yield running


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        await running.stop_all()


def _sipp(scenario: str, port: int, pbx: int, *args: str) -> list[str]:
    return [
        "sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port()), "-m", "1", "-timeout", "20s", "-timeout_error",
        "-nostdin", "-trace_err", *args, f"127.0.0.1:{pbx}",
    ]  # fmt: skip


async def _callee(
    processes: Processes, engine: CallEngine, scenario: str
) -> asyncio.subprocess.Process:
    port = free_port()
    register = await processes.start(
        *_sipp("call_register.xml", port, engine.port, "-s", "102", "-au", "user102",
               "-ap", PASSWORD)
    )  # fmt: skip
    await processes.finish(register, 20)
    return await processes.start(*_sipp(scenario, port, engine.port, "-s", "102"))


async def _caller(processes: Processes, engine: CallEngine, scenario: str) -> str:
    caller = await processes.start(
        *_sipp(scenario, free_port(), engine.port, "-s", "102", "-set", "caller", "101",
               "-au", "user101", "-ap", PASSWORD)
    )  # fmt: skip
    return await processes.finish(caller, 30)


async def test_call_answered_then_hung_up_with_bye(
    engine: CallEngine, processes: Processes
) -> None:
    callee = await _callee(processes, engine, "call_uas_answer.xml")
    await _caller(processes, engine, "call_uac_bye.xml")
    await processes.finish(callee, 15)
    ended = await engine.wait_ended()
    assert ended.reason is CallEndReason.CALLER_HUNG_UP
    assert [e.state for e in engine.events] == [
        CallState.RINGING,
        CallState.ANSWERED,
        CallState.ENDED,
    ]
    assert len(engine.telephony.calls) == 0


async def test_call_cancelled_while_ringing(engine: CallEngine, processes: Processes) -> None:
    callee = await _callee(processes, engine, "call_uas_ring.xml")
    await _caller(processes, engine, "call_uac_cancel.xml")
    await processes.finish(callee, 15)
    ended = await engine.wait_ended()
    assert (ended.reason, ended.status) == (CallEndReason.CANCELLED, 487)
    assert len(engine.telephony.calls) == 0
