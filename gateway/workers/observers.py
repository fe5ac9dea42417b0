"""Observers: what follows an applied webhook event, in its own consumer group and, if wanted, process.

The inbound worker applies events (they are in the feed at once) and appends one entry per
changed return to the observe stream; observers take those entries and run learning,
analytics and ops on them. Splitting the two lets `backhaul worker --roles inbound` keep the
feed fast while another process (`--roles observers,...`) does the slower bookkeeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from gateway.ingest import Ingestor
from gateway.store.returns import ApplyResult, ReturnStore
from gateway.store.server import xreadgroup_entries
from normalizers.taxonomy import TrackingEvent

log = logging.getLogger(__name__)
GROUP = "observers"


def observe_entry(result: ApplyResult, source: str) -> dict[str, str]:
    ret = result.ret
    events = json.dumps([e.model_dump(mode="json") for e in result.new_events])
    return {"mid": ret.merchant_id, "rid": ret.id, "source": source, "events": events}


@dataclass(frozen=True)
class ObserverDeps:
    redis: aioredis.Redis
    stream: str
    store: ReturnStore
    ingestor: Ingestor
    batch: int = 200
    block_ms: int = 1000
    reclaim_idle_ms: int = 30_000


class ObserverWorker:
    def __init__(self, deps: ObserverDeps, name: str) -> None:
        self.deps = deps
        self.name = name
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def ensure_group(self) -> None:
        try:
            await self.deps.redis.xgroup_create(self.deps.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        await self.ensure_group()
        while not self._stopping.is_set():
            try:
                await self.reclaim()
                await self.read_once()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self.ensure_group()
            except Exception:
                log.exception("observer round failed")
                await asyncio.sleep(0.5)

    async def read_once(self) -> int:
        d = self.deps
        entries = await xreadgroup_entries(d.redis, d.stream, GROUP, self.name, d.batch, d.block_ms)
        await self.handle(entries)
        return len(entries)

    async def reclaim(self) -> int:
        d = self.deps
        reply: Any = await d.redis.xautoclaim(d.stream, GROUP, self.name, min_idle_time=d.reclaim_idle_ms,
                                              start_id="0-0", count=d.batch)
        await self.handle(reply[1])
        return len(reply[1])

    async def handle(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        if not entries:
            return
        by_source: dict[str, list[ApplyResult]] = {}
        for _, fields in entries:
            if not fields:
                continue
            ret = await self.deps.store.get(fields["mid"], fields["rid"])
            if ret is None:
                continue
            events = [TrackingEvent.model_validate(e) for e in json.loads(fields["events"])]
            by_source.setdefault(fields["source"], []).append(ApplyResult(ret, events))
        for source, applied in by_source.items():
            await self.deps.ingestor.observe(applied, source)
        await self.deps.redis.xack(self.deps.stream, GROUP, *(entry_id for entry_id, _ in entries))
