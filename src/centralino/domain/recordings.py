"""Recorded calls (the ``record_all_calls`` option, SPEC section 2.6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["CallRecording"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecording:
    """One recorded call: both directions mixed into one 8 kHz mono WAV (archived apart).

    ``call_id`` is the call's id (as in ``GET /api/v1/calls`` and the
    CallStateChanged events); ``duration`` in seconds.
    """

    id: str
    call_id: str
    caller: str
    callee: str
    started_at: dt.datetime
    duration: float
