"""The PBX's own voice on one leg: play prompts, hear keys, record.

Theory of operation. A :class:`MediaEndpoint` *holds* one leg of a
:class:`~.session.MediaSession` (the relay stops for that leg) and is the
media half of a :class:`~centralino.telephony.apps.channel.Channel`:

* **Sending**: :meth:`MediaEndpoint.play` cuts PCM into 20 ms frames,
  encodes them in the leg's negotiated codec and sends one RTP packet per
  frame, paced by the engine's one :class:`~.clock.MediaClock` (one timer
  for every prompt playing, on a fixed schedule: no drift). Frames
  are encoded once per prompt and codec, shared by every caller hearing the
  same prompt and kept for the next plays (up to 32 MB of prompt audio,
  least recently played dropped first), and the codec is looked up again
  only when the leg renegotiates. The endpoint's own
  SSRC, sequence numbers and timestamps are random at the start; between
  two prompts the timestamp advances with the wall clock and the first
  packet carries the marker bit, so the phone's jitter buffer sees a new
  talkspurt rather than a jump.
* **Keys**: with ``telephone-event`` negotiated, RFC 4733 events are read
  (each digit once, even with its end packets lost); otherwise the decoded
  audio goes through the in-band Goertzel detector. Keys wait in one
  queue: a key pressed during a prompt interrupts it and stays queued
  (type-ahead).
* **Recording**: the decoded audio of each packet is placed by its RTP
  timestamp, not its arrival time, so reordered or late packets land where
  they belong and gaps (loss, silence suppression) become silence; a new
  SSRC continues after what was recorded. Energy per frame tells speech
  from silence, for an optional silence stop.
* **The end**: :meth:`MediaEndpoint.close` (the call ended) wakes every
  waiter; every pending and later call raises
  :class:`~centralino.telephony.apps.channel.HungUp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import operator
import secrets
import struct
from array import array
from collections import OrderedDict, deque
from collections.abc import Sequence

import structlog

from centralino.calls.ports import Side
from centralino.media.codecs import Codec, CodecRegistry
from centralino.media.dtmf import DtmfReceiver
from centralino.media.dtmf_detector import DtmfDetector
from centralino.media.errors import MediaError
from centralino.media.pcm import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE
from centralino.media.rtp import RTP_VERSION, RtpPacket, is_rtcp
from centralino.telephony.apps.channel import HungUp, RecordEnd, Recording
from centralino.telephony.media.clock import MediaClock
from centralino.telephony.media.negotiation import LegCodecs
from centralino.telephony.media.session import MediaLeg, MediaSession

__all__ = ["MediaEndpoint"]

log = structlog.get_logger("centralino.media")

_SPEECH_LEVEL = 0.01
"""RMS (of full scale) above which a frame counts as speech (about -40 dBFS)."""
_FULL_SCALE = 32768.0
_MAX_GAP_SECONDS = 10.0
"""A timestamp jump larger than this is a new stream, not a gap to fill."""
_HEADER = struct.Struct("!BBHII")  # RFC 3550 §5.1, no CSRC, no extension
_FIRST_BYTE = RTP_VERSION << 6
_PROMPT_MEMORY = 32 * 1024 * 1024
"""Bytes of prompt PCM whose encoded frames are kept (least recently played go first)."""


class _Take:
    """One recording in progress: PCM placed by RTP timestamp."""

    def __init__(self, max_samples: int, *, track_speech: bool = True) -> None:
        self.pcm = bytearray()
        self.max_samples = max_samples
        self.track_speech = track_speech  # only a silence stop reads last_speech
        self._ssrc: int | None = None
        self._base_timestamp = 0
        self._base_offset = 0
        self.last_speech: float | None = None

    def add(self, packet: RtpPacket, pcm: bytes, now: float) -> bool:
        """Place one packet's audio; False once the take is full."""
        if packet.ssrc != self._ssrc:
            self._ssrc = packet.ssrc
            self._base_timestamp = packet.timestamp
            self._base_offset = len(self.pcm) // 2
        offset = (packet.timestamp - self._base_timestamp) & 0xFFFFFFFF
        if offset >= 0x80000000:
            return True  # older than the stream's first packet: dropped
        if offset - (len(self.pcm) // 2 - self._base_offset) > _MAX_GAP_SECONDS * SAMPLE_RATE:
            self._base_timestamp = packet.timestamp  # a jump: continue where we are
            self._base_offset = len(self.pcm) // 2
            offset = 0
        start = (self._base_offset + offset) * 2
        end = min(start + len(pcm), self.max_samples * 2)
        if start >= end:
            return False
        if end > len(self.pcm):
            self.pcm.extend(bytes(end - len(self.pcm)))
        self.pcm[start:end] = pcm[: end - start]
        if self.track_speech and _rms(pcm) > _SPEECH_LEVEL:
            self.last_speech = now
        return end < self.max_samples * 2


def _rms(pcm: bytes) -> float:
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    energy = sum(map(operator.mul, samples, samples))  # in C, not a generator
    return math.sqrt(energy / len(samples)) / _FULL_SCALE


class _Encoded:
    """One prompt's frames in one codec, each encoded when a playout first needs it.

    Shared by every playout of the same PCM in the same codec (the same
    greeting to many callers is encoded once), and kept for the next plays
    (see :func:`_encoded`).
    """

    __slots__ = ("audio", "codec", "frames")

    def __init__(self, codec: Codec, audio: bytes) -> None:
        self.codec = codec
        self.audio = audio
        self.frames: list[bytes | None] = [None] * -(-len(audio) // FRAME_BYTES)

    def frame(self, index: int) -> bytes:
        payload = self.frames[index]
        if payload is None:
            pcm = self.audio[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
            if len(pcm) < FRAME_BYTES:
                pcm += bytes(FRAME_BYTES - len(pcm))
            payload = self.frames[index] = self.codec.encode(pcm)
        return payload


_prompts: OrderedDict[tuple[Codec, bytes], _Encoded] = OrderedDict()
_prompt_bytes = 0


def _encoded(codec: Codec, audio: bytes) -> _Encoded:
    """The shared encoded frames of ``audio`` in ``codec`` (least recently used dropped)."""
    global _prompt_bytes  # one memory for the process
    key = (codec, audio)
    encoded = _prompts.get(key)
    if encoded is not None:
        _prompts.move_to_end(key)
        return encoded
    encoded = _prompts[key] = _Encoded(codec, audio)
    _prompt_bytes += len(audio)
    while _prompt_bytes > _PROMPT_MEMORY and len(_prompts) > 1:
        (_codec, dropped), _value = _prompts.popitem(last=False)
        _prompt_bytes -= len(dropped)
    return encoded


class _Playout:
    """One prompt playing: a client of the media clock (see :mod:`.clock`)."""

    __slots__ = ("_encoded", "audio", "done", "endpoint", "frames", "index", "interrupt")

    def __init__(
        self,
        endpoint: MediaEndpoint,
        audio: bytes,
        interrupt: bool,
        done: asyncio.Future[str | None],
    ) -> None:
        self.endpoint = endpoint
        self.audio = audio
        self.frames = -(-len(audio) // FRAME_BYTES)
        self.index = 0
        self.interrupt = interrupt
        self.done = done
        self._encoded: _Encoded | None = None

    def tick(self, at: float) -> bool:
        """Send the next frame; at the end (or on a key, or hung up) finish."""
        done = self.done
        if done.done():
            return False  # finished by a key or the hang-up, or cancelled
        endpoint = self.endpoint
        if endpoint.closed:
            done.set_exception(HungUp())
            return False
        if self.interrupt and endpoint._digits:
            done.set_result(endpoint._digits[0])
            return False
        if self.index >= self.frames:
            done.set_result(None)  # the last frame's 20 ms are over
            return False
        endpoint._send_frame(self, at)
        self.index += 1
        return True

    def payload(self, codec: Codec) -> bytes:
        """The current frame encoded in ``codec``."""
        encoded = self._encoded
        if encoded is None or encoded.codec is not codec:
            encoded = self._encoded = _encoded(codec, self.audio)
        return encoded.frame(self.index)


class MediaEndpoint:
    """Holds one leg of a media session for a PBX application.

    Args:
        session: the call's media.
        side: which leg (the one facing the phone the application talks to).
        codecs: the codecs the PBX encodes and decodes.
        clock: the engine's media clock, which paces every prompt.
    """

    def __init__(
        self, session: MediaSession, side: Side, codecs: CodecRegistry, clock: MediaClock
    ) -> None:
        self._session = session
        self._side = side
        self._leg: MediaLeg = session.leg(side)
        self._codecs = codecs
        self._clock = clock
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._last_sent: float | None = None
        self._digits: deque[str] = deque(maxlen=64)
        self._wake = asyncio.Event()
        self._closed = False
        self._take: _Take | None = None
        self._dtmf: DtmfReceiver | None = None
        self._detector: DtmfDetector | None = None
        self._dtmf_timer: asyncio.TimerHandle | None = None
        self._playouts: set[_Playout] = set()
        self._sending: LegCodecs | None = None  # the leg codecs the next three are for
        self._send_codec: Codec | None = None
        self._send_type = 0
        self.renegotiated()
        session.hold(side, self)

    @property
    def closed(self) -> bool:
        """True once the call's media ended."""
        return self._closed or self._session.closed

    def renegotiated(self) -> None:
        """The leg's codecs changed: pick the key receiver (RFC 4733 or in band)."""
        event_type = self._leg.codecs.payload_types.get("TELEPHONE-EVENT")
        if event_type is not None:
            if self._dtmf is None or self._dtmf.payload_type != event_type:
                self._dtmf = DtmfReceiver(payload_type=event_type)
            self._detector = None
        else:
            self._dtmf = None
            self._detector = self._detector or DtmfDetector()

    # Receiving ------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """One packet from the phone (called by the session)."""
        if self._closed or is_rtcp(data):
            return
        try:
            packet = RtpPacket.parse(data)
        except MediaError:
            return
        if self._dtmf is not None and packet.payload_type == self._dtmf.payload_type:
            try:
                received = self._dtmf.receive(packet, now)
            except MediaError:
                return
            for digit in received:
                self._key(digit.digit)
            self._arm_dtmf_timer()
            return
        codec = self._codec_of(packet.payload_type)
        if codec is None:
            return
        pcm = codec.decode(packet.payload)
        if self._detector is not None:
            for detected in self._detector.feed(pcm):
                self._key(detected.digit)
        take = self._take
        if take is not None and not take.add(packet, pcm, now):
            self._wake.set()  # full: the recorder notices

    def _codec_of(self, payload_type: int) -> Codec | None:
        name = self._leg.codecs.by_payload_type.get(payload_type)
        if name is None and payload_type in (0, 8):
            name = "PCMU" if payload_type == 0 else "PCMA"
        return self._codecs.by_name(name) if name else None

    def _key(self, digit: str) -> None:
        self._digits.append(digit)
        self._wake.set()
        for playout in self._playouts:
            if playout.interrupt and not playout.done.done():
                playout.done.set_result(self._digits[0])

    def _arm_dtmf_timer(self) -> None:
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
            self._dtmf_timer = None
        receiver = self._dtmf
        due = receiver.get_timer() if receiver is not None else None
        if due is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, due - loop.time())
        self._dtmf_timer = loop.call_later(delay, self._dtmf_timeout)

    def _dtmf_timeout(self) -> None:
        self._dtmf_timer = None
        if self._dtmf is not None:
            for digit in self._dtmf.handle_timer(asyncio.get_running_loop().time()):
                self._key(digit.digit)

    # Keys -------------------------------------------------------------------------

    def _check(self) -> None:
        if self.closed:
            raise HungUp

    async def get_digit(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """The next key, or None after ``timeout`` seconds (HungUp when the call ends)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._check()
            if self._digits:
                return self._digits.popleft()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self._sleep_until_woken(remaining)

    def flush_digits(self) -> None:
        """Forget keys pressed and not read yet."""
        self._digits.clear()

    def press(self, key: str) -> None:
        """A key sent by signalling (SIP INFO): queued like the others."""
        if not self._closed:
            self._key(key)

    async def _sleep_until_woken(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    # Playing --------------------------------------------------------------------

    async def play(self, pcm: bytes | Sequence[bytes], *, interrupt: bool = True) -> str | None:
        """Play PCM to the phone, paced in real time (see the module docstring).

        Returns:
            The key that interrupted it (still queued), or None.

        Raises:
            HungUp: the call ended.
        """
        buffers = [pcm] if isinstance(pcm, bytes | bytearray) else list(pcm)
        audio = b"".join(bytes(buffer) for buffer in buffers)
        self._check()
        if interrupt and self._digits:
            return self._digits[0]
        if not audio:
            return None
        done: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        playout = _Playout(self, audio, interrupt, done)
        clock = self._clock
        self._playouts.add(playout)
        try:
            clock.add(playout)  # the first frame goes at once, or on the next tick
            return await done
        finally:
            clock.remove(playout)
            self._playouts.discard(playout)

    def _send_frame(self, playout: _Playout, at: float) -> None:
        """Send ``playout``'s current frame, due at ``at`` (called by the clock)."""
        if playout.index == 0 and self._last_sent is not None:
            # A new talkspurt: the timestamp advances with the time since the last one.
            gap = max(0, round((at - self._last_sent) * SAMPLE_RATE) - FRAME_SAMPLES)
            self._timestamp = (self._timestamp + gap) & 0xFFFFFFFF
        leg = self._leg
        codecs = leg.codecs
        if codecs is not self._sending:  # renegotiated (or the first frame): look up again
            self._sending = codecs
            name = codecs.primary or "PCMU"
            self._send_codec = self._codecs.by_name(name)
            self._send_type = codecs.payload_types.get(name, 0)
        codec = self._send_codec
        destination = leg.destination
        if codec is not None and destination is not None and not self._session.closed:
            payload = playout.payload(codec)
            marker = 0x80 if playout.index == 0 else 0
            data = _HEADER.pack(
                _FIRST_BYTE, marker | self._send_type, self._sequence, self._timestamp, self._ssrc
            )
            data += payload
            leg.sockets.send_rtp(data, destination)
            leg.statistics.sent(len(data))
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        self._last_sent = at

    # Recording --------------------------------------------------------------------

    async def record(
        self, *, max_seconds: float, stop_keys: str = "#", silence_seconds: float | None = None
    ) -> Recording:
        """Record what the phone sends (see :meth:`Channel.record`)."""
        loop = asyncio.get_running_loop()
        take = self._take = _Take(
            max(1, round(max_seconds * SAMPLE_RATE)), track_speech=silence_seconds is not None
        )
        started = loop.time()
        deadline = started + max_seconds
        end, key = RecordEnd.MAX_LENGTH, None
        try:
            while True:
                if self.closed:
                    end = RecordEnd.HUNG_UP
                    break
                while self._digits:
                    pressed = self._digits.popleft()
                    if pressed in stop_keys:
                        end, key = RecordEnd.KEY, pressed
                        break
                if key is not None:
                    break
                now = loop.time()
                if now >= deadline or len(take.pcm) >= take.max_samples * 2:
                    break
                if silence_seconds is not None:
                    quiet_since = take.last_speech or started
                    if now - quiet_since >= silence_seconds:
                        end = RecordEnd.SILENCE
                        break
                await self._sleep_until_woken(min(deadline - now, 0.1))
        finally:
            self._take = None
        return Recording(pcm=bytes(take.pcm), end=end, key=key)

    # The end ------------------------------------------------------------------------

    def release(self) -> None:
        """Give the leg back to the relay (the application is done with it)."""
        self._session.unhold(self._side)
        self._stop()

    def close(self) -> None:
        """The call's media ended: wake and stop every waiter (idempotent)."""
        self._stop()

    def _stop(self) -> None:
        self._closed = True
        if self._dtmf_timer is not None:
            self._dtmf_timer.cancel()
            self._dtmf_timer = None
        self._wake.set()
        for playout in self._playouts:
            if not playout.done.done():
                playout.done.set_exception(HungUp())
