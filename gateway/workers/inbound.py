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

from carriers.base import CarrierEvent
from carriers.errors import CarrierError
from gateway.carrier_hub import CarrierHub
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.store.streams import StreamAppender
from gateway.workers.consumer import StreamConsumer
from gateway.workers.gate import FeedFirst
from gateway.workers.observers import observe_entry

log = logging.getLogger(__name__)
GROUP = "inbound"
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
        """Apply a batch, hand what changed to the observers, acknowledge the batch.

        The whole batch is applied in a few round trips (`Ingestor.apply_payloads`). The feed
        has the events once that returns; learning, analytics and ops follow from the observe
        stream (gateway/workers/observers.py).
        """
        d = self.deps
        payloads, dead = [], []
        for entry_id, fields in entries:
            if not fields:
                continue  # trimmed from the stream before it was read
            parsed = self.parse(fields)
            if isinstance(parsed, str):
                dead.append(json.dumps({"id": entry_id, **fields, "error": parsed}))
            else:
                payloads.append(parsed)
        applied = await d.ingestor.apply_payloads(payloads, "webhook")
        now_s = d.ingestor.clock.now().timestamp()
        for _, fields in entries:
            if fields.get("received_ms"):
                lag_s = now_s - int(fields["received_ms"]) / 1000
                d.metrics.ingest_lag_seconds.labels(fields.get("carrier", "?")).observe(max(0.0, lag_s))
        async with d.redis.pipeline(transaction=False) as pipe:
            # The observers' work goes on their own stream before this batch is acknowledged.
            if applied:
                await self._appender.append(d.observe_stream, d.observe_maxlen,
                                            [observe_entry(result, "webhook") for result in applied], pipe)
            if dead:
                pipe.lpush(d.dead_letters, *dead)
            pipe.xack(d.stream, GROUP, *(entry_id for entry_id, _ in entries))
            await pipe.execute()

    def parse(self, fields: dict[str, str]) -> tuple[str, list[CarrierEvent], str] | str:
        """(carrier, events, body) of one stream entry, or why it cannot be parsed."""
        d = self.deps
        carrier = fields.get("carrier", "")
        try:
            adapter = d.hub.get(carrier)
            headers = json.loads(fields.get("headers") or "{}")
            return carrier, adapter.parse_webhook(headers, fields["body"].encode()), fields["body"]
        except (CarrierError, KeyError, ValueError) as exc:
            # A body that parses nowhere will never parse: keep it for ops and move on.
            d.metrics.webhooks_in.labels(carrier or "?", "unparseable").inc()
            log.error("inbound webhook could not be parsed", extra={"carrier": carrier, "error": str(exc)})
            return str(exc)
