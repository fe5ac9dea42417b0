"""Observers: what follows an applied webhook event, in its own consumer group and, if wanted, process.

The inbound worker applies events (they are in the feed at once) and appends one entry per
changed return to the observe stream; observers take those entries and run learning,
analytics and ops on them. Splitting the two lets `backhaul worker --roles inbound` keep the
feed fast while another process (`--roles observers,...`) does the slower bookkeeping.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from gateway.ingest import Ingestor
from gateway.store.returns import ApplyResult, ReturnStore
from gateway.workers.consumer import StreamConsumer
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


class ObserverWorker(StreamConsumer):
    group = GROUP

    def __init__(self, deps: ObserverDeps, name: str) -> None:
        super().__init__(deps.redis, deps.stream, name, deps.batch, deps.block_ms, deps.reclaim_idle_ms)
        self.deps = deps

    async def handle_all(self, entries: list[tuple[str, dict[str, str]]]) -> None:
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
