"""Overload: authenticated REGISTER offered at 1x, 2x and 4x capacity; goodput, 503s, failures.

Theory of operation. One ``centralino serve`` (fresh SQLite data directory
seeded with ``--users`` extensions, pinned to ``--server-core``) is offered,
one load after the other, ``--capacity`` times each multiplier in
``--multipliers`` authenticated registrations per second by SIPp (pinned to
``--sipp-core``, ``-buff_size 4194304``), each load bounded by ``-m`` (rate
x ``--seconds``) and ``-timeout``, so every run stops by itself. The
scenario (``scenarios/register_overload.xml``) is ``register_digest.xml``
that ends a call quietly on a 503: the server refusing new work for
overload. Per load it reports, from SIPp's ``-trace_counts`` and
``-trace_stat``:

* goodput: registrations completed (200) per second of the load's duration
  (from SIPp's start to its last completed call);
* refused: calls answered 503 at the first REGISTER (never admitted) and at
  the second (the exchange was begun: counted as failures of admitted work);
* failed: calls SIPp failed (no answer in time, an unexpected answer), also
  failures of admitted work unless refused first;
* the server's own counters after the load (``GET /api/v1/health``).

The floor (issue 10): offered 4x capacity, goodput >= 90 % of capacity,
the excess answered 503, under 0.1 % failures of admitted transactions.

    .venv/bin/python bench/overload.py --capacity 2500 [--multipliers 1 2 4] [--seconds 10]

Only 127.0.0.1; ports picked free; every process stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sip_register import (  # noqa: E402
    CENTRALINO,
    cpu_seconds,
    parse_stats,
    pinned,
    process,
    seed_centralino,
    users,
    wait_for_sip,
    work_directory,
    write_csv,
)
from sip_register import free_port as free_sip_port  # noqa: E402


@dataclass(frozen=True)
class Kind:
    """A kind of load: its SIPp scenario and the answers that complete a call."""

    name: str
    scenario: str
    completed_by: tuple[str, ...]
    extra: tuple[str, ...] = ()


KINDS = {
    "register": Kind("register", "register_overload.xml", ("200",)),
    "invite": Kind(
        "invite", "invite_overload.xml", ("404", "480", "486"), ("-set", "service", "99999")
    ),
}


@dataclass(frozen=True)
class Load:
    """One bounded load of one kind at one offered rate."""

    kind: str
    multiplier: float
    offered: int
    calls: int
    registered: int
    """Calls completed (a 200 to the REGISTER; the final failure to the INVITE)."""
    refused_first: int
    refused_second: int
    failed: int
    elapsed: float
    health: dict[str, float]
    cpu: float
    """Server CPU seconds during the load (all kinds run at once)."""

    @property
    def goodput(self) -> float:
        """Calls completed per second."""
        return self.registered / self.elapsed if self.elapsed else 0.0

    @property
    def admitted(self) -> int:
        """Calls whose first request was not refused."""
        return self.calls - self.refused_first

    @property
    def admitted_failure_percent(self) -> float:
        """Admitted calls that did not complete, in percent."""
        lost = self.refused_second + self.failed
        return 100.0 * lost / self.admitted if self.admitted else 0.0


def trace_counts(path: Path) -> dict[str, int]:
    """The last row of a SIPp ``-trace_counts`` file: column -> count."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    last = rows[-1]
    return {key: int(value) for key, value in last.items() if key and value.strip().isdigit()}


def responses(counts: dict[str, int], status: str) -> list[int]:
    """The receptions of ``status`` at each step, in scenario order."""
    found = []
    for key, value in counts.items():
        parts = key.split("_")
        if len(parts) >= 3 and parts[1] == status and parts[-1] == "Recv":
            found.append((int(parts[0]), value))
    return [value for _, value in sorted(found)]


def health(http_port: int) -> dict[str, float]:
    """The SIP counters of ``GET /api/v1/health`` (empty when unavailable)."""
    url = f"http://127.0.0.1:{http_port}/api/v1/health"
    with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(url, timeout=5) as answer:
        return dict(json.load(answer).get("sip") or {})
    return {}


def run_load(args: argparse.Namespace, multiplier: float, port: int, http: int, work: Path,
             inf: Path, pid: int) -> list[Load]:  # fmt: skip
    """Bounded SIPp runs, one per kind at once, each at its share of ``multiplier`` x capacity."""
    kinds = [KINDS[name] for name in args.kinds]
    rate = max(1, int(args.capacity * multiplier / len(kinds)))
    count = int(rate * args.seconds)
    timeout = int(args.seconds * 3 + 30)
    runs = []
    before = cpu_seconds(pid)
    for kind in kinds:
        name = f"{kind.name}-{multiplier:g}x"
        stats = work / f"{name}.csv"
        command = [
            "sipp", f"127.0.0.1:{port}", "-sf", str(HERE / "scenarios" / kind.scenario),
            "-i", "127.0.0.1", "-p", str(free_sip_port()), "-r", str(rate), "-m", str(count),
            "-l", str(max(rate * 4, 100)), "-buff_size", "4194304", "-timeout", f"{timeout}s",
            "-trace_stat", "-stf", str(stats), "-trace_counts", "-fd", "1", "-nostdin", "-nd",
            "-inf", str(inf), *kind.extra,
        ]  # fmt: skip
        child = subprocess.Popen(pinned(args.sipp_core, command), cwd=work,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        runs.append((kind, name, stats, child))
    for *_, child in runs:
        try:
            child.wait(timeout + 30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    cpu = cpu_seconds(pid) - before
    counters = health(http)
    loads = []
    for kind, name, stats, _ in runs:
        result = parse_stats(name, rate, stats, count)
        counted = trace_counts(counts_file(work, kind.scenario))
        completed = sum(
            found[-1] for status in kind.completed_by if (found := responses(counted, status))
        )
        refused = [*responses(counted, "503"), 0, 0]
        loads.append(
            Load(
                kind=kind.name,
                multiplier=multiplier,
                offered=rate,
                calls=count,
                registered=completed,
                refused_first=refused[0],
                refused_second=refused[1],
                failed=max(0, count - result.successful),
                elapsed=result.elapsed,
                health=counters,
                cpu=cpu,
            )
        )
    return loads


def counts_file(work: Path, scenario: str) -> Path:
    """SIPp names the counts file after the scenario and its PID: the newest of ``scenario``."""
    stem = Path(scenario).stem
    found = sorted(work.glob(f"{stem}_*_counts.csv"), key=lambda p: p.stat().st_mtime)
    return found[-1]


def report(loads: list[Load], capacity: int) -> None:
    """One line per load, and the floor's verdict for the largest."""
    load_average = Path("/proc/loadavg").read_text().strip()
    print(f"capacity (given): {capacity}/s; load average {load_average}")
    print(f"{'kind':>9}{'load':>5}{'offered/s':>10}{'goodput/s':>10}{'% cap':>7}{'refused 1st':>12}"
          f"{'refused 2nd':>12}{'failed':>8}{'adm fail %':>11}{'absorbed':>10}"
          f"{'max delay ms':>13}{'cpu s':>7}")  # fmt: skip
    for load in loads:
        delay = 1000 * load.health.get("queue_delay_max", float("nan"))
        absorbed = int(load.health.get("retransmissions_absorbed", 0))
        print(f"{load.kind:>9}{load.multiplier:>4g}x{load.offered:>10}{load.goodput:>10.0f}"
              f"{100 * load.goodput / capacity:>7.0f}{load.refused_first:>12}"
              f"{load.refused_second:>12}{load.failed:>8}{load.admitted_failure_percent:>11.3f}"
              f"{absorbed:>10}{delay:>13.0f}{load.cpu:>7.1f}")  # fmt: skip
    for load in loads[:: len({load.kind for load in loads})]:
        print(f"{load.multiplier:g}x health: {json.dumps(load.health)}")


def main() -> None:
    """Parse arguments, start the server, run the loads, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--capacity", type=int, required=True, help="measured calls/s (all kinds)")
    parser.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=["register"],
                        help="loads offered at once, sharing the rate equally")  # fmt: skip
    parser.add_argument("--multipliers", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--sipp-core", type=int, default=0)
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between loads")
    parser.add_argument("--keep", type=Path, help="work in this (new) directory and keep it")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        work = work_directory(stack, args.keep, "bench-overload-")
        inf = work / "users.csv"
        rows = users(args.users)
        write_csv(inf, rows)
        data = work / "centralino"
        data.mkdir()
        asyncio.run(seed_centralino(data, rows))
        port, http = free_sip_port(), free_sip_port()
        command = [str(CENTRALINO), "serve", "--data-dir", str(data), "--sip-port",
                   str(port), "--http-port", str(http), "--bind", "127.0.0.1"]  # fmt: skip
        os.environ.setdefault("CENTRALINO_ADMIN_PASSWORD", "bench-admin-password")
        loads = []
        with process(pinned(args.server_core, command), work / "centralino.log") as server:
            wait_for_sip(port)
            for multiplier in args.multipliers:
                loads += run_load(args, multiplier, port, http, work, inf, server.pid)
                time.sleep(args.pause)
        report(loads, args.capacity)


if __name__ == "__main__":
    main()
