"""Forwarding rules proven with SIPp phones: the routing engine decides real calls.

SIPp is the caller (extension 101, answering the PBX's 407) and the phones
that ring; which SIPp phone receives the INVITE shows where the rules sent
the call. Extension 102 is the forwarding target, registered by SIPp.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from centralino.domain.calls import CallState
from tests.interop.calls_support import SCENARIOS, CallEngine, Processes, call_engine, free_port
from tests.telephony.calls_support import PASSWORD, extension

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]

TO_102 = {"type": "extension", "number": "102"}


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        await running.stop_all()


def _sipp(scenario: str, port: int, pbx: int, service: str, *args: str) -> list[str]:
    return [
        "sipp", "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port()), "-m", "1", "-timeout", "30s", "-timeout_error",
        "-nostdin", "-trace_err", "-s", service, *args, f"127.0.0.1:{pbx}",
    ]  # fmt: skip


async def _phone(
    processes: Processes, engine: CallEngine, number: str, scenario: str
) -> asyncio.subprocess.Process:
    """Register ``number`` from a SIPp port, then play ``scenario`` on that port."""
    port = free_port()
    credentials = ("-au", f"user{number}", "-ap", PASSWORD)
    register = await processes.start(
        *_sipp("call_register.xml", port, engine.port, number, *credentials)
    )
    await processes.finish(register, 20)
    return await processes.start(*_sipp(scenario, port, engine.port, number))


async def _call(processes: Processes, engine: CallEngine, number: str) -> None:
    caller = await processes.start(
        *_sipp("call_uac_bye.xml", free_port(), engine.port, number, "-set", "caller", "101",
               "-au", "user101", "-ap", PASSWORD)
    )  # fmt: skip
    await processes.finish(caller, 40)


async def test_do_not_disturb_forwards_to_another_extension(processes: Processes) -> None:
    dnd = extension(
        "103",
        forwarding={"status": "dnd", "profiles": {"dnd": {"internal": TO_102}}},
    )
    async with call_engine(extensions=[dnd]) as engine:
        target = await _phone(processes, engine, "102", "call_uas_answer.xml")
        await _call(processes, engine, "103")
        await processes.finish(target, 15)  # 102 got the call, answered, got the BYE
        assert CallState.ANSWERED in [event.state for event in engine.events]


async def test_not_registered_goes_to_its_destination(processes: Processes) -> None:
    rules = {"available": {"internal": {"not_registered": TO_102}}}
    absent = extension("103", forwarding={"profiles": rules})
    async with call_engine(extensions=[absent]) as engine:
        target = await _phone(processes, engine, "102", "call_uas_answer.xml")
        await _call(processes, engine, "103")
        await processes.finish(target, 15)


async def test_no_answer_in_n_seconds_forwards(processes: Processes) -> None:
    rules = {"available": {"no_answer_seconds": 5, "internal": {"no_answer": TO_102}}}
    slow = extension("103", forwarding={"profiles": rules})
    async with call_engine(extensions=[slow]) as engine:
        ringing = await _phone(processes, engine, "103", "call_uas_ring.xml")
        target = await _phone(processes, engine, "102", "call_uas_answer.xml")
        started = time.monotonic()
        await _call(processes, engine, "103")
        await processes.finish(ringing, 15)  # 103 rang, then the PBX cancelled it
        await processes.finish(target, 15)  # and 102 took the call
        assert time.monotonic() - started >= 5


async def test_a_caller_id_exception_wins_over_the_profile(processes: Processes) -> None:
    exception = {"caller_id": "10?", "destination": TO_102}  # 101 matches
    boss = extension("103", forwarding={"status": "dnd", "exceptions": [exception]})
    async with call_engine(extensions=[boss]) as engine:
        target = await _phone(processes, engine, "102", "call_uas_answer.xml")
        await _call(processes, engine, "103")  # DND alone would send 101 to voicemail (480)
        await processes.finish(target, 15)


async def test_busy_without_call_waiting_goes_to_the_busy_destination(
    processes: Processes,
) -> None:
    rules = {"available": {"accept_multiple_calls": False, "internal": {"busy": TO_102}}}
    busy = extension("103", forwarding={"profiles": rules})
    async with call_engine(numbers=("101", "102", "104"), extensions=[busy]) as engine:
        first_phone = await _phone(processes, engine, "103", "call_uas_answer.xml")
        target = await _phone(processes, engine, "102", "call_uas_answer.xml")
        first_call = await processes.start(
            *_sipp("call_uac_long.xml", free_port(), engine.port, "103", "-set", "caller",
                   "101", "-au", "user101", "-ap", PASSWORD)
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while CallState.ANSWERED not in [e.state for e in engine.events]:
            assert time.monotonic() < deadline, "the first call was never answered"
            await asyncio.sleep(0.05)
        second = await processes.start(
            *_sipp("call_uac_bye.xml", free_port(), engine.port, "103", "-set", "caller",
                   "104", "-au", "user104", "-ap", PASSWORD)
        )  # fmt: skip
        await processes.finish(second, 30)  # 104's call was answered: by 102
        await processes.finish(target, 15)
        await processes.finish(first_call, 30)
        await processes.finish(first_phone, 15)
