"""Frame-by-frame playback and recording of 8 kHz 16-bit mono audio.

A :class:`WavSource` hands out 20 ms frames (160 samples, 320 bytes) of a
prompt or greeting for the RTP sender, the last one padded with silence. A
:class:`WavSink` collects frames of a recording up to an optional maximum
length and produces the WAV file; the glue decides where the bytes go.
Neither reads a clock: the glue calls them once per packet time.
"""

from __future__ import annotations

from .errors import MediaUsageError
from .pcm import FRAME_BYTES, SAMPLE_RATE
from .wav import encode_wav, read_wav

__all__ = ["WavSink", "WavSource"]


class WavSource:
    """Plays converted PCM as fixed-size frames.

    Args:
        pcm: 8 kHz 16-bit little-endian mono audio.
        frame_bytes: bytes per frame (320 for 20 ms).
    """

    def __init__(self, pcm: bytes, *, frame_bytes: int = FRAME_BYTES) -> None:
        if len(pcm) % 2 or frame_bytes <= 0 or frame_bytes % 2:
            raise MediaUsageError("PCM and frames must hold whole 16-bit samples")
        self._pcm = pcm
        self._frame_bytes = frame_bytes
        self._position = 0

    @classmethod
    def from_wav(cls, data: bytes, *, max_duration: float = 300.0) -> WavSource:
        """Convert a WAV file (see :func:`~centralino.media.wav.read_wav`) and play it.

        Args:
            data: the whole file.
            max_duration: the longest audio accepted, in seconds.

        Returns:
            A source positioned at the start.

        Raises:
            AudioFormatError: the file is not a usable WAV.
        """
        return cls(read_wav(data, max_duration=max_duration).pcm)

    @property
    def duration(self) -> float:
        """Total length in seconds."""
        return len(self._pcm) / (2 * SAMPLE_RATE)

    @property
    def finished(self) -> bool:
        """True when every frame has been read."""
        return self._position >= len(self._pcm)

    def next_frame(self) -> bytes | None:
        """Return the next frame, or None at the end.

        Returns:
            Exactly ``frame_bytes`` bytes (the last frame padded with
            silence), or None once the audio is exhausted.
        """
        if self.finished:
            return None
        frame = self._pcm[self._position : self._position + self._frame_bytes]
        self._position += self._frame_bytes
        return frame + bytes(self._frame_bytes - len(frame))

    def rewind(self) -> None:
        """Start again from the beginning (to replay a message)."""
        self._position = 0


class WavSink:
    """Collects recorded PCM, stopping at ``max_duration`` seconds.

    Args:
        max_duration: the longest recording kept, or None for no limit.
    """

    def __init__(self, *, max_duration: float | None = None) -> None:
        self._limit = None if max_duration is None else 2 * round(max_duration * SAMPLE_RATE)
        self._chunks: list[bytes] = []
        self._size = 0

    @property
    def duration(self) -> float:
        """Seconds recorded so far."""
        return self._size / (2 * SAMPLE_RATE)

    @property
    def full(self) -> bool:
        """True once the maximum length is reached: stop recording."""
        return self._limit is not None and self._size >= self._limit

    def write(self, pcm: bytes) -> None:
        """Append 16-bit mono PCM, cut at the maximum length.

        Args:
            pcm: audio at 8 kHz, an even number of bytes.

        Raises:
            MediaUsageError: ``pcm`` has an odd length.
        """
        if len(pcm) % 2:
            raise MediaUsageError(f"16-bit PCM of odd length {len(pcm)}")
        if self._limit is not None:
            pcm = pcm[: max(0, self._limit - self._size)]
        self._chunks.append(pcm)
        self._size += len(pcm)

    @property
    def pcm(self) -> bytes:
        """Everything recorded, as 16-bit PCM."""
        joined = b"".join(self._chunks)
        self._chunks = [joined]
        return joined

    def to_wav(self) -> bytes:
        """Return the recording as a WAV file (8 kHz 16-bit mono)."""
        return encode_wav(self.pcm)
