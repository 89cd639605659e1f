"""One object for the identical tabs of many extensions.

Theory of operation. An extension decoded from its stored document is some
140 objects and 23 KB, two thirds of it the forwarding tab; across a
company most extensions' forwarding, options, administration, client and
integrations tabs are identical (the defaults, or the company's common
settings). Models are frozen, so equal tabs can be one shared object: a
cache of 50,000 extensions then takes about 4 KB each instead of 23 (a
restart with 50,000 extensions took 1.4 GB).

:meth:`SharedTabs.decode` validates a stored document with each tab that
was seen before replaced by its shared object (pydantic takes a model
instance as it is), so a shared tab is also validated only once;
:meth:`SharedTabs.share` does the same for an extension already built (one
that arrived on the change feed). Tabs are recognised by their text (the
document's ``repr``, the model's JSON).
The table is bounded: once ``limit`` variants of a tab are known, that
tab's table starts over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from centralino.domain.extension import Extension
from centralino.domain.forwarding import ForwardingSettings
from centralino.domain.options import ClientOptions, Integrations, Options
from centralino.domain.rights import Administration

__all__ = ["SHARED_TABS", "SharedTabs"]

SHARED_TABS: Mapping[str, type[BaseModel]] = {
    "forwarding": ForwardingSettings,
    "options": Options,
    "administration": Administration,
    "client": ClientOptions,
    "integrations": Integrations,
}
"""The tabs that are shared (the voicemail tab holds each extension's PIN)."""


class SharedTabs:
    """A bounded table of tab objects by their text."""

    def __init__(self, limit: int = 1000) -> None:
        self._limit = limit
        self._known: dict[str, dict[str, BaseModel]] = {name: {} for name in SHARED_TABS}

    def decode(self, document: Mapping[str, Any]) -> Extension:
        """``Extension.model_validate(document)``, with identical tabs shared.

        Raises:
            ValidationError: the document is not a valid extension.
        """
        given = dict(document)
        for name, model in SHARED_TABS.items():
            part = given.get(name)
            if not isinstance(part, dict):
                continue
            text = repr(part)  # faithful for JSON values, and quicker than json.dumps
            shared = self._known[name].get(text)
            if shared is None:
                try:
                    shared = self._remember(name, text, model.model_validate(part))
                except ValidationError:
                    continue  # validated with the whole document: errors name the tab
            given[name] = shared
        return Extension.model_validate(given)

    def share(self, extension: Extension) -> Extension:
        """``extension`` with each tab replaced by an equal shared one."""
        shared: dict[str, BaseModel] = {}
        for name in SHARED_TABS:
            tab: BaseModel = getattr(extension, name)
            known = self._remember(name, tab.model_dump_json(), tab)
            if known is not tab:
                shared[name] = known
        return extension.model_copy(update=shared) if shared else extension

    def _remember(self, name: str, text: str, tab: BaseModel) -> BaseModel:
        known = self._known[name]
        if (found := known.get(text)) is not None:
            return found
        if len(known) >= self._limit:
            known.clear()
        known[text] = tab
        return tab
