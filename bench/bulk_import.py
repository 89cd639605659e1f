"""Benchmark: 50,000 extensions imported through the API of a running server, during a call.

Floors (issue 9, "Done when"): while the import runs, the call's audio never
stops and SIP answers an OPTIONS in under 100 ms; the server's memory stays
under 500 MB above its idle size; every new extension registers within 5 s
of the import's commit; a restart with 50,000 extensions is ready in under
10 s.

Theory of operation. ``centralino serve`` runs on a fresh SQLite data
directory, free loopback ports, pinned to core 0; this process (the phones,
the prober, the HTTP client) is pinned to core 1. In order:

1. Two extensions (90001 calls 90002) register and set up a call through the
   PBX (407 digest challenge, media anchored); both phones then send G.711
   RTP every 20 ms to the PBX's media ports and record every packet's arrival.
2. An OPTIONS prober sends one OPTIONS every 20 ms (fixed schedule) and
   records each answer's latency; the server's RSS is read from ``/proc``
   every 50 ms.
3. After ``--baseline`` seconds the CSV (``--count`` rows: number, names,
   email; credentials given on ``--sample`` rows spread over the file,
   the last row included, generated for the others) is POSTed to
   ``/api/v1/extensions/import`` as ``text/csv``.
4. From the import's commit on, each sample extension REGISTERs (digest)
   until answered 200, every 0.25 s, each attempt from a new 127.x.y.z
   address (a refused attempt counts as a failed authentication of its
   address). The commit is the moment a reader of its own (a thread of
   this process polling the SQLite file every 10 ms) first sees the feed's
   newest position move; the HTTP response comes later (the server's own
   follower is given up to 2 s to apply the change before it answers).
   Time from the commit to each extension's 200.
5. ``--after`` seconds later the call hangs up and the figures are taken
   over the window [POST sent, response + after]: the OPTIONS latencies
   (max, p99, unanswered), the largest gap between RTP packets received by
   each phone and the packets lost, the peak RSS above the idle RSS (read
   just before the POST).
6. The server is stopped (SIGINT) and started again on the same data:
   time from the spawn to ``/api/v1/health``, to the first OPTIONS answered
   and to a REGISTER of the last imported extension answered 200; the RSS
   once ready.

    .venv/bin/python bench/bulk_import.py [--count 50000] [--sample 50] [--py-spy PATH]

``--py-spy PATH`` records the server with py-spy during the import (raw
collapsed stacks in the work directory), for profiling only: py-spy stops
the process at each sample, which shows as stalls of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve_support import ServeProcess, pin_to, rss_kb  # noqa: E402
from sip_phone import (  # noqa: E402
    Endpoint,
    OptionsProber,
    call,
    open_endpoint,
    register,
)

FIRST = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Edsger"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie"]
CALLER = ("90001", "benchcaller", "Caller-password-0123")
CALLEE = ("90002", "benchcallee", "Callee-password-0123")
FIRST_NUMBER = 10000
RETRY = 0.25
"""Seconds between two registration attempts of one sample extension."""


def sample_rows(count: int, sample: int) -> list[int]:
    """Indexes of the rows given credentials: spread over the file, the last included."""
    step = max(1, count // sample)
    return sorted({*range(step - 1, count, step), count - 1})


def credentials(index: int) -> tuple[str, str, str]:
    """(number, auth ID, password) of sample row ``index``."""
    return str(FIRST_NUMBER + index), f"bulk{index}", f"Bulk-password-{index:05d}"


def make_csv(count: int, sample: int) -> str:
    """``count`` rows: number, names, email; credentials only on the sample rows."""
    chosen = set(sample_rows(count, sample))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "first_name", "last_name", "email", "auth_id", "auth_password"])
    for index in range(count):
        first, last = FIRST[index % len(FIRST)], LAST[index % len(LAST)]
        _, auth_id, password = credentials(index) if index in chosen else ("", "", "")
        email = f"{first}.{last}{index}@example.com".lower()
        writer.writerow([FIRST_NUMBER + index, first, last, email, auth_id, password])
    return buffer.getvalue()


class Addresses:
    """A new loopback source address per registration attempt (see step 4)."""

    def __init__(self) -> None:
        self._next = 0

    def take(self) -> str:
        n, self._next = self._next, self._next + 1
        return f"127.{20 + n // 62500}.{(n // 250) % 250}.{1 + n % 250}"


async def register_until_ok(
    server: tuple[str, int], index: int, addresses: Addresses, since: float, within: float
) -> tuple[float | None, int, str]:
    """Register sample row ``index`` until 200: (seconds after ``since``, attempts, last answer)."""
    number, auth_id, password = credentials(index)
    attempts, last = 0, ""
    while time.monotonic() < since + within:
        attempts += 1
        endpoint = await open_endpoint(addresses.take())
        try:
            answer = await register(endpoint, server, number, auth_id, password, within=2)
            last = answer.first
            if answer.status == 200:
                return answer.received - since, attempts, last
        except TimeoutError:
            last = "timeout"
        finally:
            endpoint.close()
        await asyncio.sleep(RETRY)
    return None, attempts, last


async def sample_rss(pid: int, samples: list[tuple[float, int]], every: float = 0.05) -> None:
    while True:
        samples.append((time.monotonic(), rss_kb(pid)))
        await asyncio.sleep(every)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


@dataclass
class Figures:
    rows: list[tuple[str, str]]

    def add(self, name: str, value: str) -> None:
        self.rows.append((name, value))
        print(f"  {name}: {value}", flush=True)


def _setup(server: ServeProcess) -> None:
    with server.client() as api:
        api.patch(
            "/api/v1/settings", json={"numbering": {"extension_length": 5}}
        ).raise_for_status()
        for number, auth_id, password in (CALLER, CALLEE):
            body = {"number": number, "auth_id": auth_id, "auth_password": password}
            api.post("/api/v1/extensions", json=body).raise_for_status()


def _import(server: ServeProcess, text: str) -> tuple[int, str]:
    with server.client() as api:
        response = api.post(
            "/api/v1/extensions/import",
            content=text.encode(),
            headers={"Content-Type": "text/csv"},
            timeout=600,
        )
        return response.status_code, response.text[:300]


async def _phones(server: ServeProcess) -> tuple[Endpoint, Endpoint]:
    a, b = await open_endpoint(), await open_endpoint()
    for endpoint, (number, auth_id, password) in ((a, CALLER), (b, CALLEE)):
        answer = await register(endpoint, server.sip, number, auth_id, password)
        assert answer.status == 200, answer.first
    return a, b


def _py_spy(path: str | None, pid: int, work: Path) -> subprocess.Popen[bytes] | None:
    if path is None:
        return None
    output = work / "import-profile.txt"
    command = [path, "record", "-p", str(pid), "-f", "raw", "-r", "100", "--nonblocking"]
    command += ["-o", str(output)]
    print(f"  py-spy -> {output}", flush=True)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def during_import(args: argparse.Namespace, server: ServeProcess, figures: Figures) -> None:
    """Steps 1 to 5."""
    text = make_csv(args.count, args.sample)  # before the clocks run: it holds this loop
    a, b = await _phones(server)
    established = await call(server.sip, (a, *CALLER), (b, CALLEE[0]))
    prober = OptionsProber(await open_endpoint(), server.sip, interval=0.02)
    prober.start()
    memory: list[tuple[float, int]] = []
    sampler = asyncio.create_task(sample_rss(server.pid, memory))
    await asyncio.sleep(args.baseline)
    idle_kb = rss_kb(server.pid)
    profiler = _py_spy(args.py_spy, server.pid, args.work)
    loop = asyncio.get_running_loop()
    seen, stop = asyncio.Event(), threading.Event()
    committed: list[float] = []
    watch = (args.work / "data" / "centralino.db", committed, stop)
    watcher = threading.Thread(
        target=watch_commit, args=(*watch, lambda: loop.call_soon_threadsafe(seen.set))
    )
    watcher.start()
    posted = time.monotonic()
    importing = asyncio.ensure_future(asyncio.to_thread(_import, server, text))
    await asyncio.wait(
        [importing, asyncio.ensure_future(seen.wait())], return_when="FIRST_COMPLETED"
    )
    assert committed, f"no commit seen: {await importing}"
    addresses = Addresses()
    registering = asyncio.gather(
        *(
            register_until_ok(server.sip, index, addresses, committed[0], args.after)
            for index in sample_rows(args.count, args.sample)
        )
    )
    status, body = await importing
    answered = time.monotonic()
    stop.set()
    watcher.join()
    assert status == 201, (status, body)
    registered = await registering
    await asyncio.sleep(max(0.0, answered + args.after - time.monotonic()))
    if profiler is not None:
        profiler.send_signal(2)
        profiler.wait(30)
    end = answered + args.after
    established.hang_up()
    prober.stop()
    sampler.cancel()
    await asyncio.sleep(0.5)

    timeline = {
        "posted": posted,
        "answered": answered,
        "options": prober.samples,
        "rss": memory,
        "rtp_a": established.a.arrivals,
        "rtp_b": established.b.arrivals,
    }
    (args.work / "timeline.json").write_text(json.dumps(timeline))
    figures.add("CSV", f"{args.count} rows, {len(text) / 1e6:.1f} MB")
    figures.add("import HTTP response (s)", f"{answered - posted:.2f}")
    window = [(sent, latency) for sent, latency in prober.samples if posted <= sent <= end]
    latencies = [latency * 1000 for _, latency in window if latency is not None]
    figures.add("OPTIONS sent in the window", str(len(window)))
    figures.add("OPTIONS unanswered", str(len(window) - len(latencies)))
    figures.add("OPTIONS latency p50 / p99 / max (ms)", _three(latencies))
    before = [latency * 1000 for sent, latency in prober.samples if sent < posted and latency]
    figures.add("OPTIONS latency max before the import (ms)", f"{max(before):.1f}")
    for name, stream in (("A (caller)", established.a), ("B (callee)", established.b)):
        gap = stream.largest_gap(posted, end) * 1000
        calm = stream.largest_gap(stream.arrivals[0], posted) * 1000
        figures.add(f"RTP received by {name}: largest gap (ms)", f"{gap:.0f} (before: {calm:.0f})")
    lost = (established.a.sent - len(established.b.arrivals)) + (
        established.b.sent - len(established.a.arrivals)
    )
    figures.add("RTP packets lost (both directions, whole call)", str(lost))
    peak_kb = max(kb for t, kb in memory if posted <= t <= end)
    figures.add("RSS idle (MB)", f"{idle_kb / 1024:.0f}")
    figures.add("RSS peak above idle (MB)", f"{(peak_kb - idle_kb) / 1024:.0f}")
    figures.add("RSS at the end of the window (MB)", f"{memory[-1][1] / 1024:.0f}")
    delays = [delay for delay, _, _ in registered if delay is not None]
    failed = [(i, last) for i, (delay, _, last) in enumerate(registered) if delay is None]
    figures.add("sample extensions registered", f"{len(delays)} of {len(registered)}")
    if failed:
        figures.add("not registered (last answer)", str(failed[:3]))
    figures.add("import commit seen before the response (s)", f"{answered - committed[0]:.2f}")
    figures.add("time to register after the commit p50 / max (s)", _three(delays, "{:.2f}", 2))
    figures.add("registration attempts max", str(max(attempts for _, attempts, _ in registered)))


def watch_commit(
    database: Path, seen: list[float], stop: threading.Event, tell: Callable[[], None]
) -> None:
    """Record when the feed's newest position moves (the import committed), in a thread.

    A reader of its own on the SQLite file every 10 ms (WAL: it never waits).
    """
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as reader:
        newest = "SELECT coalesce(max(id), 0) FROM changes"
        (before,) = reader.execute(newest).fetchone()
        while not stop.wait(0.01):
            (now,) = reader.execute(newest).fetchone()
            if now != before:
                seen.append(time.monotonic())
                tell()
                return


def _three(values: list[float], fmt: str = "{:.1f}", parts: int = 3) -> str:
    if not values:
        return "-"
    chosen = [statistics.median(values), percentile(values, 0.99), max(values)]
    if parts == 2:
        chosen = [chosen[0], chosen[2]]
    return " / ".join(fmt.format(value) for value in chosen)


async def restart(args: argparse.Namespace, server: ServeProcess, figures: Figures) -> None:
    """Step 6."""
    figures.add("stop (s)", f"{server.stop():.2f}")
    spawned = server.start()
    memory: list[tuple[float, int]] = []
    sampler = asyncio.create_task(sample_rss(server.pid, memory))
    healthy = await asyncio.to_thread(server.wait_healthy, 120)
    number, auth_id, password = credentials(args.count - 1)
    sip_at = registered_at = None
    deadline = time.monotonic() + 60
    probe = await open_endpoint()
    while time.monotonic() < deadline and registered_at is None:
        with contextlib.suppress(TimeoutError):
            answer = await register(probe, server.sip, number, auth_id, password, within=0.5)
            sip_at = sip_at or answer.received
            if answer.status == 200:
                registered_at = answer.received
        await asyncio.sleep(0.02)
    probe.close()
    await asyncio.sleep(1.0)
    sampler.cancel()
    figures.add("restart: spawn to /api/v1/health (s)", f"{healthy - spawned:.2f}")
    if sip_at is not None and registered_at is not None:
        figures.add("restart: spawn to REGISTER 200 (s)", f"{registered_at - spawned:.2f}")
    figures.add(
        "restart: RSS peak while starting (MB)", f"{max(kb for _, kb in memory) / 1024:.0f}"
    )
    figures.add("restart: RSS once ready (MB)", f"{memory[-1][1] / 1024:.0f}")


async def main_async(args: argparse.Namespace) -> Figures:
    figures = Figures([])
    server = ServeProcess(args.work / "data", core=0)
    try:
        server.start()
        server.wait_healthy()
        _setup(server)
        pin_to(1)
        await during_import(args, server, figures)
        await restart(args, server, figures)
    finally:
        server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=50, help="extensions registered after")
    parser.add_argument("--baseline", type=float, default=3.0, help="seconds before the import")
    parser.add_argument("--after", type=float, default=10.0, help="seconds after the response")
    parser.add_argument("--py-spy", help="path of py-spy: profile the server during the import")
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: temporary)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            shutil.rmtree(args.keep / "data", ignore_errors=True)
            args.keep.mkdir(parents=True, exist_ok=True)
            args.work = args.keep
        else:
            args.work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bulk-")))
        print(f"bulk import: {args.count} extensions, work directory {args.work}", flush=True)
        figures = asyncio.run(main_async(args))
    print("\n| Measure | Value |\n|---|---|")
    for name, value in figures.rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
