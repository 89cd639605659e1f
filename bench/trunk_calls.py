"""Inbound call setups through a trunk beside internal call setups, one run.

Theory of operation. One ``centralino serve`` (pinned to ``SERVER_CORE``
with ``taskset``, a fresh SQLite data directory) carries two kinds of calls,
run in turn at the same offered rates so both see the same server and the
same machine state:

* **internal**: exactly as ``bench/sip_calls.py``: ``--users`` caller
  extensions from an ``-inf`` CSV dial the callee extension with
  ``scenarios/call_uac.xml`` (INVITE, 407, ACK, INVITE with
  Proxy-Authorization, 180, 200, ACK, BYE);
* **trunk**: a SIPp playing the provider (``scenarios/trunk_uac.xml``) sends
  from the trunk's own host and port (``-p PORT``: an IP-authenticated trunk
  created through ``POST /api/v1/trunks``, registration disabled), so the PBX
  takes the INVITE as the trunk's and does not challenge it; the
  Request-URI holds one of the callee's DIDs (E.164, ``--dids`` of them in
  turn) and the From one of ``--users`` outside numbers. The PBX routes it
  by DID, as an external call, to the same callee.

Both kinds ring the same callee phone: one SIPp UAS (``scenarios/
call_uas.xml``) registered once, with digest, from the port it then listens
on, and kept for the whole run. Every SIPp is pinned to ``SIPP_CORE`` with
``-buff_size 4194304`` and bounded by ``-m`` and ``-timeout``.

A warm-up run of each kind comes first (not reported; a warm-up with under
90 % answered aborts the bench). Then, ``--rounds`` times, for each
``--rates`` value the kinds run one after the other (in ``--kinds`` order
in the first round, reversed in the second, and so on), each after
``--gap`` idle seconds. For each run: successful calls (answered and hung
up), failed ones (every call of ``--count`` that did not succeed), the
achieved rate (successful calls per second of the UAC's elapsed time), the
server's CPU seconds during the run and ``--settle`` seconds after it (the
call records are written after the calls), CPU milliseconds per call, the
1-minute load average before and after (the machine is shared) and the
server's resident memory after.

At the end the answered calls are counted through ``GET
/api/v1/call-records.csv`` (``direction=inbound&trunk=NAME``, and
``direction=internal``) and the server log's ``call ended`` lines (by
direction, result and reason), to check that every trunk call was taken as
an inbound trunk call and that no call was answered that SIPp did not see.

    .venv/bin/python bench/trunk_calls.py --rates 200 300 --count 3000 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import dataclasses
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve_support import rss_kb  # noqa: E402
from sip_calls import CALLEE, register_callee, sipp  # noqa: E402
from sip_register import (  # noqa: E402
    CENTRALINO,
    SERVER_CORE,
    SIPP_CORE,
    Result,
    cpu_seconds,
    free_port,
    parse_stats,
    pinned,
    process,
    seed_centralino,
    users,
    wait_for_sip,
    work_directory,
    write_csv,
)

__all__ = ["Run", "main"]

ADMIN_PASSWORD = "bench-admin-password"
TRUNK = "bench-provider"
INTERNAL, INBOUND = "internal", "trunk"


def dids(count: int) -> list[str]:
    """The callee's DIDs, E.164 (a Milan block)."""
    return [f"+3902123{index:05d}" for index in range(count)]


def outside_callers(count: int, numbers: list[str]) -> list[tuple[str, str, str]]:
    """(caller, DID, unused) rows of the provider's CSV: outside numbers, DIDs in turn."""
    return [(f"+39333{index:07d}", numbers[index % len(numbers)], "") for index in range(count)]


def load_average() -> float:
    """The 1-minute load average now."""
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass(frozen=True)
class Run:
    """One UAC run of one kind at one offered rate."""

    kind: str
    round: int
    result: Result
    load_before: float
    load_after: float
    rss_mb: float
    """The server's resident memory after the run."""

    @property
    def cpu_ms_per_call(self) -> float:
        """Server CPU milliseconds per successful call."""
        ok = self.result.successful
        return 1000.0 * self.result.cpu / ok if ok else 0.0


class Bench:
    """A started ``serve`` with the callee's phone registered; runs the UACs."""

    def __init__(self, args: argparse.Namespace, work: Path, sip_port: int, server_pid: int,
                 trunk_port: int, callers: Path, provider: Path) -> None:  # fmt: skip
        self.args, self.work = args, work
        self.sip_port, self.server_pid, self.trunk_port = sip_port, server_pid, trunk_port
        self.callers, self.provider = callers, provider

    def uac(self, kind: str, rate: int, count: int, label: str) -> Result:
        """One bounded SIPp UAC run; its statistics (CPU not yet set)."""
        seconds = max(30, 3 * count // max(rate, 1) + self.args.hold // 1000)
        common = ["-r", str(rate), "-m", str(count), "-l", str(max(rate * 4, 100)),
                  "-d", str(self.args.hold), "-timeout", f"{seconds}s", "-trace_stat",
                  "-stf", str(self.work / f"{label}.csv"), "-fd", "1", "-trace_err"]  # fmt: skip
        if kind == INTERNAL:
            command = sipp(self.sip_port, "call_uac.xml", self.work, "-p", str(free_port()),
                           "-s", CALLEE[2], "-inf", str(self.callers), *common)  # fmt: skip
        else:
            command = sipp(self.sip_port, "trunk_uac.xml", self.work, "-p", str(self.trunk_port),
                           "-inf", str(self.provider), *common)  # fmt: skip
        subprocess.run(pinned(SIPP_CORE, command), cwd=self.work, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=seconds + 30, check=False)  # fmt: skip
        return parse_stats(kind, rate, self.work / f"{label}.csv", count)

    def measured(self, kind: str, rate: int, count: int, round_: int) -> Run:
        """A UAC run with the server's CPU during it and ``--settle`` seconds after."""
        time.sleep(self.args.gap)
        load = load_average()
        before = cpu_seconds(self.server_pid)
        result = self.uac(kind, rate, count, f"{kind}-{rate}-{round_}")
        time.sleep(self.args.settle)
        cpu = cpu_seconds(self.server_pid) - before
        rss = rss_kb(self.server_pid) / 1024
        return Run(kind, round_, dataclasses.replace(result, cpu=cpu), load, load_average(), rss)


def create_trunk(client: httpx.Client, port: int, numbers: list[str]) -> None:
    """The IP-authenticated trunk (``127.0.0.1:port``), known to the engine on return."""
    body = {
        "name": TRUNK, "host": "127.0.0.1", "port": port, "transport": "udp",
        "registration": {"enabled": False}, "allowed_addresses": [], "dids": numbers,
        "did_source": "request_uri", "number_format": "e164",
    }  # fmt: skip
    client.post("/api/v1/trunks", json=body).raise_for_status()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/trunks/{TRUNK}/status").json()
        if status.get("known"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the engine did not take the trunk: {status}")


def give_dids(client: httpx.Client, numbers: list[str]) -> None:
    """The callee owns ``numbers`` (merge-patch of the extension)."""
    answer = client.patch(f"/api/v1/extensions/{CALLEE[2]}", json={"dids": numbers},
                          headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
    if answer.status_code >= 300:
        raise RuntimeError(f"PATCH extension {CALLEE[2]}: {answer.status_code} {answer.text}")


def login(http_port: int) -> httpx.Client:
    """An API client logged in as the owner."""
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            token = httpx.post(f"{url}/api/v1/auth/token", timeout=10,
                               data={"username": "admin", "password": ADMIN_PASSWORD})  # fmt: skip
            token.raise_for_status()
            break
        except (httpx.TransportError, httpx.HTTPStatusError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=url, headers=headers, timeout=120)


def count_records(client: httpx.Client, **filters: str) -> int:
    """Call records matching ``filters``, counted from the CSV export."""
    answer = client.get("/api/v1/call-records.csv", params=filters)
    answer.raise_for_status()
    return max(0, len(list(csv.reader(io.StringIO(answer.text)))) - 1)


def count_log(log: Path) -> dict[str, int]:
    """``call ended`` lines of the server log by direction, result and reason."""
    fields = re.compile(r"\b(direction|reason|result)=(\S+)")
    found: Counter[str] = Counter()
    with log.open(errors="replace") as handle:
        for line in handle:
            if "call ended" in line:
                values = dict(fields.findall(line))
                key = "log {direction} {result} ({reason})".format_map(values)
                found[key] += 1
    return dict(sorted(found.items()))


def run_all(args: argparse.Namespace, work: Path) -> tuple[list[Run], dict[str, int]]:
    """Start the server, run the warm-ups and the rounds; the runs and the record counts."""
    data = work / "centralino"
    data.mkdir()
    asyncio.run(seed_centralino(data, [*users(args.users), CALLEE]))
    numbers = dids(args.dids)
    callers, provider = work / "callers.csv", work / "provider.csv"
    write_csv(callers, users(args.users))
    write_csv(provider, outside_callers(args.users, numbers))
    port, http, trunk_port, uas_port = free_port(), free_port(), free_port(), free_port()
    command = [str(CENTRALINO), "serve", "--data-dir", str(data), "--sip-port", str(port),
               "--http-port", str(http), "--bind", "127.0.0.1"]  # fmt: skip
    os.environ["CENTRALINO_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    log = work / "centralino.log"
    total = 2 * args.warmup + args.count * len(args.rates) * 2 * args.rounds
    budget = (
        120
        + 2 * args.warmup
        + sum(max(30, 3 * args.count // rate) + args.settle + args.gap for rate in args.rates)
        * 2
        * args.rounds
    )
    runs: list[Run] = []
    with process(pinned(SERVER_CORE, command), log) as server:
        wait_for_sip(port)
        with login(http) as client:
            give_dids(client, numbers)
            create_trunk(client, trunk_port, numbers)
            register_callee(port, uas_port, work, CALLEE[0])
            uas = sipp(0, "call_uas.xml", work, "-p", str(uas_port), "-s", CALLEE[2],
                       "-timeout", f"{budget}s", "-m", str(total))  # fmt: skip
            with process(pinned(SIPP_CORE, uas), work / "uas.log"):
                bench = Bench(args, work, port, server.pid, trunk_port, callers, provider)
                for kind in args.kinds:
                    warm = bench.uac(kind, 100, args.warmup, f"warmup-{kind}")
                    print(f"warm-up {kind}: {warm.successful} of {args.warmup} answered")
                    if warm.successful < 0.9 * args.warmup:
                        raise RuntimeError(f"the {kind} warm-up failed; see {log} and {work}")
                for index in range(args.rounds):
                    order = args.kinds if index % 2 == 0 else args.kinds[::-1]
                    for rate in args.rates:
                        for kind in order:
                            runs.append(bench.measured(kind, rate, args.count, index + 1))
                            show(runs[-1])
            time.sleep(args.settle)
            counts = {
                "records inbound (trunk, answered)": count_records(
                    client, direction="inbound", trunk=TRUNK, result="answered"
                ),
                "records internal (answered)": count_records(
                    client, direction="internal", result="answered"
                ),
            }
    counts |= count_log(log)
    return runs, counts


def show(run: Run) -> None:
    """One line per run as it ends."""
    r = run.result
    print(f"round {run.round} {run.kind:<9}{r.target:>6}/s  {r.rate:>6.0f}/s  ok {r.successful}"
          f"  failed {r.failed}  cpu {r.cpu:.1f} s  {run.cpu_ms_per_call:.2f} ms/call"
          f"  load {run.load_before:.2f}->{run.load_after:.2f}  rss {run.rss_mb:.0f} MB",
          flush=True)  # fmt: skip


def report(runs: list[Run], counts: dict[str, int], args: argparse.Namespace) -> None:
    """The table of every run, the totals per kind and rate, the ratios, the cross-check."""
    print()
    print("| round | kind | offered/s | achieved/s | answered | failed | server CPU s "
          "| CPU ms/call | calls per CPU s | load 1 min | server RSS |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for run in runs:
        r = run.result
        print(f"| {run.round} | {run.kind} | {r.target} | {r.rate:.0f} | {r.successful:,} "
              f"| {r.failed} | {r.cpu:.1f} | {run.cpu_ms_per_call:.2f} | {r.per_cpu_second:.0f} "
              f"| {run.load_before:.2f} -> {run.load_after:.2f} "
              f"| {run.rss_mb:.0f} MB |")  # fmt: skip
    print()
    print(
        "| offered/s | internal achieved/s | trunk achieved/s | trunk / internal rate "
        "| internal CPU ms/call | trunk CPU ms/call | trunk / internal calls per CPU s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for rate in args.rates:
        totals = {}
        for kind in (INTERNAL, INBOUND):
            chosen = [run.result for run in runs if run.kind == kind and run.result.target == rate]
            ok = sum(r.successful for r in chosen)
            elapsed = sum(r.elapsed for r in chosen)
            cpu = sum(r.cpu for r in chosen)
            totals[kind] = (ok / elapsed if elapsed else 0.0, 1000 * cpu / ok if ok else 0.0)
        (i_rate, i_ms), (t_rate, t_ms) = totals[INTERNAL], totals[INBOUND]
        print(f"| {rate} | {i_rate:.0f} | {t_rate:.0f} | {t_rate / (i_rate or 1):.2f} "
              f"| {i_ms:.2f} | {t_ms:.2f} | {(i_ms / t_ms if t_ms else 0):.2f} |")  # fmt: skip
    print()
    expected = {
        kind: args.warmup * (kind in args.kinds)
        + sum(r.result.successful for r in runs if r.kind == kind)
        for kind in (INBOUND, INTERNAL)
    }
    print(f"answered by SIPp (warm-ups included, at most): trunk {expected[INBOUND]}, "
          f"internal {expected[INTERNAL]}")  # fmt: skip
    for name, value in counts.items():
        print(f"{name}: {value}")


def main() -> None:
    """Parse arguments, run, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="callers (inside and outside)")
    parser.add_argument("--dids", type=int, default=20, help="DIDs of the callee, in turn")
    parser.add_argument("--rates", type=int, nargs="+", default=[200, 300])
    parser.add_argument("--count", type=int, default=3000, help="calls per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=300, help="calls of each warm-up (100/s)")
    parser.add_argument("--hold", type=int, default=0, help="ms between answer and BYE")
    parser.add_argument("--settle", type=int, default=2, help="s counted after each run")
    parser.add_argument("--gap", type=int, default=0, help="idle s before each run (uncounted)")
    parser.add_argument("--kinds", nargs="+", choices=[INTERNAL, INBOUND],
                        default=[INTERNAL, INBOUND], help="what to run, in this order")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="work in this (new) directory and keep it")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        work = work_directory(stack, args.keep, "bench-trunk-calls-")
        runs, counts = run_all(args, work)
        report(runs, counts, args)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
