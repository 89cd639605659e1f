"""Live state of the call engine: registrations and blocked addresses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from centralino.api.dependencies import CurrentActor, Services
from centralino.domain.location import Binding, BlockedAddress

__all__ = ["BlockedAddressOut", "RegistrationOut", "router"]

router = APIRouter(tags=["live"])


class RegistrationOut(BaseModel):
    """One registered contact of an extension, on the node that holds it."""

    number: str
    contact: str
    transport: str
    host: str
    port: int
    expires_at: dt.datetime
    expires_in: int
    registered_at: dt.datetime
    user_agent: str
    auth_user: str
    node: str
    """The node holding the registration (calls to the phone go through it)."""

    @classmethod
    def of(cls, binding: Binding, now: dt.datetime) -> RegistrationOut:
        """The API form of a binding at ``now``."""
        return cls(
            number=binding.number,
            contact=binding.contact,
            transport=binding.transport,
            host=binding.host,
            port=binding.port,
            expires_at=binding.expires_at,
            expires_in=binding.remaining(now),
            registered_at=binding.registered_at,
            user_agent=binding.user_agent,
            auth_user=binding.auth_user,
            node=binding.node,
        )


class BlockedAddressOut(BaseModel):
    """A block after repeated failed SIP authentications, on the node that decided it."""

    address: str
    user: str | None
    """The user name refused from ``address``; null: every name not proven there."""
    failures: int
    blocked_until: dt.datetime
    node: str

    @classmethod
    def of(cls, blocked: BlockedAddress) -> BlockedAddressOut:
        """The API form of a block."""
        return cls(
            address=blocked.address,
            user=blocked.user,
            failures=blocked.failures,
            blocked_until=blocked.blocked_until,
            node=blocked.node,
        )


@router.get("/registrations", response_model=list[RegistrationOut])
async def list_registrations(
    services: Services,
    number: Annotated[str | None, Query(max_length=10)] = None,
) -> list[RegistrationOut]:
    """Current SIP registrations on every running node, of one extension (``?number=``) or all."""
    now = dt.datetime.now(dt.UTC)
    return [RegistrationOut.of(b, now) for b in await services.live.every_registration(number)]


@router.get("/security/blocked", response_model=list[BlockedAddressOut])
async def list_blocked(services: Services) -> list[BlockedAddressOut]:
    """Addresses (or user names from an address) blocked after failed SIP authentications.

    Every alive node's blocks, each naming its node.
    """
    return [BlockedAddressOut.of(b) for b in await services.security.blocked()]


@router.delete("/security/blocked/{address}", status_code=204, response_class=Response)
async def unblock(
    address: Annotated[str, Path(max_length=64)], actor: CurrentActor, services: Services
) -> Response:
    """Lift every block of an address on every node (audited); 404 when none blocks it."""
    await services.security.unblock(actor, address)
    return Response(status_code=204)
