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
    """One call in progress."""

    id: str
    caller: str
    callee: str
    state: CallState
    started_at: dt.datetime
    answered_at: dt.datetime | None

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
        )


@router.get("/calls", response_model=list[CallOut])
async def list_calls(
    services: Services,
    number: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9]+$")] = None,
) -> list[CallOut]:
    """Calls in progress (ringing or answered), oldest first; ``?number=`` filters."""
    return [CallOut.of(call) for call in services.calls.calls(number)]
