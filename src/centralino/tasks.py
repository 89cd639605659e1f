"""Background asyncio tasks: the one way the glue stops them.

Storage and the call engine both run loops in tasks and stop them the same
way; this module (stdlib only, below every glue package) holds that once.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel every task, then wait for each to end (``None`` entries are skipped).

    Raises:
        Exception: what a task raised while ending, other than its cancellation.
    """
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError):
            await task
