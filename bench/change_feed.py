"""Benchmark: the change feed, from a commit in one process to its application by another's engine.

Floors (issue 9, "Done when"): p99 under 1 s for single changes; a
10,000-extension import applied in under 5 s after its commit; an idle
follower under 1% of a core.

Theory of operation. Per backend (SQLite, then a throw-away PostgreSQL 15
cluster, as /work/shared/PEERS.md says), on one data directory:

1. The *follower* is a child process pinned to core 0 (``change_feed.py
   follow``): the runtime of ``centralino serve`` with its SIP engine
   (``build_telephony``: the directory, registrar, subscriptions... are the
   bus's subscribers) and a ``ChangeFollower`` built like ``build_follower``
   (same poll interval and batch size) whose ``on_applied`` hook records,
   for every change, the wall-clock time it was delivered to the engine.
   On SQLite it polls every 0.25 s; on PostgreSQL it is woken by NOTIFY.
2. The *writer* is this process, pinned to core 1, with a runtime of its own
   (no follower: as the CLI, or another node): ``--single`` PATCHes of one
   extension's general tab, one every ``--gap`` seconds, each timed at its
   return (just after its commit); then one CSV import of ``--burst``
   extensions, timed at its return.
3. Single changes: latency = applied - commit, per change (matched by the
   patched first name); p50, p99, max. The burst: the last of its changes
   applied, after the import returned (its commit).
4. Idle CPU: ``centralino serve`` on a fresh data directory, idle, its CPU
   time over ``--idle`` seconds from /proc/PID/stat, with the feed polled
   as configured (0.25 s) and with the longest poll interval allowed (10 s:
   SQLite then polls 40 times less, PostgreSQL's safety poll every 100 s);
   the difference is the follower's share.

    .venv/bin/python bench/change_feed.py [--single 500] [--burst 10000] [--idle 30]
    .venv/bin/python bench/change_feed.py follow DATA_DIR URL OUT   # (internal)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve_support import ServeProcess, cpu_seconds, free_port, pin_to, postgres  # noqa: E402

from centralino.admin.context import SYSTEM_ACTOR  # noqa: E402
from centralino.app import build_telephony, open_runtime  # noqa: E402
from centralino.config import Config  # noqa: E402
from centralino.domain.changes import Change  # noqa: E402
from centralino.storage.feed import ChangeFollower  # noqa: E402

PATCHED = "10000"
"""The extension the single changes patch."""


def _config(data_dir: Path, url: str, node: str) -> Config:
    return Config(
        data_dir=data_dir,
        database_url=url,
        node_name=node,
        bind="127.0.0.1",
        sip_port=free_port(),
        http_port=free_port(),
    )


# --- the follower (child process) ------------------------------------------------


def _record(change: Change) -> list[Any]:
    event: Any = change.event
    extension = getattr(event, "extension", None)
    name = extension.first_name if extension is not None else ""
    return [change.position, type(event).__name__, name, change.at.timestamp(), time.time()]


async def follow(data_dir: Path, url: str) -> list[list[Any]]:
    """Run an engine and a follower until SIGINT; return what was applied, and when."""
    applied: list[list[Any]] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    async with open_runtime(_config(data_dir, url, "follower")) as runtime:
        config = runtime.config
        follower = ChangeFollower(
            runtime.database,
            runtime.units,
            runtime.events,
            node=config.node_name,
            poll_interval=config.feed_poll_interval,
            retention=dt.timedelta(days=config.feed_retention_days),
            on_applied=lambda change: applied.append(_record(change)),
        )
        await follower.prepare()
        telephony = build_telephony(runtime)
        await telephony.start()
        await follower.start()
        print("ready", flush=True)
        await stop.wait()
        await follower.stop()
        await telephony.stop()
    return applied


# --- the writer ----------------------------------------------------------------------


def _burst_csv(count: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "first_name", "last_name", "email"])
    for index in range(count):
        number = 20000 + index
        writer.writerow([number, "Burst", f"B{index}", f"burst{number}@example.com"])
    return buffer.getvalue()


async def write(data_dir: Path, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Single PATCHes then one import; the return time of each."""
    async with open_runtime(_config(data_dir, url, "writer")) as runtime:
        services = runtime.services
        await services.settings.patch(SYSTEM_ACTOR, {"numbering": {"extension_length": 5}})
        await services.extensions.create(SYSTEM_ACTOR, {"number": PATCHED})
        await asyncio.sleep(1.0)
        singles: dict[str, float] = {}
        for index in range(args.single):
            name = f"v{index}"
            await services.extensions.patch(SYSTEM_ACTOR, PATCHED, {"first_name": name})
            singles[name] = time.time()
            await asyncio.sleep(args.gap)
        text = _burst_csv(args.burst)
        await asyncio.sleep(1.0)
        began = time.time()
        await services.csv.import_csv(SYSTEM_ACTOR, text)
        committed = time.time()
    return {"singles": singles, "burst_began": began, "burst_committed": committed}


def _wait_ready(process: subprocess.Popen[str], within: float = 60.0) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("ready"):
            return
        if not line and process.poll() is not None:
            raise RuntimeError("the follower exited before it was ready")
    raise TimeoutError("the follower did not start")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def measure(backend: str, url: str, work: Path, args: argparse.Namespace) -> list[tuple[str, str]]:
    """Steps 1 to 3 on one database."""
    data_dir, out = work / backend, work / f"{backend}-applied.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "follow", str(data_dir), url, str(out)]
    if (os.cpu_count() or 1) > 1 and shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    with (work / f"{backend}-follower.log").open("w") as log:
        follower = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, env=environment
        )
    try:
        _wait_ready(follower)
        written = asyncio.run(write(data_dir, url, args))
        time.sleep(args.settle)
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            follower.wait(60)
        except subprocess.TimeoutExpired:
            follower.kill()
            follower.wait()
    applied = json.loads(out.read_text())
    return _figures(backend, written, applied, args)


def _figures(
    backend: str, written: dict[str, Any], applied: list[list[Any]], args: argparse.Namespace
) -> list[tuple[str, str]]:
    singles: dict[str, float] = written["singles"]
    seen = {name: when for _, kind, name, _, when in applied if kind == "ExtensionChanged"}
    latencies = [(seen[name] - at) * 1000 for name, at in singles.items() if name in seen]
    from_at = [
        (when - at) * 1000 for _, kind, name, at, when in applied if kind == "ExtensionChanged"
    ]
    burst = [when for _, kind, name, _, when in applied if kind == "ExtensionCreated"]
    burst = burst[-args.burst :]
    committed = written["burst_committed"]
    rows = [
        (f"{backend}: single changes applied", f"{len(latencies)} of {len(singles)}"),
        (
            f"{backend}: commit -> applied, p50 / p99 / max (ms)",
            " / ".join(
                f"{value:.0f}"
                for value in (
                    statistics.median(latencies),
                    _percentile(latencies, 0.99),
                    max(latencies),
                )
            ),
        ),
        (
            f"{backend}: record time -> applied, p50 / p99 (ms)",
            f"{statistics.median(from_at):.0f} / {_percentile(from_at, 0.99):.0f}",
        ),
        (
            f"{backend}: burst of {args.burst}: import (s)",
            f"{committed - written['burst_began']:.2f}",
        ),
        (f"{backend}: burst changes applied", f"{len(burst)} of {args.burst}"),
        (
            f"{backend}: burst commit -> first / last applied (s)",
            f"{min(burst) - committed:.2f} / {max(burst) - committed:.2f}" if burst else "-",
        ),
    ]
    for name, value in rows:
        print(f"  {name}: {value}", flush=True)
    return rows


# --- idle CPU ----------------------------------------------------------------------------


def idle_cpu(backend: str, url: str | None, work: Path, seconds: float) -> list[tuple[str, str]]:
    """Step 4: serve's CPU while idle, with the feed polled as configured and seldom."""
    rows = []
    for label, interval in (("poll 0.25 s", "0.25"), ("poll 10 s", "10")):
        environment = {"CENTRALINO_FEED_POLL_INTERVAL": interval}
        if url is not None:
            environment["CENTRALINO_DATABASE_URL"] = url
        server = ServeProcess(work / f"idle-{backend}-{interval}" / "data", environment=environment)
        try:
            server.start()
            server.wait_healthy()
            time.sleep(5.0)  # start-up work done
            before = cpu_seconds(server.pid)
            time.sleep(seconds)
            used = cpu_seconds(server.pid) - before
        finally:
            server.stop()
        value = f"{used:.2f} CPU s in {seconds:.0f} s = {100 * used / seconds:.2f}% of a core"
        rows.append((f"{backend}: idle serve, {label}", value))
        print(f"  {rows[-1][0]}: {value}", flush=True)
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "follow":
        data_dir, url, out = Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
        try:
            import uvloop
        except ImportError:
            applied = asyncio.run(follow(data_dir, url))
        else:
            applied = uvloop.run(follow(data_dir, url))
        out.write_text(json.dumps(applied))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--single", type=int, default=500, help="single PATCHes")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between PATCHes")
    parser.add_argument("--burst", type=int, default=10_000, help="extensions imported at once")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds for the follower")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measure")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    pin_to(1)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="feed-") as directory:
        work = Path(directory)
        for backend in args.backends.split(","):
            with contextlib.ExitStack() as stack:
                if backend == "sqlite":
                    url = f"sqlite+aiosqlite:///{work / 'sqlite.db'}"
                    idle_url = None
                else:
                    cluster = stack.enter_context(postgres())
                    url, idle_url = cluster.create_database(), cluster.create_database()
                print(f"{backend}:", flush=True)
                rows += measure(backend, url, work, args)
                rows += idle_cpu(backend, idle_url, work, args.idle)
    print("\n| Measure | Value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
