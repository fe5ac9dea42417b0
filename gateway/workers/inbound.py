"""Inbound workers: a consumer group over the inbound stream, parsing and applying carrier webhooks.

An entry is acknowledged only after its events are applied. Entries a crashed worker left
pending are reclaimed with XAUTOCLAIM; `apply()` skips events it already recorded, so a
reclaimed entry changes nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from carriers.errors import CarrierError
from gateway.carrier_hub import CarrierHub
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.store.returns import ApplyResult
from gateway.store.server import xreadgroup_entries
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


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class InboundWorker:
    def __init__(self, deps: InboundDeps, name: str | None = None) -> None:
        self.deps = deps
        self.name = name or consumer_name()
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
                # The stream was trimmed away or deleted: make the group again and go on.
                await self.ensure_group()
            except Exception:
                log.exception("inbound round failed")
                await asyncio.sleep(0.5)

    async def read_once(self) -> int:
        d = self.deps
        entries = await xreadgroup_entries(d.redis, d.stream, GROUP, self.name, d.batch, d.block_ms)
        await self.handle_all(entries)
        return len(entries)

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

    async def reclaim(self) -> int:
        """Take over entries another consumer read but never acknowledged."""
        d = self.deps
        reply: Any = await d.redis.xautoclaim(d.stream, GROUP, self.name, min_idle_time=d.reclaim_idle_ms,
                                              start_id="0-0", count=d.batch)
        entries = reply[1]
        await self.handle_all(entries)
        return len(entries)

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
