"""``Matches``: a string constraint that explains itself when it fails.

Pydantic's own pattern errors quote the regular expression; an administrator
should read "must be 4 to 10 digits" instead. ``Matches`` keeps the pattern in
the JSON schema (for API clients) and says the meaning in the error.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["Matches"]


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)  # re.fullmatch(pattern, ...) looks it up in re's cache each time


@dataclass(frozen=True, slots=True)
class Matches:
    """Annotated metadata: the (stripped) string must match ``pattern``.

    Args:
        pattern: a regular expression matched in full.
        meaning: what a valid value is, e.g. ``"4 to 10 digits"``.
    """

    pattern: str
    meaning: str

    def check(self, value: str) -> str:
        stripped = value.strip()
        if _compiled(self.pattern).fullmatch(stripped) is None:
            raise PydanticCustomError(
                "invalid_format", "must be {meaning}", {"meaning": self.meaning}
            )
        return stripped

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(pattern=f"^(?:{self.pattern})$", description=f"Must be {self.meaning}.")
        return json_schema
