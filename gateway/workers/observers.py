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
from gateway.runtime import pause
from gateway.store.returns import ApplyResult, ReturnStore
from gateway.workers.consumer import StreamConsumer
from gateway.workers.gate import FeedFirst

log = logging.getLogger(__name__)
GROUP = "observers"
# Returns observed between two chances for the feed to go first (see gateway/workers/gate.py).
_STEP = 16


def observe_entry(result: ApplyResult, source: str) -> dict[str, str]:
    ret = result.ret
    texts = result.event_texts or tuple(e.model_dump_json() for e in result.new_events)
    # One event's JSON per line (JSON text never holds a raw newline), exactly as stored, so a
    # cache keyed by that text finds the event without parsing it again.
    return {"mid": ret.merchant_id, "rid": ret.id, "source": source, "event_lines": "\n".join(texts)}


def _event_texts(fields: dict[str, str]) -> list[str]:
    if "event_lines" in fields:
        return fields["event_lines"].split("\n") if fields["event_lines"] else []
    # An entry written before event_lines existed: a JSON array of events.
    return [json.dumps(e) for e in json.loads(fields.get("events") or "[]")]


@dataclass(frozen=True)
class ObserverDeps:
    redis: aioredis.Redis
    stream: str
    store: ReturnStore
    ingestor: Ingestor
    batch: int = 200
    block_ms: int = 1000
    reclaim_idle_ms: int = 30_000
    # Set when an inbound worker runs in the same process: observe in small steps, each after
    # giving way to the inbound batch in progress (for at most `give_way_s`).
    feed_first: FeedFirst | None = None
    give_way_s: float = 0.05
    # After a batch smaller than `batch`, wait this long before reading again, so that what
    # arrives meanwhile is observed together: each batch costs a few round trips, and at a
    # steady 1,000 events/s a batch held one or two events.
    linger_s: float = 0.1


class ObserverWorker(StreamConsumer):
    group = GROUP

    def __init__(self, deps: ObserverDeps, name: str) -> None:
        super().__init__(deps.redis, deps.stream, name, deps.batch, deps.block_ms, deps.reclaim_idle_ms)
        self.deps = deps

    async def read_once(self) -> int:
        """Read and observe one batch; after a small one, linger (see `ObserverDeps.linger_s`)."""
        read = await super().read_once()
        if 0 < read < self.batch and self.deps.linger_s > 0:
            await pause(self._stopping, self.deps.linger_s)  # a stop ends the wait at once
        return read

    async def handle_all(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Read the batch's returns in one round trip, observe them, acknowledge the batch.

        In a worker that also applies, the documents and events are still in the store's
        parsed cache, so nothing is parsed twice.
        """
        if not entries:
            return
        store = self.deps.store
        wanted = [fields for _, fields in entries if fields]
        returns = await store.get_many([(fields["mid"], fields["rid"]) for fields in wanted])
        by_source: dict[str, list[ApplyResult]] = {}
        for fields, ret in zip(wanted, returns, strict=True):
            if ret is None:
                continue
            events = [store.parsed_event(t) for t in _event_texts(fields)]
            by_source.setdefault(fields["source"], []).append(ApplyResult(ret, events))
        for source, applied in by_source.items():
            step = _STEP if self.deps.feed_first is not None else len(applied)
            for start in range(0, len(applied), step):
                if self.deps.feed_first is not None:
                    await self.deps.feed_first.give_way(self.deps.give_way_s)
                await self.deps.ingestor.observe(applied[start:start + step], source)
        await self.deps.redis.xack(self.deps.stream, GROUP, *(entry_id for entry_id, _ in entries))
