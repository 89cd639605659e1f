"""Call-setup rate: Centralino's B2BUA vs Kamailio as a stateful proxy, one run.

Theory of operation. One run measures both servers with the same pair of
SIPp instances (pinned to ``SIPP_CORE``, ``-buff_size 4194304``, every run
bounded by ``-m`` and ``-timeout``), each server pinned to ``SERVER_CORE``
with ``taskset``; the server's CPU seconds are read from /proc, so the
report gives calls per CPU second (the capacity of one core, whatever else
the machine is doing):

1. Centralino: ``centralino serve`` on a fresh SQLite data directory seeded
   with ``--users`` caller extensions and one callee extension.
2. Kamailio 5.6 as registrar + stateful proxy (``bench/kamailio/
   proxy.cfg.template``: usrloc in memory, digest auth against an
   ``htable``, record-routing), with the same users.

For each server: a SIPp run of ``scenarios/call_register.xml`` registers the
callee (digest) from the port the UAS SIPp then listens on
(``scenarios/call_uas.xml``: 180 and 200 at once, then ACK and BYE); the UAC
SIPp (``scenarios/call_uac.xml``, callers from an ``-inf`` CSV) places
``--count`` calls at ``--rate`` per second: INVITE, 407, ACK, INVITE with
Proxy-Authorization, 180, 200, ACK, a pause of ``--hold`` ms, BYE, 200.
A successful call is one that was answered and hung up; the achieved
call-setup rate is successful calls per second of the UAC's elapsed time.

    .venv/bin/python bench/sip_calls.py --rate 200 --count 6000 --kamailio-rate 2000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sip_register import (  # noqa: E402
    CENTRALINO,
    PASSWORD,
    SERVER_CORE,
    SIPP_CORE,
    Result,
    cpu_seconds,
    free_port,
    kamailio_command,
    parse_stats,
    pinned,
    process,
    report,
    seed_centralino,
    users,
    wait_for_sip,
    work_directory,
    write_csv,
)

CALLEE = ("benchcallee", PASSWORD.format(index=99999), "29999")
"""(auth ID, password, number) of the extension every call goes to."""


def sipp(port: int, scenario: str, work: Path, *extra: str) -> list[str]:
    """A SIPp command line towards ``127.0.0.1:port`` (``port`` 0: UAS, no target)."""
    target = [f"127.0.0.1:{port}"] if port else []
    return [
        "sipp", *target, "-sf", str(HERE / "scenarios" / scenario), "-i", "127.0.0.1",
        "-buff_size", "4194304", "-nostdin", *extra,
    ]  # fmt: skip


def register_callee(port: int, uas_port: int, work: Path, user: str) -> None:
    """Register the callee as ``user`` from ``uas_port`` (so the UAS SIPp gets the calls)."""
    _, password, number = CALLEE
    command = sipp(port, "call_register.xml", work, "-p", str(uas_port), "-s", number,
                   "-au", user, "-ap", password, "-m", "1", "-timeout", "10s")  # fmt: skip
    done = subprocess.run(pinned(SIPP_CORE, command), cwd=work, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=30, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the callee did not register (SIPp exit {done.returncode})")


def run_calls(name: str, port: int, rate: int, count: int, args: argparse.Namespace,
              work: Path, inf: Path, callee_user: str) -> Result:  # fmt: skip
    """Register the callee, start the UAS, place the calls; the UAC's statistics."""
    uas_port = free_port()
    register_callee(port, uas_port, work, callee_user)
    seconds = max(30, 3 * count // max(rate, 1) + args.hold // 1000)
    uas = sipp(0, "call_uas.xml", work, "-p", str(uas_port), "-s", CALLEE[2],
               "-timeout", f"{seconds + 20}s", "-m", str(count))  # fmt: skip
    stats = work / f"{name}.csv"
    uac = sipp(port, "call_uac.xml", work, "-p", str(free_port()), "-s", CALLEE[2],
               "-inf", str(inf), "-r", str(rate), "-m", str(count),
               "-l", str(max(rate * 4, 100)), "-d", str(args.hold), "-timeout", f"{seconds}s",
               "-trace_stat", "-stf", str(stats), "-fd", "1", "-trace_err")  # fmt: skip
    with process(pinned(SIPP_CORE, uas), work / f"{name}-uas.log"):
        subprocess.run(pinned(SIPP_CORE, uac), cwd=work, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=seconds + 30, check=False)  # fmt: skip
    return parse_stats(name, rate, stats, count)


def bench_centralino(args: argparse.Namespace, work: Path, inf: Path) -> Result:
    """Centralino's ``serve``, pinned to core 0."""
    data = work / "centralino"
    data.mkdir()
    asyncio.run(seed_centralino(data, [*users(args.users), CALLEE]))
    port, http = free_port(), free_port()
    command = [str(CENTRALINO), "serve", "--data-dir", str(data), "--sip-port", str(port),
               "--http-port", str(http), "--bind", "127.0.0.1"]  # fmt: skip
    os.environ["CENTRALINO_ADMIN_PASSWORD"] = "bench-admin-password"
    if args.profile is not None:  # sampled by py-spy (collapsed stacks), not timed
        spy = Path(sys.executable).parent / "py-spy"
        command = [str(spy), "record", "--nonblocking", "-r", "250", "-f", "raw",
                   "-o", str(args.profile.resolve()), "--", *command]  # fmt: skip
    with process(pinned(SERVER_CORE, command), work / "centralino.log") as server:
        wait_for_sip(port)
        before = cpu_seconds(server.pid)
        result = run_calls("centralino", port, args.rate, args.count, args, work, inf, CALLEE[0])
        return dataclasses.replace(result, cpu=cpu_seconds(server.pid) - before)


def bench_kamailio(args: argparse.Namespace, work: Path, inf: Path) -> Result:
    """Kamailio as registrar + stateful proxy with htable digest auth, pinned to core 0."""
    port = free_port()
    # Kamailio checks that the digest user name is the From user: the callee
    # registers as its number there (its auth ID with Centralino).
    rows = [*users(args.users), (CALLEE[2], CALLEE[1], CALLEE[2])]
    command = kamailio_command("proxy.cfg.template", port, rows, args.kamailio_children, work)
    with process(pinned(SERVER_CORE, command), work / "kamailio.log") as server:
        wait_for_sip(port)
        rate = args.kamailio_rate
        before = cpu_seconds(server.pid)
        result = run_calls("kamailio", port, rate, rate * 10, args, work, inf, CALLEE[2])
        return dataclasses.replace(result, cpu=cpu_seconds(server.pid) - before)


def main() -> None:
    """Parse arguments and run the selected benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="caller extensions")
    parser.add_argument("--rate", type=int, default=200, help="Centralino target calls/s")
    parser.add_argument("--count", type=int, default=6000, help="Centralino calls")
    parser.add_argument("--hold", type=int, default=0, help="ms between answer and BYE")
    parser.add_argument("--kamailio-rate", type=int, default=2000)
    parser.add_argument("--kamailio-children", type=int, default=2)
    parser.add_argument("--only", choices=["centralino", "kamailio"], action="append")
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of the server")
    parser.add_argument("--keep", type=Path, help="work in this (new) directory and keep it")
    args = parser.parse_args()
    chosen = args.only or ["centralino", "kamailio"]
    with contextlib.ExitStack() as stack:
        work = work_directory(stack, args.keep, "bench-calls-")
        inf = work / "callers.csv"
        write_csv(inf, users(args.users))
        results = []
        if "centralino" in chosen:
            results.append(bench_centralino(args, work, inf))
        if "kamailio" in chosen:
            results.append(bench_kamailio(args, work, inf))
        report(results, rate_label="answered/s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
