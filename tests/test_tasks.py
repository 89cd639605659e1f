"""cancel_and_wait: every task cancelled and awaited, None skipped, failures raised."""

from __future__ import annotations

import asyncio

import pytest

from centralino.tasks import cancel_and_wait


async def test_every_task_is_cancelled_and_awaited() -> None:
    tasks = [asyncio.create_task(asyncio.sleep(60)) for _ in range(3)]
    await cancel_and_wait(None, *tasks)
    assert all(task.cancelled() for task in tasks)


async def test_a_task_that_fails_while_ending_raises() -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.create_task(fails_on_cancel())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        await cancel_and_wait(task)
