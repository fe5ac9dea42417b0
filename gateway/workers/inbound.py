"""Inbound workers: a consumer group over the inbound stream, parsing and applying carrier webhooks.

An entry is acknowledged only after its events are applied. Entries a crashed worker left
pending are reclaimed with XAUTOCLAIM; `apply()` skips events it already recorded, so a
reclaimed entry changes nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from carriers.errors import CarrierError
from gateway.carrier_hub import CarrierHub
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.store.returns import ApplyResult
from gateway.workers.consumer import StreamConsumer
from gateway.workers.observers import observe_entry

log = logging.getLogger(__name__)
GROUP = "inbound"
# Entries applied at once: enough to overlap Redis round trips, few enough to bound connections.
_CONCURRENCY = 64


@dataclass(frozen=True)
class InboundDeps:
    redis: aioredis.Redis
    stream: str
    dead_letters: str
    hub: CarrierHub
    ingestor: Ingestor
    metrics: Metrics
    observe_stream: str = "observe"
    observe_maxlen: int = 1_000_000
    block_ms: int = 1000
    batch: int = 100
    reclaim_idle_ms: int = 30_000


class InboundWorker(StreamConsumer):
    group = GROUP

    def __init__(self, deps: InboundDeps, name: str | None = None) -> None:
        super().__init__(deps.redis, deps.stream, name, deps.batch, deps.block_ms, deps.reclaim_idle_ms)
        self.deps = deps

    async def handle_all(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Apply a batch side by side, hand what changed to the observers, acknowledge the batch.

        The feed has the events once `apply()` returns; learning, analytics and ops follow from
        the observe stream (gateway/workers/observers.py). Entries of one return may run side by
        side: `apply()` retries and stays correct.
        """
        if not entries:
            return
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def bounded(entry_id: str, fields: dict[str, str]) -> list[ApplyResult]:
            async with limit:
                return await self.handle(entry_id, fields)

        batches = await asyncio.gather(*(bounded(entry_id, fields) for entry_id, fields in entries if fields))
        applied = [result for batch in batches for result in batch]
        async with self.deps.redis.pipeline(transaction=False) as pipe:
            # The observers' work goes on their own stream before this batch is acknowledged.
            for result in applied:
                pipe.xadd(self.deps.observe_stream, observe_entry(result, "webhook"),  # type: ignore[arg-type]
                          maxlen=self.deps.observe_maxlen, approximate=True)
            pipe.xack(self.deps.stream, GROUP, *(entry_id for entry_id, _ in entries))
            await pipe.execute()

    async def handle(self, entry_id: str, fields: dict[str, str]) -> list[ApplyResult]:
        d = self.deps
        carrier = fields.get("carrier", "")
        try:
            adapter = d.hub.get(carrier)
            headers = json.loads(fields.get("headers") or "{}")
            events = adapter.parse_webhook(headers, fields["body"].encode())
        except (CarrierError, KeyError, ValueError) as exc:
            # A body that parses nowhere will never parse: keep it for ops and move on.
            d.metrics.webhooks_in.labels(carrier or "?", "unparseable").inc()
            log.error("inbound webhook could not be parsed", extra={"carrier": carrier, "error": str(exc)})
            await d.redis.lpush(d.dead_letters, json.dumps({"id": entry_id, **fields, "error": str(exc)}))
            return []
        applied = await d.ingestor.apply_events(carrier, events, fields["body"], "webhook")
        received_ms = int(fields.get("received_ms") or 0)
        if received_ms:
            lag_s = d.ingestor.clock.now().timestamp() - received_ms / 1000
            d.metrics.ingest_lag_seconds.labels(carrier).observe(max(0.0, lag_s))
        return applied
