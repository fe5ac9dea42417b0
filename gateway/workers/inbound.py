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
from gateway.store.streams import StreamAppender
from gateway.workers.consumer import StreamConsumer
from gateway.workers.gate import FeedFirst
from gateway.workers.observers import observe_entry

log = logging.getLogger(__name__)
GROUP = "inbound"
# Entries applied at once: enough to overlap Redis round trips, few enough to bound connections.
_CONCURRENCY = 64
# Batches in progress at once. The next read does not wait for the last batch to finish, so an
# entry that arrives while a batch is being applied is picked up at once, not a batch later.
_BATCHES_IN_FLIGHT = 4


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
    # Shared with an observer worker in the same process, which gives way to the batches.
    feed_first: FeedFirst | None = None


class InboundWorker(StreamConsumer):
    group = GROUP

    def __init__(self, deps: InboundDeps, name: str | None = None) -> None:
        super().__init__(deps.redis, deps.stream, name, deps.batch, deps.block_ms, deps.reclaim_idle_ms)
        self.deps = deps
        self._limit = asyncio.Semaphore(_CONCURRENCY)
        self._room = asyncio.Semaphore(_BATCHES_IN_FLIGHT)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._appender = StreamAppender(deps.redis)

    async def handle_all(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Start applying a batch and return, so the next read overlaps it; waits while
        `_BATCHES_IN_FLIGHT` batches are in progress. A batch that fails stays pending and is
        reclaimed later."""
        if not entries:
            return
        await self._room.acquire()
        if self.deps.feed_first is not None:
            self.deps.feed_first.enter()
        task = asyncio.create_task(self.apply_batch(entries))
        self._in_flight.add(task)
        task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._room.release()
        if self.deps.feed_first is not None:
            self.deps.feed_first.leave()
        if not task.cancelled() and task.exception() is not None:
            log.error("inbound batch failed; its entries stay pending", exc_info=task.exception())

    async def drain(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def apply_batch(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Apply a batch side by side, hand what changed to the observers, acknowledge the batch.

        The feed has the events once `apply()` returns; learning, analytics and ops follow from
        the observe stream (gateway/workers/observers.py). Entries of one return may run side by
        side: `apply()` retries and stays correct.
        """
        async def bounded(entry_id: str, fields: dict[str, str]) -> list[ApplyResult]:
            async with self._limit:
                return await self.handle(entry_id, fields)

        batches = await asyncio.gather(*(bounded(entry_id, fields) for entry_id, fields in entries if fields))
        applied = [result for batch in batches for result in batch]
        async with self.deps.redis.pipeline(transaction=False) as pipe:
            # The observers' work goes on their own stream before this batch is acknowledged.
            if applied:
                await self._appender.append(self.deps.observe_stream, self.deps.observe_maxlen,
                                            [observe_entry(result, "webhook") for result in applied], pipe)
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
