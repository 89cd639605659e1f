"""Extension use-cases: create, read, replace, patch, delete, regenerate.

Every interface (REST, console, CLI) calls these; none has its own rules.
Each change runs in one unit of work: model validation, system rules and
uniqueness are checked before anything is written, the audit entry and the
domain events (on the change feed) are written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from centralino.admin.audit import record
from centralino.admin.context import Actor
from centralino.admin.patching import merge_patch
from centralino.admin.rules import RuleContext, check_extension
from centralino.admin.validation import complete_spec, parse_model
from centralino.domain.audit import AuditAction
from centralino.domain.credentials import CredentialGenerator
from centralino.domain.errors import Conflict, InvalidInput, NotFound
from centralino.domain.events import (
    CredentialsChanged,
    DomainEvent,
    ExtensionChanged,
    ExtensionCreated,
    ExtensionDeleted,
    StatusChanged,
)
from centralino.domain.extension import TABS, Extension, ExtensionSpec, UniqueKey, UniqueKind
from centralino.domain.ports import (
    AudioArchive,
    AudioKind,
    Clock,
    ExtensionQuery,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)

__all__ = [
    "LIST_TABS",
    "RESOURCE",
    "ExtensionService",
    "change_events",
    "changed_tabs",
    "rule_context",
    "unique_conflicts",
]

LIST_TABS = frozenset({"devices", "blf_keys", "rights"})
"""Tabs that are lists: a PATCH of one of them replaces the whole list."""

RESOURCE = "extension"
"""The audit trail's resource name for extensions."""
_MAX_ID_ATTEMPTS = 5


def changed_tabs(before: Extension, after: Extension) -> tuple[str, ...]:
    """Names of the tabs (``general`` for top-level fields) that differ."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    tabs = {key if key in TABS else "general" for key in new if old.get(key) != new[key]}
    return tuple(sorted(tabs))


def change_events(before: Extension, after: Extension) -> list[DomainEvent]:
    """The domain events that describe an update (the extension after it included)."""
    tabs = changed_tabs(before, after)
    events: list[DomainEvent] = [ExtensionChanged(number=after.number, tabs=tabs, extension=after)]
    if (before.auth_id, before.auth_password) != (after.auth_id, after.auth_password):
        events.append(CredentialsChanged(number=after.number, old_auth_id=before.auth_id))
    if before.forwarding.status != after.forwarding.status:
        old, new = before.forwarding.status, after.forwarding.status
        events.append(StatusChanged(number=after.number, old=old, new=new))
    return events


async def rule_context(
    uow: UnitOfWork, extension: Extension, previous: Extension | None = None
) -> RuleContext:
    """Gather what the system rules need to judge ``extension``; read only what it changes.

    With ``previous`` (an update) the number is the same, and the groups,
    schedule and extensions that ``previous`` named already are taken as
    they are: only names new to the extension are looked up.
    """
    if previous is None:
        length = (await uow.settings.get()).numbering.extension_length
    else:
        length = len(extension.number)  # an update keeps its number
    groups = _groups(extension)
    if groups - _groups(previous):
        groups = {group.name for group in await uow.groups.all()}
    schedules = _schedules(extension)
    if schedules - _schedules(previous):
        schedules = {schedule.name for schedule in await uow.office_hours.all()}
    referenced = _referenced(extension) - {extension.number}
    new = referenced - _referenced(previous)
    found = await uow.extensions.existing_numbers(new) if new else set()
    return RuleContext(
        extension_length=length,
        groups=frozenset(groups),
        schedules=frozenset(schedules),
        numbers=frozenset((referenced - new) | found | {extension.number}),
    )


def _groups(extension: Extension | None) -> set[str]:
    return {right.group for right in extension.rights} if extension else set()


def _schedules(extension: Extension | None) -> set[str]:
    name = extension.forwarding.office_hours if extension else None
    return {name} if name is not None else set()


def _referenced(extension: Extension | None) -> set[str]:
    return {reference.number for reference in extension.references()} if extension else set()


async def unique_conflicts(
    uow: UnitOfWork, extension: Extension, previous: Extension | None = None
) -> list[Conflict]:
    """Unique values of ``extension`` that another extension holds.

    Values ``previous`` held already are its own: only new ones are looked up.
    """
    held = {(key.kind, key.value) for key in previous.unique_keys()} if previous else set()
    new: dict[UniqueKind, list[UniqueKey]] = {}
    for key in extension.unique_keys():
        if (key.kind, key.value) not in held:
            new.setdefault(key.kind, []).append(key)
    conflicts: list[Conflict] = []
    for kind, keys in new.items():
        owners = await uow.extensions.owners(kind, {key.value for key in keys})
        for key in keys:
            owner = owners.get(key.value)
            if owner is not None and owner != extension.number:
                reason = f"{key.value!r} is already used by extension {owner}"
                conflicts.append(Conflict(key.path, reason))
    return conflicts


class ExtensionService:
    """The extension use-cases."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        clock: Clock,
        generator: CredentialGenerator | None = None,
        *,
        audio: AudioArchive | None = None,
    ) -> None:
        self._units = units
        self._audio = audio
        self._clock = clock
        self._generate = generator or CredentialGenerator()

    async def get(self, number: str) -> Extension:
        """Return one extension.

        Raises:
            NotFound: no extension has that number.
        """
        async with self._units() as uow:
            return await self._load(uow, number)

    async def search(self, query: ExtensionQuery) -> Page[Extension]:
        """Return a page of extensions matching the query."""
        async with self._units() as uow:
            return await uow.extensions.search(query)

    async def create(self, actor: Actor, document: Mapping[str, Any]) -> Extension:
        """Create an extension; omitted secrets are generated.

        Raises:
            InvalidInput: a field is bad (nothing is stored).
            Conflict: the number or a unique value is taken.
        """
        spec = parse_model(ExtensionSpec, document)
        async with self._units() as uow:
            if await uow.extensions.get(spec.number) is not None:
                raise Conflict("number", f"extension {spec.number} already exists")
            extension = await self._complete(uow, spec, None, None)
            await uow.extensions.add(extension)
            after = extension.model_dump(mode="json")
            await self._audit(uow, actor, AuditAction.CREATE, spec.number, None, after)
            created = ExtensionCreated(number=extension.number, extension=extension)
            await uow.changes.append([created], actor=actor.username)
            await uow.commit()
        return extension

    async def replace(self, actor: Actor, number: str, document: Mapping[str, Any]) -> Extension:
        """Replace every setting (PUT); omitted secrets keep their value."""
        body = {"number": number, **document}
        if body["number"] != number:
            raise InvalidInput.single("number", "must match the extension in the URL")
        spec = parse_model(ExtensionSpec, body)
        return await self._update(actor, number, lambda _previous: spec)

    async def patch(self, actor: Actor, number: str, patch: Mapping[str, Any]) -> Extension:
        """Change some settings (RFC 7396 merge patch over the stored extension)."""
        if "number" in patch and patch["number"] != number:
            raise InvalidInput.single("number", "cannot be changed; create a new extension")

        def merged(previous: Extension) -> ExtensionSpec:
            document = merge_patch(previous.model_dump(mode="json"), dict(patch))
            return parse_model(ExtensionSpec, document)

        return await self._update(actor, number, merged)

    async def patch_tab(self, actor: Actor, number: str, tab: str, body: Any) -> Extension:
        """Change one tab and leave every other untouched.

        Raises:
            NotFound: ``tab`` is not a tab of an extension.
        """
        if tab not in TABS:
            raise NotFound("tab", tab)
        if tab not in LIST_TABS and not isinstance(body, dict):
            raise InvalidInput.single(tab, "must be a JSON object")
        return await self.patch(actor, number, {tab: body})

    async def regenerate_credentials(
        self, actor: Actor, number: str, *, auth_id: bool = False
    ) -> Extension:
        """Give the extension a new SIP password (and auth ID when asked)."""

        def regenerated(previous: Extension) -> ExtensionSpec:
            document = previous.model_dump(mode="json") | {"auth_password": None}
            if auth_id:
                document["auth_id"] = None
            return ExtensionSpec.model_validate(document)

        return await self._update(actor, number, regenerated, forget_secrets=True)

    async def delete(self, actor: Actor, number: str) -> None:
        """Delete an extension, its voicemail messages and its greetings.

        Raises:
            NotFound: no extension has that number.
        """
        async with self._units() as uow:
            previous = await self._load(uow, number)
            messages = await uow.voicemail.list(number)
            await uow.voicemail.delete_mailbox(number)
            await uow.extensions.delete(number)
            before = previous.model_dump(mode="json")
            await self._audit(uow, actor, AuditAction.DELETE, number, before, None)
            await uow.changes.append([ExtensionDeleted(number=number)], actor=actor.username)
            await uow.commit()
        if self._audio is not None:
            for message in messages:
                await self._audio.delete(AudioKind.MESSAGE, number, message.id)
            for greeting in previous.voicemail.greetings:
                await self._audio.delete(AudioKind.GREETING, number, greeting.id)

    async def _update(
        self,
        actor: Actor,
        number: str,
        build: Callable[[Extension], ExtensionSpec],
        *,
        forget_secrets: bool = False,
    ) -> Extension:
        async with self._units() as uow:
            previous = await self._load(uow, number)
            spec = build(previous)
            base = _without_secrets(previous) if forget_secrets else previous
            extension = await self._complete(uow, spec, base, previous)
            await uow.extensions.replace(extension)
            before, after = previous.model_dump(mode="json"), extension.model_dump(mode="json")
            action = AuditAction.REGENERATE_CREDENTIALS if forget_secrets else AuditAction.UPDATE
            await self._audit(uow, actor, action, number, before, after)
            await uow.changes.append(change_events(previous, extension), actor=actor.username)
            await uow.commit()
        return extension

    async def _complete(
        self,
        uow: UnitOfWork,
        spec: ExtensionSpec,
        base: Extension | None,
        previous: Extension | None,
    ) -> Extension:
        """Complete ``spec`` over ``base`` (omitted secrets kept from it), judge and check it.

        ``previous`` is the stored extension (None for a new one): what it
        already had is neither looked up again nor checked for uniqueness.
        """
        for _ in range(_MAX_ID_ATTEMPTS):
            extension = complete_spec(spec, self._generate, base)
            errors = check_extension(extension, await rule_context(uow, extension, previous))
            if errors:
                raise InvalidInput(errors)
            conflicts = await unique_conflicts(uow, extension, previous)
            if not conflicts:
                return extension
            id_was_generated = not (spec.auth_id or (base and base.auth_id))
            if not (id_was_generated and any(c.path == "auth_id" for c in conflicts)):
                raise conflicts[0]
        raise Conflict("auth_id", "could not generate a free auth ID; give one")

    async def _load(self, uow: UnitOfWork, number: str) -> Extension:
        extension = await uow.extensions.get(number)
        if extension is None:
            raise NotFound("extension", number)
        return extension

    async def _audit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: AuditAction,
        number: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        await record(uow.audit, self._clock, actor, action, RESOURCE, number, before, after)


def _without_secrets(previous: Extension) -> Extension:
    """``previous`` without its secrets, so that omitted ones are generated anew."""
    return previous.model_copy(update={"auth_password": "", "auth_id": ""})
