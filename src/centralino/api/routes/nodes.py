"""The nodes sharing the database (``GET /api/v1/nodes``)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel

from centralino.admin.nodes import NodeStatus
from centralino.api.dependencies import Services

__all__ = ["NodeOut", "router"]

router = APIRouter(prefix="/nodes", tags=["live"])


class NodeOut(BaseModel):
    """A ``centralino serve`` process on this database."""

    name: str
    sip_address: str
    """Where its SIP transports listen (``host:port``)."""
    http_address: str
    """Its REST API and console."""
    started_at: dt.datetime
    seen_at: dt.datetime
    """Its last heartbeat (every few seconds while it runs)."""
    stopped_at: dt.datetime | None
    """When it stopped cleanly; null while it runs (or after a crash)."""
    alive: bool
    """Running and seen lately: its registrations and calls are listed."""

    @classmethod
    def of(cls, status: NodeStatus) -> NodeOut:
        """The API form of a node."""
        node = status.node
        return cls(
            name=node.name,
            sip_address=node.sip_address,
            http_address=node.http_address,
            started_at=node.started_at,
            seen_at=node.seen_at,
            stopped_at=node.stopped_at,
            alive=status.alive,
        )


@router.get("", response_model=list[NodeOut])
async def list_nodes(services: Services) -> list[NodeOut]:
    """Every node that ever ran on this database, by name, with whether it is alive."""
    return [NodeOut.of(status) for status in await services.nodes.nodes()]
