"""The delivery queue: a FIFO list per (endpoint, return) and a due set of the lists' heads.

Only a list's head is ever in flight, so a later event of a return is not sent before an
earlier one is delivered or dead-lettered; different returns and endpoints go in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis

from gateway.store.keys import Keys
from gateway.store.server import text
from gateway.webhooks_out.models import Message

_PACKAGE = resources.files("gateway.webhooks_out")
_ENQUEUE = _PACKAGE.joinpath("enqueue.lua").read_text(encoding="utf-8")
_SETTLE = _PACKAGE.joinpath("settle.lua").read_text(encoding="utf-8")
# The poller's claim script does exactly what the due set needs: take due members, lease them.
_CLAIM = resources.files("gateway.store").joinpath("claim_due.lua").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Settlement:
    """What to write after one attempt: outcome is "delivered", "retry" or "dead"."""

    outcome: str
    next_due_s: float
    attempt_json: str
    new_head: str = ""
    dead_json: str = ""


def member(eid: str, rid: str) -> str:
    return f"{eid} {rid}"


class DeliveryQueue:
    def __init__(self, redis: aioredis.Redis, keys: Keys, log_kept: int = 100, dead_kept: int = 10_000) -> None:
        self.redis = redis
        self.keys = keys
        self.log_kept = log_kept
        self.dead_kept = dead_kept
        self._enqueue = redis.register_script(_ENQUEUE)
        self._settle = redis.register_script(_SETTLE)
        self._claim = redis.register_script(_CLAIM)

    def _enqueue_args(self, mid: str, group: str, entry_id: str, messages: list[Message],
                      now_s: float) -> tuple[list[str], list[Any]]:
        k = self.keys
        queues = [k.webhook_queue(mid, m.endpoint_id, m.return_id) for m in messages]
        args: list[Any] = [group, entry_id, now_s]
        for m in messages:
            args += [member(m.endpoint_id, m.return_id), m.model_dump_json()]
        return [k.feed(mid), k.webhook_due(mid), *queues], args

    async def enqueue(self, mid: str, group: str, entry_id: str, messages: list[Message], now_s: float) -> bool:
        """Queue a feed entry's messages and XACK it atomically; False if another consumer did."""
        keys, args = self._enqueue_args(mid, group, entry_id, messages, now_s)
        return bool(await self._enqueue(keys=keys, args=args))

    async def enqueue_replay(self, mid: str, batch: list[tuple[str, list[Message]]], now_s: float) -> None:
        """Queue already-acknowledged entries again, in order, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id, messages in batch:
                keys, args = self._enqueue_args(mid, "", entry_id, messages, now_s)
                await self._enqueue(keys=keys, args=args, client=pipe)
            await pipe.execute()

    async def claim(self, mid: str, now_s: float, lease_s: float, limit: int) -> list[tuple[str, str]]:
        """Due heads, each leased so no other dispatcher takes it until `now + lease`."""
        found = await self._claim(keys=[self.keys.webhook_due(mid)], args=[now_s, now_s + lease_s, limit])
        pairs = [text(m).split(" ", 1) for m in found]
        return [(p[0], p[1]) for p in pairs]

    async def head(self, mid: str, eid: str, rid: str) -> str | None:
        raw = await self.redis.lindex(self.keys.webhook_queue(mid, eid, rid), 0)
        return text(raw) if raw is not None else None

    async def settle(self, mid: str, eid: str, rid: str, sent: str, result: Settlement) -> bool:
        """Record an attempt on the head that was sent; False when it is no longer the head."""
        k = self.keys
        keys = [k.webhook_queue(mid, eid, rid), k.webhook_due(mid), k.webhook_log(mid, eid), k.webhook_dead(mid, eid)]
        args: list[str | float] = [member(eid, rid), sent, result.outcome, result.next_due_s, result.new_head,
                                   result.attempt_json, self.log_kept, result.dead_json, self.dead_kept]
        return bool(await self._settle(keys=keys, args=args))

    async def drop(self, mid: str, eid: str, rid: str) -> None:
        """Forget one list: its endpoint was deleted."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.webhook_queue(mid, eid, rid))
            pipe.zrem(self.keys.webhook_due(mid), member(eid, rid))
            await pipe.execute()

    async def drop_endpoint(self, mid: str, eid: str) -> None:
        """Forget every list of one endpoint; each non-empty list has its head in the due set."""
        due = self.keys.webhook_due(mid)
        async for raw, _ in self.redis.zscan_iter(due, match=f"{eid} *"):
            _, rid = text(raw).split(" ", 1)
            await self.drop(mid, eid, rid)
