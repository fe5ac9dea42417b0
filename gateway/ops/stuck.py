"""Stuck shipments: no new scan within the SLA of the status a shipment is in.

Every applied event moves the return's member in a due-time sorted set to `last scan + SLA`;
the ops worker takes only what is due, so nothing ever scans every shipment. The SLA of a
status is the operator's (`stuck.sla_h`), else the carrier's own p95 time in that status
times a margin once enough samples exist, else a per-status fallback. Times spent in each
status are kept per carrier in bounded lists.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import redis.asyncio as aioredis

from carriers.clock import Clock
from gateway.models import Return
from gateway.ops.config import Stuck
from gateway.store.keys import Keys
from gateway.store.server import text
from normalizers.taxonomy import TERMINAL, Status

_P95_CACHE_S = 600.0


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..1), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def last_scan_s(ret: Return) -> float:
    """When the return last moved: its latest scan, or its booking when that is newer.

    A shipment booked but never scanned is watched from its booking, so a courier who never
    comes is noticed; a re-booked return waits from its new booking, not its old AWB's scans.
    """
    moments = [ret.state.last_event_at, ret.shipment.booked_at if ret.shipment else None]
    known = [m for m in moments if m is not None]
    return max(known).timestamp() if known else ret.updated_at.timestamp()


async def claim_due(redis: aioredis.Redis, key: str, now_s: float, limit: int = 200) -> list[tuple[str, str]]:
    """Members of a due-time set that are due, each taken by exactly one caller (ZREM decides)."""
    due = [text(m) for m in cast(list[Any], await redis.zrangebyscore(key, "-inf", now_s, start=0, num=limit))]
    taken = []
    for member in due:
        if await redis.zrem(key, member):
            mid, rid = member.split(" ", 1)
            taken.append((mid, rid))
    return taken


@dataclass
class StuckWatch:
    redis: aioredis.Redis
    keys: Keys
    clock: Clock
    config: Stuck
    _p95: dict[tuple[str, str], tuple[float, float | None]] = field(default_factory=dict)

    async def observe(self, ret: Return) -> bool:
        """Record time spent in the previous status and set the next due time; True if it was stuck."""
        return (await self.observe_many([ret]))[0]

    async def observe_many(self, rets: Sequence[Return]) -> list[bool]:
        """`observe()` for several different returns: one read and one pipelined write in all.

        On the event path; the SLAs' p95s come from a cache.
        """
        watched = [ret for ret in rets if ret.shipment is not None]
        if not watched:
            return [False] * len(rets)
        async with self.redis.pipeline(transaction=False) as pipe:
            for ret in watched:
                pipe.hget(self.keys.status_since(ret.merchant_id), ret.id)
            befores = await pipe.execute()
        slas = [None if ret.status in TERMINAL else await self.sla_for(ret) for ret in watched]
        flagged_at: dict[str, int] = {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for ret, before, sla_s in zip(watched, befores, slas, strict=True):
                assert ret.shipment is not None
                member, since_key = f"{ret.merchant_id} {ret.id}", self.keys.status_since(ret.merchant_id)
                at = last_scan_s(ret)
                self._queue_duration(pipe, text(before or "").split(" "), ret.id, since_key, ret.shipment.carrier,
                                     ret.status.value, at)
                flagged_at[member] = len(pipe.command_stack)
                pipe.zrem(self.keys.stuck_flagged(), member)
                if sla_s is None:
                    pipe.zrem(self.keys.stuck_due(), member)
                    pipe.hdel(since_key, ret.id)
                else:
                    pipe.zadd(self.keys.stuck_due(), {member: at + sla_s})
            results = await pipe.execute()
        return [bool(results[flagged_at[f"{ret.merchant_id} {ret.id}"]]) if ret.shipment is not None else False
                for ret in rets]

    def _queue_duration(self, pipe: Any, before: list[str], rid: str, since_key: str, carrier: str, status: str,
                        at: float) -> None:
        if len(before) == 3 and (before[0], before[1]) == (status, carrier):
            return
        if len(before) == 3 and before[1] == carrier and at > float(before[2]):
            samples = self.keys.status_durations(carrier, before[0])
            pipe.lpush(samples, str(at - float(before[2])))
            pipe.ltrim(samples, 0, self.config.samples_kept - 1)
        pipe.hset(since_key, rid, f"{status} {carrier} {at}")

    async def record_turnaround(self, carrier: str, booked_at: datetime, picked_up_at: datetime) -> None:
        key = self.keys.turnaround(carrier)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(key, str(max(0.0, (picked_up_at - booked_at).total_seconds())))
            pipe.ltrim(key, 0, self.config.samples_kept - 1)
            await pipe.execute()

    async def p95_s(self, carrier: str, status: str) -> float | None:
        """The carrier's p95 seconds in `status`, None with fewer than `min_samples`; cached for 10 minutes."""
        now = self.clock.now().timestamp()
        cached = self._p95.get((carrier, status))
        if cached is not None and now - cached[0] < _P95_CACHE_S:
            return cached[1]
        raw = await self.redis.lrange(self.keys.status_durations(carrier, status), 0, -1)
        values = [float(text(v)) for v in raw]
        value = percentile(values, 0.95) if len(values) >= self.config.min_samples else None
        self._p95[(carrier, status)] = (now, value)
        return value

    async def sla_for(self, ret: Return) -> float:
        """The SLA of the status the return is in; a drop-off nobody has scanned yet waits for the customer."""
        assert ret.shipment is not None
        if ret.state.last_event_at is None and ret.request is not None and ret.request.fulfilment == "drop_off":
            return self.config.drop_off_h * 3600
        return await self.sla_s(ret.shipment.carrier, ret.status)

    async def sla_s(self, carrier: str, status: Status) -> float:
        if status in self.config.sla_h:
            return self.config.sla_h[status] * 3600
        p95 = await self.p95_s(carrier, status.value)
        if p95 is not None:
            return p95 * self.config.p95_margin
        return self.config.fallback_h.get(status, self.config.default_h) * 3600

    async def due(self, limit: int = 200) -> list[tuple[str, str]]:
        return await claim_due(self.redis, self.keys.stuck_due(), self.clock.now().timestamp(), limit)

    async def flag(self, ret: Return, stale_since: float) -> None:
        await self.redis.zadd(self.keys.stuck_flagged(), {f"{ret.merchant_id} {ret.id}": stale_since})

    async def flagged(self, limit: int = 1000) -> list[tuple[str, str, float]]:
        found = await self.redis.zrange(self.keys.stuck_flagged(), 0, limit - 1, withscores=True)
        rows = [(text(m).split(" ", 1), float(s)) for m, s in cast(list[tuple[Any, float]], found)]
        return [(ref[0], ref[1], since) for ref, since in rows]
