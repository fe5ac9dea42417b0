"""Carrier API call figures every process agrees on: read from the per-minute stats in Redis.

`gateway/guard_record.lua` counts each adapter call (calls, carrier-side failures, latency
bucket) into `{cg:<carrier>}:calls:<minute>`, whichever process made it. Ops health and the
carrier error-rate and latency alerts read the same minutes, so two processes asked at the
same moment give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from carriers.clock import Clock
from gateway.ops.health import CallStats
from gateway.store.keys import Keys


def _stats(minutes: Sequence[dict[str, str]]) -> CallStats:
    calls = errors = 0.0
    per_bucket: dict[float, float] = {}
    for minute in minutes:
        calls += float(minute.get("calls", 0))
        errors += float(minute.get("errors", 0))
        for name, count in minute.items():
            if name.startswith("le:"):
                le = float(name[3:])
                per_bucket[le] = per_bucket.get(le, 0.0) + float(count)
    running, cumulative = 0.0, []
    for le in sorted(per_bucket):
        running += per_bucket[le]
        cumulative.append((le, running))
    if cumulative and cumulative[-1][0] != math.inf:
        cumulative.append((math.inf, running))
    return CallStats(calls, errors, tuple(cumulative))


@dataclass(frozen=True)
class CallLog:
    """Reads the shared per-minute carrier call stats."""

    redis: aioredis.Redis
    keys: Keys
    clock: Clock
    kept_s: int = 3600

    def minutes(self, window_s: float) -> range:
        """The minutes (epoch // 60) that cover the last `window_s`, the current one included."""
        now = int(self.clock.now().timestamp() // 60)
        return range(now - max(1, math.ceil(window_s / 60)) + 1, now + 1)

    async def window(self, carriers: Sequence[str], window_s: float | None = None) -> dict[str, CallStats]:
        """Per carrier, the calls of the last `window_s` (default: all that is kept); one round trip."""
        minutes = self.minutes(window_s or self.kept_s)
        async with self.redis.pipeline(transaction=False) as pipe:
            for carrier in carriers:
                for minute in minutes:
                    pipe.hgetall(self.keys.carrier_calls(carrier, minute))
            replies: list[Any] = await pipe.execute()
        n = len(minutes)
        return {carrier: _stats(replies[i * n:(i + 1) * n]) for i, carrier in enumerate(carriers)}
