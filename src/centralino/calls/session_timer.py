"""Session timers (RFC 4028) on the legs of a call, when a peer asks for them.

Theory of operation. A provider (or a phone) may want proof that a call is
still alive: its INVITE carries ``Session-Expires`` and ``Supported: timer``.
The PBX never asks for timers itself, but honours them on the leg that did:

* **a caller asking** (:func:`requested`): our 2xx says ``Session-Expires``
  with the refresher the caller named (``uac`` when it named none: the
  caller refreshes) and ``Require: timer`` (§9); so does our 2xx to each of
  its refreshes (re-INVITE or UPDATE), or the caller would take the timer
  as turned off;
* **a callee answering with** ``Session-Expires`` (§7.2; a provider may add
  it unasked, or after our retry of a 422): ``refresher=uac`` names us on
  that leg;
* **a callee refusing 422** (Session Interval Too Small): the INVITE is
  sent again once with ``Session-Expires`` at its ``Min-SE`` (§7.4).

A :class:`SessionTimer` runs on one leg: when *we* refresh, it sends a
refresh (UPDATE when the peer allows it, else a re-INVITE with our session)
at half the interval; when the *peer* refreshes, a refresh restarts it and
its silence ends the call at the interval less ``min(32, interval/3)``
seconds (§10), as a BYE would.
"""

from __future__ import annotations

from collections.abc import Callable

from centralino.calls.context import Context, Outcome
from centralino.calls.io import LegResponse
from centralino.calls.legs import Leg
from centralino.calls.session_expires import Refresher, Timing
from centralino.calls.timers import Timer
from centralino.sip.codes import Method
from centralino.sip.message import Request

__all__ = ["SessionTimer"]


class SessionTimer:
    """The session timer of one leg (see the module docstring)."""

    def __init__(
        self,
        context: Context,
        leg: Leg,
        timing: Timing,
        *,
        we_refresh: bool,
        on_expired: Callable[[], None],
        allows_update: bool = False,
        session: Callable[[], bytes] = lambda: b"",
    ) -> None:
        self._context = context
        self._leg = leg
        self.timing = timing
        self.we_refresh = we_refresh
        self._sent: Request | None = None
        self._on_expired = on_expired
        self._allows_update = allows_update
        self._session = session
        self._timer: Timer | None = None
        self._arm()

    def _arm(self) -> None:
        self.stop()
        interval = self.timing.interval
        if self.we_refresh:
            self._timer = self._context.after(interval / 2, self._refresh)
        else:
            self._timer = self._context.after(interval - min(32, interval / 3), self._expired)

    def refreshed(self) -> None:
        """A refresh arrived (or ours was answered): the interval starts again."""
        if self._timer is not None:
            self._arm()

    def stop(self) -> None:
        """The call ended: no more refreshes, no expiry."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, _now: float) -> None:
        self._timer = None
        self._on_expired()

    def _refresh(self, _now: float) -> None:
        self._timer = None
        # In our refresh we are the UAC, and we go on refreshing (§7.4).
        extra = [("Session-Expires", self.timing.header(Refresher.UAC)), ("Supported", "timer")]
        if self._allows_update:
            method, body = Method.UPDATE, b""
        else:
            method, body = Method.INVITE, self._session()
            if body:
                extra.append(("Content-Type", "application/sdp"))
        sent = self._leg.send_in_dialog(method, on_outcome=self._answered, extra=extra, body=body)
        if sent is not None:
            self._sent = sent
            self._arm()

    def _answered(self, outcome: Outcome) -> None:
        if not isinstance(outcome, LegResponse):
            return
        response = outcome.response
        if response.is_success and self._sent is not None and self._sent.method == Method.INVITE:
            self._leg.acknowledge(self._sent)
        if response.status in (408, 481):  # §10: the session is gone
            self.stop()
            self._on_expired()
