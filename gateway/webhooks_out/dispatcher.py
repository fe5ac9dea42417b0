"""The dispatcher: follows each merchant's feed with a consumer group and delivers signed webhooks.

Per tick and merchant: the dispatcher holding the merchant's feed lease takes over whatever a
crashed reader left pending (XAUTOCLAIM), then reads new entries (XREADGROUP); each entry is
queued as one message per matching endpoint and XACKed in one Lua step. Then every dispatcher
sends the due FIFO heads it can lease. A crash between a send and its bookkeeping resends the
same webhook-id once the lease runs out; nothing is ever skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

import aiohttp
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from carriers.clock import Clock, SystemClock
from gateway.metrics import Metrics
from gateway.runtime import pause
from gateway.store.keys import Keys
from gateway.webhooks_out.delivery import Outcome, RetryPolicy, post, settlement
from gateway.webhooks_out.endpoints import GROUP, EndpointStore, ensure_group
from gateway.webhooks_out.models import Endpoint, Message, entry_key, matches, message_for
from gateway.webhooks_out.queue import DeliveryQueue

_FEED_LEASE = resources.files("gateway.webhooks_out").joinpath("feed_lease.lua").read_text(encoding="utf-8")
log = logging.getLogger(__name__)
_MAX_PASSES = 50
Entry = tuple[str, dict[str, str] | None]
DeadLetterHook = Callable[[Endpoint, Message, Outcome], Awaitable[None]]


@dataclass(frozen=True)
class DispatcherDeps:
    redis: aioredis.Redis
    keys: Keys
    endpoints: EndpointStore
    queue: DeliveryQueue
    http: aiohttp.ClientSession
    metrics: Metrics
    clock: Clock  # schedules retries and the 24 h window; tests move it
    policy: RetryPolicy
    timeout_s: float = 10.0
    tick_s: float = 1.0
    lease_s: float = 60.0
    feed_lease_ms: int = 60_000  # real time: a crashed reader's feed is taken over after this
    concurrency: int = 16
    batch: int = 100
    # Receivers check webhook-timestamp against their own clock, so signatures use real time.
    signing_clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)
    on_dead_letter: DeadLetterHook | None = None  # the alerts issue plugs in here


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Dispatcher:
    def __init__(self, deps: DispatcherDeps, name: str | None = None) -> None:
        self.deps = deps
        self.name = name or consumer_name()
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(deps.concurrency)
        self._feed_lease = deps.redis.register_script(_FEED_LEASE)
        self._held: set[str] = set()

    async def run(self) -> None:
        """Dispatch until `stop()`; a failing round is logged and the next one goes on."""
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("webhook dispatch round failed")
            await pause(self._stopping, self.deps.tick_s)
        await self.release_feeds()

    def stop(self) -> None:
        self._stopping.set()

    async def run_once(self) -> int:
        """One round over every merchant with endpoints; returns how many attempts were made."""
        attempts = 0
        for mid in await self.deps.endpoints.merchants():
            endpoints = await self.deps.endpoints.all(mid)
            await self.follow(mid, endpoints)
            attempts += await self.deliver_due(mid)
        return attempts

    async def follow(self, mid: str, endpoints: list[Endpoint]) -> None:
        """Queue the merchant's feed entries in feed order: the pending ones first, then new ones.

        Only the holder of the feed lease reads, so an entry left pending by a crashed reader is
        never overtaken by a newer entry of the same return.
        """
        while await self._hold_feed(mid):
            batch = await self._pending(mid) or await self._read_new(mid)
            if not batch:
                return
            for entry_id, fields in batch:
                await self.fan_out(mid, endpoints, entry_id, fields)

    async def _hold_feed(self, mid: str) -> bool:
        d = self.deps
        args: list[str | int] = [self.name, d.feed_lease_ms, "hold"]
        held = bool(await self._feed_lease(keys=[d.keys.webhook_reader(mid)], args=args))
        if held:
            self._held.add(mid)
        else:
            self._held.discard(mid)
        return held

    async def release_feeds(self) -> None:
        """Give up our feed leases so another dispatcher need not wait for them to run out."""
        for mid in sorted(self._held):
            await self._feed_lease(keys=[self.deps.keys.webhook_reader(mid)], args=[self.name, 0, "release"])
        self._held.clear()

    async def _pending(self, mid: str) -> list[Entry]:
        """Entries read but never acknowledged, by any consumer: ours after an error, or a crashed one's."""
        d = self.deps
        try:
            reply = await d.redis.xautoclaim(d.keys.feed(mid), GROUP, self.name, 0, start_id="0-0", count=d.batch)
        except ResponseError as exc:
            await self._on_missing_group(mid, exc)
            return []
        return cast(list[Entry], reply[1])

    async def _read_new(self, mid: str) -> list[Entry]:
        d = self.deps
        try:
            reply = await d.redis.xreadgroup(GROUP, self.name, {d.keys.feed(mid): ">"}, count=d.batch)
        except ResponseError as exc:
            await self._on_missing_group(mid, exc)
            return []
        return [entry for _, entries in cast(list[tuple[str, list[Entry]]], reply or []) for entry in entries]

    async def _on_missing_group(self, mid: str, exc: ResponseError) -> None:
        if "NOGROUP" not in str(exc):
            raise exc
        log.warning("webhook consumer group was missing; created at the feed's end", extra={"merchant_id": mid})
        await ensure_group(self.deps.redis, self.deps.keys.feed(mid))

    async def fan_out(self, mid: str, endpoints: list[Endpoint], entry_id: str, fields: dict[str, str] | None) -> None:
        """Queue one message per matching endpoint and XACK, atomically."""
        now_s = self.deps.clock.now().timestamp()
        messages = []
        try:
            for ep in endpoints:
                if fields and matches(ep.event_types, fields["type"]) and entry_key(entry_id) > entry_key(ep.after):
                    messages.append(message_for(ep.id, entry_id, fields, now_s))
        except (KeyError, ValueError):
            # A feed entry we cannot read would block the group forever; say so and move on.
            log.error("unreadable feed entry acknowledged without delivery",
                      extra={"merchant_id": mid, "entry_id": entry_id, "alert": "webhook_bad_feed_entry"})
            messages = []
        await self.deps.queue.enqueue(mid, GROUP, entry_id, messages, now_s)

    async def deliver_due(self, mid: str) -> int:
        """Send every due head; a delivered head makes the next one due at once, so loop a few passes."""
        d, total = self.deps, 0
        for _ in range(_MAX_PASSES):
            heads = await d.queue.claim(mid, d.clock.now().timestamp(), d.lease_s, d.batch)
            if not heads:
                break
            endpoints = {ep.id: ep for ep in await d.endpoints.all(mid)}
            await asyncio.gather(*(self._deliver_one(mid, endpoints.get(eid), eid, rid) for eid, rid in heads))
            total += len(heads)
        return total

    async def _deliver_one(self, mid: str, endpoint: Endpoint | None, eid: str, rid: str) -> None:
        d = self.deps
        if endpoint is None:
            await d.queue.drop(mid, eid, rid)
            return
        raw = await d.queue.head(mid, eid, rid)
        if raw is None:
            await d.queue.drop(mid, eid, rid)
            return
        message = Message.model_validate_json(raw)
        async with self._slots:
            outcome = await post(d.http, endpoint.url, endpoint.secret, message, d.signing_clock.now(), d.timeout_s)
        result = settlement(message, outcome, d.clock.now().timestamp(), d.policy, d.rng)
        if not await d.queue.settle(mid, eid, rid, raw, result):
            return  # another dispatcher settled it after our lease ran out
        label = "failed" if result.outcome == "retry" else result.outcome
        d.metrics.webhook_deliveries.labels(label).inc()
        d.metrics.webhook_seconds.labels(label).observe(outcome.duration_s)
        if result.outcome == "dead":
            await self._dead_lettered(endpoint, message, outcome)

    async def _dead_lettered(self, endpoint: Endpoint, message: Message, outcome: Outcome) -> None:
        d = self.deps
        d.metrics.webhook_dead_letters.inc()
        extra: dict[str, Any] = {"alert": "webhook_dead_letter", "merchant_id": endpoint.merchant_id,
                                 "endpoint_id": endpoint.id, "return_id": message.return_id,
                                 "message_id": message.id, "attempts": message.attempts + 1}
        log.error("webhook dead-lettered after %d attempts: %s", message.attempts + 1,
                  outcome.error or outcome.status_code, extra=extra)
        if d.on_dead_letter is not None:
            try:
                await d.on_dead_letter(endpoint, message, outcome)
            except Exception:
                log.exception("dead letter hook failed", extra=extra)
