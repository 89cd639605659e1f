"""Use-cases for SIP trunks and outbound rules (issue 12), shared by API and CLI.

Theory of operation. Both resources follow the group pattern: validate the
document (``parse_model``, errors naming the field), check what the rest of
the system must agree with, write the resource, its audit entry and its
change-feed event (``TrunkChanged`` / ``OutboundRuleChanged``) in one
transaction. A PATCH is a JSON merge patch of the stored document, so a
field the patch does not mention (the registration password above all) is
kept.

Cross-resource rules, each a small named check:

- a DID belongs to at most one trunk (409 naming ``dids.N``);
- a trunk's ``default_destination`` names an existing extension, and is not
  a kind that needs a called extension (``voicemail``, ``mobile``);
- an outbound rule's ``trunks``, ``callers`` and ``groups`` exist (422
  naming ``trunks.N``, ``callers.N``, ``groups.N``);
- a trunk that a rule uses cannot be deleted (409 naming the rules).

The registration password is write-only: :func:`trunk_document` is the form
every interface shows (``registration.password_set`` instead of the value),
and the audit trail masks it (``admin/audit.py``). The change feed carries
the whole trunk, password included, because every node's engine needs it to
register; storage seals it at rest there as in the ``trunks`` table.

A trunk's health comes from the call engine through the ``TrunkStatuses``
port; without an engine (the CLI, a process that runs none) the report says
what is stored and that the rest is unknown (:class:`TrunkStatusReport`).

Who may act is decided once, in :func:`authorize` (today: the owner and
administrators, the only accounts that log in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from centralino.admin.audit import record
from centralino.admin.context import Actor
from centralino.admin.patching import merge_patch
from centralino.admin.validation import parse_model
from centralino.domain.account import AccountRole
from centralino.domain.audit import AuditAction
from centralino.domain.destination import (
    ExtensionDestination,
    ExtensionVoicemail,
    Mobile,
    Voicemail,
)
from centralino.domain.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from centralino.domain.events import OutboundRuleChanged, TrunkChanged
from centralino.domain.model import DomainModel
from centralino.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from centralino.domain.trunks import (
    EmptyTrunkStatuses,
    OutboundRule,
    RegistrationState,
    Trunk,
    TrunkStatuses,
)

__all__ = [
    "OutboundRuleService",
    "TrunkService",
    "TrunkStatusReport",
    "authorize",
    "trunk_document",
]

_MAY_MANAGE_TRUNKS = frozenset({AccountRole.OWNER, AccountRole.ADMINISTRATOR})
"""Roles that may see and change trunks and outbound rules."""

_READ_ONLY = "password_set"
"""The registration field that only output has; accepted (and ignored) in input."""


def authorize(actor: Actor) -> None:
    """Refuse an actor who may not manage trunks and outbound rules.

    The one place that decides it, for every door (API, console, CLI): the
    ``sip_trunks`` right of issue 13 is checked here.

    Raises:
        Forbidden: ``actor`` may not manage trunks.
    """
    if actor.role not in _MAY_MANAGE_TRUNKS:
        raise Forbidden("only the owner and administrators may manage trunks")


def trunk_document(trunk: Trunk) -> dict[str, Any]:
    """``trunk`` as every interface shows it: the password replaced by ``password_set``."""
    document = trunk.model_dump(mode="json")
    registration = dict(document["registration"])
    registration[_READ_ONLY] = registration.pop("password") is not None
    return document | {"registration": registration}


def _input(document: Mapping[str, Any]) -> dict[str, Any]:
    """A trunk document as given, without the read-only ``registration.password_set``."""
    given = dict(document)
    registration = given.get("registration")
    if isinstance(registration, dict) and _READ_ONLY in registration:
        given["registration"] = {k: v for k, v in registration.items() if k != _READ_ONLY}
    return given


class TrunkStatusReport(DomainModel):
    """A trunk's health as the API and CLI report it.

    ``known`` is False when no call engine reported the trunk (no engine runs
    in this process, or it has not loaded the trunk yet): ``registration`` is
    then ``disabled`` for a trunk that does not register and ``unknown``
    otherwise, and ``up`` and ``calls_in_progress`` are null.
    """

    name: str
    enabled: bool
    known: bool
    registration: RegistrationState | Literal["unknown"]
    up: bool | None
    last_response: int | None = None
    last_error: str | None = None
    next_refresh: dt.datetime | None = None
    options_ok: bool | None = None
    options_checked_at: dt.datetime | None = None
    calls_in_progress: int | None = None


def _report(trunk: Trunk, statuses: TrunkStatuses) -> TrunkStatusReport:
    status = statuses.status(trunk.name)
    if status is None:
        registers = trunk.enabled and trunk.registration.enabled
        return TrunkStatusReport(
            name=trunk.name,
            enabled=trunk.enabled,
            known=False,
            registration="unknown" if registers else RegistrationState.DISABLED,
            up=None,
        )
    return TrunkStatusReport(
        name=trunk.name,
        enabled=trunk.enabled,
        known=True,
        registration=status.registration,
        up=status.up,
        last_response=status.last_response,
        last_error=status.last_error,
        next_refresh=status.next_refresh,
        options_ok=status.options_ok,
        options_checked_at=status.options_checked_at,
        calls_in_progress=status.calls_in_progress,
    )


# --- checks that need the rest of the system ---------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class References:
    """What exists, as far as the checks need to know."""

    trunks: frozenset[str]
    extensions: frozenset[str]
    groups: frozenset[str]


class TrunkCheck(Protocol):
    def check(self, trunk: Trunk, known: References) -> Iterator[FieldError]: ...


class RuleCheck(Protocol):
    def check(self, rule: OutboundRule, known: References) -> Iterator[FieldError]: ...


class DefaultDestinationExists:
    """A DID nobody owns goes somewhere real: an existing extension, not "the called one"."""

    def check(self, trunk: Trunk, known: References) -> Iterator[FieldError]:
        target = trunk.default_destination
        if isinstance(target, Voicemail | Mobile):
            reason = f"{target.type!r} needs a called extension: use extension_voicemail or number"
            yield FieldError(path="default_destination.type", reason=reason)
        elif (
            isinstance(target, ExtensionDestination | ExtensionVoicemail)
            and target.number not in known.extensions
        ):
            reason = f"no extension {target.number}"
            yield FieldError(path="default_destination.number", reason=reason)


class TrunksExist:
    """A rule's trunks exist."""

    def check(self, rule: OutboundRule, known: References) -> Iterator[FieldError]:
        for index, name in enumerate(rule.trunks):
            if name not in known.trunks:
                yield FieldError(path=f"trunks.{index}", reason=f"no trunk {name!r}")


class CallersExist:
    """A rule's callers are extensions."""

    def check(self, rule: OutboundRule, known: References) -> Iterator[FieldError]:
        for index, number in enumerate(rule.callers):
            if number not in known.extensions:
                yield FieldError(path=f"callers.{index}", reason=f"no extension {number}")


class GroupsExist:
    """A rule's groups exist."""

    def check(self, rule: OutboundRule, known: References) -> Iterator[FieldError]:
        for index, name in enumerate(rule.groups):
            if name not in known.groups:
                yield FieldError(path=f"groups.{index}", reason=f"no group {name!r}")


TRUNK_CHECKS: tuple[TrunkCheck, ...] = (DefaultDestinationExists(),)
RULE_CHECKS: tuple[RuleCheck, ...] = (TrunksExist(), CallersExist(), GroupsExist())


def _numbers(trunk: Trunk | None = None, rule: OutboundRule | None = None) -> set[str]:
    numbers = set(rule.callers) if rule is not None else set()
    target = trunk.default_destination if trunk is not None else None
    if isinstance(target, ExtensionDestination | ExtensionVoicemail):
        numbers.add(target.number)
    return numbers


async def _references(
    uow: UnitOfWork, trunk: Trunk | None = None, rule: OutboundRule | None = None
) -> References:
    numbers = _numbers(trunk, rule)
    found = await uow.extensions.existing_numbers(numbers) if numbers else set()
    groups = {g.name for g in await uow.groups.all()} if rule and rule.groups else set()
    trunks = {t.name for t in await uow.trunks.all()} if rule is not None else set()
    return References(
        trunks=frozenset(trunks), extensions=frozenset(found), groups=frozenset(groups)
    )


def _raise_errors(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(errors)


async def _check_trunk(uow: UnitOfWork, trunk: Trunk) -> None:
    """Raise the first DID conflict, else every broken reference."""
    others = [other for other in await uow.trunks.all() if other.name != trunk.name]
    owners = {did: other.name for other in others for did in other.dids}
    for index, did in enumerate(trunk.dids):
        if did in owners:
            raise Conflict(f"dids.{index}", f"{did} already belongs to trunk {owners[did]!r}")
    known = await _references(uow, trunk=trunk)
    _raise_errors([error for check in TRUNK_CHECKS for error in check.check(trunk, known)])


async def _check_rule(uow: UnitOfWork, rule: OutboundRule) -> None:
    known = await _references(uow, rule=rule)
    _raise_errors([error for check in RULE_CHECKS for error in check.check(rule, known)])


def _name(before: Trunk | OutboundRule | None, after: Trunk | OutboundRule | None) -> str:
    """The name of the resource a write is about (its new version, else its old one)."""
    return after.name if after is not None else before.name if before is not None else ""


async def _audited(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    action: AuditAction,
    kind: Literal["trunk", "outbound_rule"],
    before: DomainModel | None,
    after: DomainModel | None,
    change: TrunkChanged | OutboundRuleChanged,
) -> None:
    """A write made in ``uow``: its audit entry and its change-feed event, then the commit."""
    await record(
        uow.audit,
        clock,
        actor,
        action,
        kind,
        change.name,
        before.model_dump(mode="json") if before else None,
        after.model_dump(mode="json") if after else None,
    )
    await uow.changes.append([change], actor=actor.username)
    await uow.commit()


def _same_name(merged: Mapping[str, Any], name: str) -> None:
    if merged.get("name") != name:
        raise InvalidInput.single("name", "cannot be changed")


# --- the services ------------------------------------------------------------------------


class TrunkService:
    """Create, list, change and delete trunks; report their health.

    Args:
        units: the unit-of-work factory.
        clock: the time of audit entries.
        statuses: the call engine's view of its trunks (none: nothing known).
    """

    def __init__(
        self, units: UnitOfWorkFactory, clock: Clock, statuses: TrunkStatuses | None = None
    ) -> None:
        self._units, self._clock = units, clock
        self._statuses: TrunkStatuses = statuses if statuses is not None else EmptyTrunkStatuses()

    def with_statuses(self, statuses: TrunkStatuses) -> TrunkService:
        """The same service, reading trunk health from a running call engine."""
        return TrunkService(self._units, self._clock, statuses)

    async def all(self, actor: Actor) -> Sequence[Trunk]:
        """Every trunk, by name (show them with :func:`trunk_document`)."""
        authorize(actor)
        async with self._units() as uow:
            return await uow.trunks.all()

    async def get(self, actor: Actor, name: str) -> Trunk:
        """One trunk.

        Raises:
            NotFound: no such trunk.
        """
        authorize(actor)
        async with self._units() as uow:
            trunk = await uow.trunks.get(name)
        if trunk is None:
            raise NotFound("trunk", name)
        return trunk

    async def status(self, actor: Actor, name: str) -> TrunkStatusReport:
        """The trunk's registration, keep-alive and calls, as the engine reports them.

        Raises:
            NotFound: no such trunk.
        """
        return _report(await self.get(actor, name), self._statuses)

    async def create(self, actor: Actor, document: Mapping[str, Any]) -> Trunk:
        """Create a trunk.

        Raises:
            InvalidInput: a bad field, or a reference to nothing.
            Conflict: the name exists, or a DID belongs to another trunk.
        """
        authorize(actor)
        trunk = parse_model(Trunk, _input(document))
        async with self._units() as uow:
            if await uow.trunks.get(trunk.name) is not None:
                raise Conflict("name", f"trunk {trunk.name!r} already exists")
            await _check_trunk(uow, trunk)
            await self._write(uow, actor, AuditAction.CREATE, None, trunk)
        return trunk

    async def update(self, actor: Actor, name: str, patch: Mapping[str, Any]) -> Trunk:
        """Merge-patch a trunk (RFC 7396); an absent password is kept.

        Raises:
            NotFound: no such trunk.
            InvalidInput: a bad field, a renaming, or a reference to nothing.
            Conflict: a DID belongs to another trunk.
        """
        authorize(actor)
        async with self._units() as uow:
            previous = await uow.trunks.get(name)
            if previous is None:
                raise NotFound("trunk", name)
            merged = merge_patch(previous.model_dump(mode="json"), _input(patch))
            _same_name(merged, name)
            trunk = parse_model(Trunk, merged)
            await _check_trunk(uow, trunk)
            await self._write(uow, actor, AuditAction.UPDATE, previous, trunk)
        return trunk

    async def delete(self, actor: Actor, name: str) -> None:
        """Delete a trunk that no outbound rule uses.

        Raises:
            NotFound: no such trunk.
            Conflict: outbound rules still send calls to it.
        """
        authorize(actor)
        async with self._units() as uow:
            previous = await uow.trunks.get(name)
            if previous is None:
                raise NotFound("trunk", name)
            users = [rule.name for rule in await uow.outbound_rules.all() if name in rule.trunks]
            if users:
                reason = f"used by outbound rules {', '.join(users[:10])}"
                raise Conflict("name", reason)
            await uow.trunks.delete(name)
            await self._write(uow, actor, AuditAction.DELETE, previous, None)

    async def _write(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: AuditAction,
        before: Trunk | None,
        after: Trunk | None,
    ) -> None:
        if after is not None:
            await uow.trunks.put(after)
        name = _name(before, after)
        change = TrunkChanged(name=name, trunk=after)
        await _audited(uow, self._clock, actor, action, "trunk", before, after, change)


class OutboundRuleService:
    """Create, list, change and delete outbound rules (listed in the order tried)."""

    def __init__(self, units: UnitOfWorkFactory, clock: Clock) -> None:
        self._units, self._clock = units, clock

    async def all(self, actor: Actor) -> Sequence[OutboundRule]:
        """Every rule, in the order they are tried: priority, then name."""
        authorize(actor)
        async with self._units() as uow:
            return await uow.outbound_rules.all()

    async def get(self, actor: Actor, name: str) -> OutboundRule:
        """One rule.

        Raises:
            NotFound: no such rule.
        """
        authorize(actor)
        async with self._units() as uow:
            rule = await uow.outbound_rules.get(name)
        if rule is None:
            raise NotFound("outbound_rule", name)
        return rule

    async def create(self, actor: Actor, document: Mapping[str, Any]) -> OutboundRule:
        """Create a rule.

        Raises:
            InvalidInput: a bad field, or a trunk, extension or group that does not exist.
            Conflict: the name exists.
        """
        authorize(actor)
        rule = parse_model(OutboundRule, document)
        async with self._units() as uow:
            if await uow.outbound_rules.get(rule.name) is not None:
                raise Conflict("name", f"outbound rule {rule.name!r} already exists")
            await _check_rule(uow, rule)
            await self._write(uow, actor, AuditAction.CREATE, None, rule)
        return rule

    async def update(self, actor: Actor, name: str, patch: Mapping[str, Any]) -> OutboundRule:
        """Merge-patch a rule (RFC 7396).

        Raises:
            NotFound: no such rule.
            InvalidInput: a bad field, a renaming, or a reference to nothing.
        """
        authorize(actor)
        async with self._units() as uow:
            previous = await uow.outbound_rules.get(name)
            if previous is None:
                raise NotFound("outbound_rule", name)
            merged = merge_patch(previous.model_dump(mode="json"), dict(patch))
            _same_name(merged, name)
            rule = parse_model(OutboundRule, merged)
            await _check_rule(uow, rule)
            await self._write(uow, actor, AuditAction.UPDATE, previous, rule)
        return rule

    async def delete(self, actor: Actor, name: str) -> None:
        """Delete a rule.

        Raises:
            NotFound: no such rule.
        """
        authorize(actor)
        async with self._units() as uow:
            previous = await uow.outbound_rules.get(name)
            if previous is None:
                raise NotFound("outbound_rule", name)
            await uow.outbound_rules.delete(name)
            await self._write(uow, actor, AuditAction.DELETE, previous, None)

    async def _write(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: AuditAction,
        before: OutboundRule | None,
        after: OutboundRule | None,
    ) -> None:
        if after is not None:
            await uow.outbound_rules.put(after)
        name = _name(before, after)
        change = OutboundRuleChanged(name=name, rule=after)
        await _audited(uow, self._clock, actor, action, "outbound_rule", before, after, change)
