"""`custody.bus.worker.cancel_all` stops a task even when it swallows a cancellation, as
Python 3.11's asyncio.wait_for does when the cancel races the result it waits for (inside
every nats-py request and fetch). One cancel and a gather would wait for it forever."""

from __future__ import annotations

import asyncio

from custody.bus.worker import cancel_all


async def _swallows_first_cancel(swallowed: list[bool]) -> None:
    """A poll loop whose request completed just as it was cancelled, then polls on."""
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(True)  # what wait_for does: the result wins, the cancel is lost
            asyncio.current_task().uncancel()  # type: ignore[union-attr]


async def test_a_task_that_swallows_its_cancel_is_cancelled_again_until_it_ends() -> None:
    swallowed: list[bool] = []
    task = asyncio.create_task(_swallows_first_cancel(swallowed))
    await asyncio.sleep(0.02)
    async with asyncio.timeout(5):
        await cancel_all({task})
    assert swallowed == [True]
    assert task.cancelled()


async def test_one_cancel_does_not_stop_such_a_task() -> None:
    """Why cancel_all exists: the pattern it replaces leaves the task running."""
    swallowed: list[bool] = []
    task = asyncio.create_task(_swallows_first_cancel(swallowed))
    await asyncio.sleep(0.02)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.3)
    assert swallowed == [True]
    assert not done
    await cancel_all({task})


async def test_finished_and_plain_tasks_are_fine() -> None:
    finished = asyncio.create_task(asyncio.sleep(0))
    await finished
    sleeping = asyncio.create_task(asyncio.sleep(60))
    async with asyncio.timeout(5):
        await cancel_all({finished, sleeping})
    assert sleeping.cancelled()
