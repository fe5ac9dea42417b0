"""Feed first: in a worker process that both applies and observes, the apply goes first.

The feed's latency is what merchants see; learning, analytics and ops bookkeeping can wait a
few milliseconds. With both roles in one process they share one event loop and one core, so
the observers give way while an inbound batch is in progress, each time for a bounded while
so they always progress (and catch up as soon as the inbound stream is quiet).
"""

from __future__ import annotations

import asyncio
import contextlib


class FeedFirst:
    def __init__(self) -> None:
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        """Feed work started."""
        self._busy += 1
        self._idle.clear()

    def leave(self) -> None:
        """Feed work finished."""
        self._busy -= 1
        if self._busy <= 0:
            self._busy = 0
            self._idle.set()

    @property
    def is_busy(self) -> bool:
        return self._busy > 0

    async def give_way(self, max_wait_s: float) -> None:
        """Wait until no feed work is in progress, at most `max_wait_s`."""
        if self._busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), max_wait_s)
