"""Inbound calls from a trunk: the DID dialled, and who owns it.

Theory of operation. A provider puts the number its caller dialled (the DID)
in the Request-URI or in the To header (the trunk's ``did_source``), written
its own way; :func:`did_of` takes it from there and reads it to E.164 with
the trunk's country (:func:`centralino.domain.numbers.to_e164`), so that it
compares equal with the DIDs stored on extensions. :func:`route_did` finds
where the call goes: nowhere when the trunk lists its DIDs and this is not
one of them (a provider may only call the numbers it routes to us); else
the extension whose ``dids`` hold it (the call is then routed to that
extension *as an external call*), else the trunk's
``default_destination``, else nowhere (the caller answers 404).

The caller's own number is read the same way (``to_e164`` on the From user
part) for display and callback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from centralino.domain.destination import Destination, ExtensionDestination
from centralino.domain.extension import Extension
from centralino.domain.numbers import to_e164
from centralino.domain.trunks import DidSource, Trunk

__all__ = ["DidRoute", "did_of", "did_owners", "route_did"]


def _user(part: str) -> str:
    """A URI user part without its parameters (``+39061234;npdi`` -> ``+39061234``)."""
    return part.split(";", 1)[0]


def did_of(trunk: Trunk, request_uri_user: str, to_user: str) -> str:
    """The DID of an inbound call, in E.164 when it can be read so.

    Args:
        trunk: the trunk the call came from (``did_source``, its numbering).
        request_uri_user: the user part of the INVITE's Request-URI.
        to_user: the user part of its To URI.

    Returns:
        The DID from where the trunk puts it, normalised.
    """
    source = request_uri_user if trunk.did_source is DidSource.REQUEST_URI else to_user
    return to_e164(_user(source), trunk)


def did_owners(extensions: Iterable[Extension]) -> dict[str, str]:
    """Map each DID held by an extension to the extension's number.

    Stored DIDs are compared as written: store them in E.164 (they are
    unique system-wide, so no DID maps to two extensions).
    """
    return {did: extension.number for extension in extensions for did in extension.dids}


@dataclass(frozen=True, slots=True, kw_only=True)
class DidRoute:
    """Where a call to a DID goes, and why (``text``)."""

    did: str
    destination: Destination | None
    """None: no extension owns the DID and the trunk has no default (404)."""
    owner: str | None
    """The extension that owns the DID, if one does."""
    text: str


def route_did(did: str, owners: Mapping[str, str], trunk: Trunk) -> DidRoute:
    """Find where a call to ``did`` arriving on ``trunk`` goes.

    Args:
        did: the DID, as :func:`did_of` returns it.
        owners: DID -> extension number (:func:`did_owners`).
        trunk: the trunk the call came from (its ``default_destination``).

    Returns:
        The extension owning the DID, else the trunk's default destination,
        else no destination.
    """
    if trunk.dids and did not in trunk.dids:
        text = f"DID {did} is not one of trunk {trunk.name}'s numbers: refused"
        return DidRoute(did=did, destination=None, owner=None, text=text)
    owner = owners.get(did)
    if owner is not None:
        return DidRoute(
            did=did,
            destination=ExtensionDestination(number=owner),
            owner=owner,
            text=f"DID {did} belongs to extension {owner}",
        )
    default = trunk.default_destination
    if default is None:
        text = f"DID {did} belongs to no extension; trunk {trunk.name} has no default destination"
    else:
        text = (
            f"DID {did} belongs to no extension: it goes to the default destination"
            f" of trunk {trunk.name} ({default.type})"
        )
    return DidRoute(did=did, destination=default, owner=None, text=text)
