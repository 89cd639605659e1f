"""Test data of the several-nodes tests: a stored binding, a published call, a node row.

Every value starts at ``tests.fakes.EPOCH``; a call answered was answered at
:data:`LATER`.
"""

from __future__ import annotations

import datetime as dt

from centralino.domain.calls import CallState, LiveCall
from centralino.domain.location import Binding
from centralino.domain.nodes import Node
from tests.fakes import EPOCH

__all__ = ["LATER", "binding", "live_call", "node"]

LATER = EPOCH + dt.timedelta(seconds=5)


def binding(
    number: str,
    node: str = "",
    expires: dt.timedelta = dt.timedelta(hours=1),
    *,
    host: str = "10.0.0.5",
) -> Binding:
    """A UDP registration of ``number`` at ``host``, made at EPOCH."""
    return Binding(
        number=number,
        contact=f"sip:{number}@{host}:5060",
        transport="udp",
        host=host,
        port=5060,
        expires_at=EPOCH + expires,
        registered_at=EPOCH,
        call_id=f"reg-{number}",
        cseq=1,
        node=node,
    )


def live_call(
    call_id: str,
    caller: str = "101",
    callee: str = "102",
    node: str = "",
    at: dt.datetime = EPOCH,
    *,
    state: CallState = CallState.RINGING,
) -> LiveCall:
    """A call in progress started ``at`` (answered at LATER when ``state`` says so)."""
    answered = LATER if state is CallState.ANSWERED else None
    return LiveCall(
        id=call_id,
        caller=caller,
        callee=callee,
        state=state,
        started_at=at,
        answered_at=answered,
        node=node,
    )


def node(name: str, seen: dt.datetime = EPOCH, stopped: dt.datetime | None = None) -> Node:
    """Node ``name`` (``<name>:5060``, ``http://<name>:8080``) started and seen at ``seen``."""
    host = name.lower()
    return Node(
        name=name,
        sip_address=f"{host}:5060",
        http_address=f"http://{host}:8080",
        started_at=seen,
        seen_at=seen,
        stopped_at=stopped,
    )
