"""Merchants' webhook endpoints in Redis, and the consumer group that follows each feed for them."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from gateway.models import new_id
from gateway.store.keys import Keys
from gateway.store.server import text
from gateway.webhooks_out.models import Attempt, Endpoint, EndpointCreate, matches, message_for
from gateway.webhooks_out.queue import DeliveryQueue
from gateway.webhooks_out.signing import new_secret

GROUP = "webhooks"


class TooManyEndpoints(Exception):
    """The merchant already has as many endpoints as the settings allow."""


async def ensure_group(redis: aioredis.Redis, stream: str) -> None:
    """The dispatcher's consumer group on a feed, starting at its end; an existing group is kept."""
    try:
        await redis.xgroup_create(stream, GROUP, id="$", mkstream=True)
    except ResponseError as exc:
        # BUSYGROUP: the group exists, which is all we wanted.
        if "BUSYGROUP" not in str(exc):
            raise


class EndpointStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys, queue: DeliveryQueue, max_per_merchant: int = 20) -> None:
        self.redis = redis
        self.keys = keys
        self.queue = queue
        self.max_per_merchant = max_per_merchant

    async def create(self, mid: str, body: EndpointCreate, now: datetime) -> Endpoint:
        """Raises: TooManyEndpoints."""
        k = self.keys
        if await self.redis.zcard(k.webhook_endpoints(mid)) >= self.max_per_merchant:
            raise TooManyEndpoints(mid)
        # Group first, then the cursor: every entry after the cursor is then read by the group.
        await ensure_group(self.redis, k.feed(mid))
        last = cast(list[tuple[str, object]], await self.redis.xrevrange(k.feed(mid), count=1))
        endpoint = Endpoint(id=new_id("whe"), merchant_id=mid, url=str(body.url), event_types=body.event_types,
                            description=body.description, created_at=now, after=last[0][0] if last else "0-0",
                            secret=new_secret())
        await self.redis.sadd(k.webhook_merchants(), mid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(k.webhook_endpoint(mid, endpoint.id), endpoint.model_dump_json())
            pipe.zadd(k.webhook_endpoints(mid), {endpoint.id: int(now.timestamp() * 1000)})
            await pipe.execute()
        return endpoint

    async def get(self, mid: str, eid: str) -> Endpoint | None:
        raw = await self.redis.get(self.keys.webhook_endpoint(mid, eid))
        return Endpoint.model_validate_json(raw) if raw else None

    async def all(self, mid: str) -> list[Endpoint]:
        """Oldest first."""
        ids = [text(i) for i in cast(list[str], await self.redis.zrange(self.keys.webhook_endpoints(mid), 0, -1))]
        docs = await self.redis.mget([self.keys.webhook_endpoint(mid, i) for i in ids]) if ids else []
        return [Endpoint.model_validate_json(d) for d in docs if d]

    async def delete(self, mid: str, eid: str) -> bool:
        """Remove an endpoint, its queued messages, attempt log and dead letters; False if unknown."""
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(k.webhook_endpoint(mid, eid))
            pipe.zrem(k.webhook_endpoints(mid), eid)
            pipe.delete(k.webhook_log(mid, eid), k.webhook_dead(mid, eid))
            existed, *_ = await pipe.execute()
        await self.queue.drop_endpoint(mid, eid)
        return bool(existed)

    async def attempts(self, mid: str, eid: str, limit: int = 100) -> list[Attempt]:
        """Newest first."""
        raw = await self.redis.lrange(self.keys.webhook_log(mid, eid), 0, max(0, limit - 1))
        return [Attempt.model_validate_json(r) for r in raw]

    async def dead_letters(self, mid: str, eid: str) -> int:
        return int(await self.redis.llen(self.keys.webhook_dead(mid, eid)))

    async def replay(self, endpoint: Endpoint, after: str, now_s: float, batch: int = 200) -> int:
        """Queue every feed entry after the stream id `after` for one endpoint, in feed order."""
        mid, start, queued = endpoint.merchant_id, f"({after}", 0
        while True:
            entries = cast(list[tuple[str, dict[str, str]]],
                           await self.redis.xrange(self.keys.feed(mid), min=start, max="+", count=batch))
            if not entries:
                return queued
            picked = [(eid, [message_for(endpoint.id, eid, f, now_s)]) for eid, f in entries
                      if matches(endpoint.event_types, f.get("type", ""))]
            if picked:
                await self.queue.enqueue_replay(mid, picked, now_s)
            queued += len(picked)
            start = f"({entries[-1][0]}"

    async def merchants(self) -> list[str]:
        """Merchants that have, or had, an endpoint: the feeds the dispatcher follows."""
        return sorted(text(m) for m in await self.redis.smembers(self.keys.webhook_merchants()))
