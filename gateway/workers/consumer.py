"""A consumer-group reader of one Redis stream: the loop every stream worker shares.

It makes its group, takes over entries a crashed consumer left pending (XAUTOCLAIM), reads
new ones, and hands each batch to `handle_all`, which acknowledges what it has done.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from gateway.store.server import Entry, xreadgroup_entries

log = logging.getLogger(__name__)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumer:
    group = "consumers"

    def __init__(self, redis: aioredis.Redis, stream: str, name: str | None, batch: int, block_ms: int,
                 reclaim_idle_ms: int) -> None:
        self.redis = redis
        self.stream = stream
        self.name = name or consumer_name()
        self.batch = batch
        self.block_ms = block_ms
        self.reclaim_idle_ms = reclaim_idle_ms
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Consume until `stop()`; a failing round is logged and the next one goes on.

        Entries left pending by a crashed consumer can only be taken once they have been idle
        for `reclaim_idle_ms`, so looking for them more often than a few times in that span
        only adds a round trip to every read.
        """
        await self.ensure_group()
        loop = asyncio.get_running_loop()
        reclaim_every_s = max(0.05, self.reclaim_idle_ms / 4000)
        next_reclaim = 0.0
        while not self._stopping.is_set():
            try:
                if loop.time() >= next_reclaim:
                    await self.reclaim()
                    next_reclaim = loop.time() + reclaim_every_s
                await self.read_once()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # The stream was trimmed away or deleted: make the group again and go on.
                await self.ensure_group()
            except Exception:
                log.exception("%s round failed", self.group)
                await asyncio.sleep(0.5)
        await self.drain()

    async def read_once(self) -> int:
        entries = await xreadgroup_entries(self.redis, self.stream, self.group, self.name, self.batch,
                                           self.block_ms)
        await self.handle_all(entries)
        return len(entries)

    async def reclaim(self) -> int:
        """Take over every entry another consumer read but never acknowledged, a batch at a time."""
        start, taken = "0-0", 0
        while True:
            reply: Any = await self.redis.xautoclaim(self.stream, self.group, self.name,
                                                     min_idle_time=self.reclaim_idle_ms, start_id=start,
                                                     count=self.batch)
            await self.handle_all(reply[1])
            taken += len(reply[1])
            start = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
            if start == "0-0" or not reply[1]:
                return taken

    async def drain(self) -> None:
        """Called once `run` stops: finish what `handle_all` started in the background, if anything."""

    async def handle_all(self, entries: list[Entry]) -> None:
        raise NotImplementedError
