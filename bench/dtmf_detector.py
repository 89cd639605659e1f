"""In-band DTMF detector cost per 20 ms packet, this tree against a git revision.

Theory of operation. ``DtmfDetector.feed`` runs on every RTP packet of a
call answered in-band, so what matters is its CPU per 20 ms packet (160
samples at 8 kHz) on the sounds a voicemail caller sends. The detector of
``--base`` (default ``HEAD``) is loaded from git (``git show``) into a
temporary module inside ``centralino.media`` (its relative imports then
resolve to this tree's helpers), next to the working tree's. Both are fed
the same signals, 320 bytes at a time, alternately, ``--repeat`` times;
the best time of each is reported as microseconds per packet, with the
digits each found (they must be the same). Signals, ``--seconds`` each:

* ``silence``: digital zero (what the prompt playout bench sends);
* ``quiet noise``: white noise at -50 dBFS (a quiet line);
* ``speech-like``: a wandering pitch with harmonics under moving formants,
  loud (the detector tests' false-positive signal);
* ``loud noise``: white noise at -20 dBFS;
* ``digits``: keys 0-9 at -20 dBFS per tone, 60 ms on, 60 ms off, with
  white noise 10 dB below.

    .venv/bin/python bench/dtmf_detector.py
    .venv/bin/python bench/dtmf_detector.py --base HEAD~3 --seconds 5 --repeat 7
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from centralino.media import dtmf_detector
from centralino.media.dtmf import DTMF_FREQUENCIES
from centralino.media.pcm import clip_sample, pcm_from_samples, samples_from_pcm
from centralino.media.tones import multitone, silence, speech_like

ROOT = Path(__file__).resolve().parent.parent
PACKET = 320  # bytes: 20 ms of 8 kHz 16-bit PCM


def _load_base(revision: str, directory: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{revision}:src/centralino/media/dtmf_detector.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = directory / "dtmf_detector_base.py"
    path.write_text(source)
    name = "centralino.media._dtmf_detector_base"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _noise(duration: float, level_dbfs: float, seed: int) -> bytes:
    generator = random.Random(seed)
    sigma = 32767 * 10 ** (level_dbfs / 20)
    return pcm_from_samples(
        clip_sample(generator.gauss(0, sigma)) for _ in range(round(duration * 8000))
    )


def _digits(duration: float) -> bytes:
    keys = "0123456789"
    keyed = b""
    while len(keyed) < duration * 16000:
        keyed += b"".join(
            multitone(DTMF_FREQUENCIES[k], 0.06, amplitude=0.1) + silence(0.06) for k in keys
        )
    keyed = keyed[: round(duration * 8000) * 2]
    noise = samples_from_pcm(_noise(duration, -20 - 10 + 3, seed=7))
    return pcm_from_samples(
        clip_sample(a + b) for a, b in zip(samples_from_pcm(keyed), noise, strict=True)
    )


def _run(factory: Callable[[], object], pcm: bytes) -> tuple[float, str]:
    detector = factory()
    feed = detector.feed  # type: ignore[attr-defined]
    chunks = [pcm[i : i + PACKET] for i in range(0, len(pcm), PACKET)]
    found = []
    started = time.perf_counter()
    for chunk in chunks:
        found.extend(feed(chunk))
    elapsed = time.perf_counter() - started
    return elapsed / len(chunks) * 1e6, "".join(d.digit for d in found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare with")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not 0.1 <= args.seconds <= 60 or not 1 <= args.repeat <= 50:
        parser.error("--seconds in [0.1, 60], --repeat in [1, 50]")
    signals = {
        "silence": silence(args.seconds),
        "quiet noise (-50 dBFS)": _noise(args.seconds, -50, seed=1),
        "speech-like": speech_like(args.seconds, seed=2),
        "loud noise (-20 dBFS)": _noise(args.seconds, -20, seed=3),
        "digits in noise": _digits(args.seconds),
    }
    with tempfile.TemporaryDirectory() as directory:
        base = _load_base(args.base, Path(directory))
        print(f"us per 20 ms packet (best of {args.repeat}), {args.seconds} s per signal")
        print(f"{'signal':24} {args.base:>10} {'tree':>10} {'speed-up':>9}  digits")
        for name, pcm in signals.items():
            best_base = best_tree = math.inf
            digits = ("", "")
            for _ in range(args.repeat):
                t_base, d_base = _run(base.DtmfDetector, pcm)
                t_tree, d_tree = _run(dtmf_detector.DtmfDetector, pcm)
                best_base, best_tree = min(best_base, t_base), min(best_tree, t_tree)
                digits = (d_base, d_tree)
            same = "same" if digits[0] == digits[1] else f"DIFFER: {digits[0]!r}"
            print(
                f"{name:24} {best_base:10.1f} {best_tree:10.1f} "
                f"{best_base / best_tree:8.1f}x  {digits[1]!r} ({same})"
            )


if __name__ == "__main__":
    main()
