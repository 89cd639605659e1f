"""Centralino's media core: pure, standard library only, no I/O, no clock.

Bytes, samples and times go in as arguments; packets, frames, digits and
deadlines come out. The glue (``centralino.net`` and ``centralino.telephony``)
owns the sockets and the timers.

Map of the package:

* :mod:`.rtp`, :mod:`.rtcp`, :mod:`.rtcp_statistics`: RFC 3550 packets,
  sequence arithmetic, reception reports;
* :mod:`.codecs`: the :class:`~.codecs.Codec` interface and registry, G.711
  mu-law and A-law by lookup tables;
* :mod:`.dtmf` (RFC 4733 events, sender, receiver), :mod:`.dtmf_detector`
  (in-band Goertzel detector), :mod:`.tones` (generators, Goertzel power);
* :mod:`.jitter`: the playout buffer;
* :mod:`.pcm`, :mod:`.mixing`: the internal audio format (8 kHz 16-bit mono
  little-endian), saturating mixing and gain;
* :mod:`.wav`, :mod:`.wav_stream`, :mod:`.resample`: WAV in (any common
  format, converted) and out, 20 ms frame sources and sinks;
* :mod:`.errors`: the one error tree.
"""

from __future__ import annotations

from .errors import AudioFormatError, AudioProblem, MediaError, MediaParseError, MediaUsageError

__all__ = [
    "AudioFormatError",
    "AudioProblem",
    "MediaError",
    "MediaParseError",
    "MediaUsageError",
]
