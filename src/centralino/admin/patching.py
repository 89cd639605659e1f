"""JSON Merge Patch (RFC 7396): how PATCH bodies change a stored document."""

from __future__ import annotations

from typing import Any

__all__ = ["merge_patch"]


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply ``patch`` to ``target`` and return the result (inputs untouched).

    An object merges key by key, ``null`` removes a key (so it returns to its
    default), anything else (lists included) replaces the value.
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
