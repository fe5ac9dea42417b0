"""The feed-first gate: observers give way to inbound batches, but never for longer than asked."""

from __future__ import annotations

import asyncio
import gc

from gateway.runtime import settle_heap
from gateway.workers.gate import FeedFirst


async def test_give_way_waits_for_the_feed_work_to_finish() -> None:
    gate = FeedFirst()
    gate.enter()
    gate.enter()
    waiting = asyncio.create_task(gate.give_way(5))
    await asyncio.sleep(0.01)
    gate.leave()
    await asyncio.sleep(0.01)
    assert not waiting.done()  # one batch is still in progress
    gate.leave()
    await asyncio.wait_for(waiting, 1)
    assert not gate.is_busy


async def test_give_way_is_bounded_so_observers_always_progress() -> None:
    gate = FeedFirst()
    gate.enter()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await gate.give_way(0.05)
    assert 0.04 <= loop.time() - started < 1
    assert gate.is_busy


async def test_an_idle_gate_does_not_wait() -> None:
    gate = FeedFirst()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await gate.give_way(5)
    assert loop.time() - started < 0.05


def test_settle_heap_freezes_start_up_and_leaves_full_collections_to_the_timer() -> None:
    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        young, middle, oldest = gc.get_threshold()
        assert (young, middle) == (700, 10) and oldest >= 1_000_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
