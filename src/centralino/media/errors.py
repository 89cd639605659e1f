"""The media layer's one error tree.

* :class:`MediaParseError`: bytes from a peer (an RTP or RTCP datagram, an
  RFC 4733 payload) are malformed. Parsing untrusted bytes raises only this,
  whatever the input; a relay drops the datagram and counts it.
* :class:`AudioFormatError`: an audio file (a greeting upload, a prompt) is
  not usable. It carries a :class:`AudioProblem` code so the API can answer
  422 with a machine-readable reason next to the human sentence.
* :class:`MediaUsageError`: our own caller asked for something impossible
  (a payload type of 300, an unknown DTMF digit). A bug, never a peer fault;
  it is also a :class:`ValueError`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AudioFormatError",
    "AudioProblem",
    "MediaError",
    "MediaParseError",
    "MediaUsageError",
]


class MediaError(Exception):
    """Base of every error raised by :mod:`centralino.media`."""


class MediaParseError(MediaError):
    """Bytes from the peer are not a well-formed media packet or payload."""


class MediaUsageError(MediaError, ValueError):
    """A local caller passed an out-of-range or meaningless argument."""


class AudioProblem(StrEnum):
    """Why an audio file was refused (a stable code for API error bodies)."""

    NOT_WAV = "not_wav"
    UNSUPPORTED_FORMAT = "unsupported_format"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    EMPTY = "empty"
    TOO_LONG = "too_long"


class AudioFormatError(MediaError):
    """An audio file cannot be used; :attr:`problem` says why in one code.

    Args:
        problem: the kind of problem.
        reason: a sentence for a person, naming what was found.
    """

    def __init__(self, problem: AudioProblem, reason: str) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason
