"""Calls in progress between extensions (``GET /api/v1/calls``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from centralino.api.dependencies import Services
from centralino.domain.calls import CallState, LiveCall

__all__ = ["CallOut", "router"]

router = APIRouter(tags=["live"])


class CallOut(BaseModel):
    """One call in progress, on the node that handles it."""

    id: str
    caller: str
    callee: str
    state: CallState
    started_at: dt.datetime
    answered_at: dt.datetime | None
    node: str

    @classmethod
    def of(cls, call: LiveCall) -> CallOut:
        """The API form of a live call."""
        return cls(
            id=call.id,
            caller=call.caller,
            callee=call.callee,
            state=call.state,
            started_at=call.started_at,
            answered_at=call.answered_at,
            node=call.node,
        )


@router.get("/calls", response_model=list[CallOut])
async def list_calls(
    services: Services,
    number: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9]+$")] = None,
) -> list[CallOut]:
    """Calls in progress (ringing or answered) on every running node, oldest first.

    ``?number=`` keeps the calls of one extension (caller or callee).
    """
    return [CallOut.of(call) for call in await services.calls.every_call(number)]
