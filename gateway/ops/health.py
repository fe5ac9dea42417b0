"""Carrier health: pickup success rate, turnaround, NPR reasons and carrier API error rate.

Pickup outcomes and reasons are counted in Redis by the ingest hook, so every process sees
them. API calls are read from the per-minute stats every process writes to Redis at the end of
each carrier call (gateway/ops/calls.py), so every process shows the same figures; only a
HealthLog built without them falls back to this process's own call histogram.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import redis.asyncio as aioredis

from gateway.metrics import Metrics
from gateway.ops.stuck import percentile
from gateway.store.keys import Keys
from gateway.store.server import text

if TYPE_CHECKING:
    from gateway.ops.calls import CallLog


@dataclass(frozen=True)
class CallStats:
    """Carrier API calls: how many, how many failed, and the latency histogram's cumulative buckets."""

    calls: float = 0
    errors: float = 0
    buckets: tuple[tuple[float, float], ...] = ()

    def minus(self, earlier: CallStats) -> CallStats:
        before = dict(earlier.buckets)
        return CallStats(self.calls - earlier.calls, self.errors - earlier.errors,
                         tuple((le, n - before.get(le, 0)) for le, n in self.buckets))

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    def quantile_s(self, q: float) -> float | None:
        """The bucket bound the q-quantile falls under (as Prometheus would, without interpolation)."""
        if not self.calls:
            return None
        rank = q * self.calls
        return next((le for le, n in sorted(self.buckets) if n >= rank), None)


def call_stats(metrics: Metrics) -> dict[str, CallStats]:
    """Per carrier, from this process's histogram samples."""
    calls: dict[str, float] = defaultdict(float)
    errors: dict[str, float] = defaultdict(float)
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for family in metrics.carrier_call_seconds.collect():
        for sample in family.samples:
            carrier = sample.labels.get("carrier", "")
            if sample.name.endswith("_count"):
                calls[carrier] += sample.value
                if sample.labels.get("outcome") != "ok":
                    errors[carrier] += sample.value
            elif sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets[carrier][le if math.isfinite(le) else math.inf] += sample.value
    return {c: CallStats(calls[c], errors[c], tuple(sorted(buckets[c].items()))) for c in calls}


@dataclass(frozen=True)
class CarrierHealth:
    carrier: str
    pickups: int
    failed_attempts: int
    turnaround_p50_h: float | None
    turnaround_p95_h: float | None
    reasons: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    error_rate: float = 0.0
    latency_p95_s: float | None = None

    @property
    def success_rate(self) -> float | None:
        attempts = self.pickups + self.failed_attempts
        return self.pickups / attempts if attempts else None


@dataclass(frozen=True)
class HealthLog:
    redis: aioredis.Redis
    keys: Keys
    # The Redis-shared carrier call stats; None reads this process's histogram instead.
    calls: CallLog | None = None

    async def picked_up(self, carrier: str) -> None:
        await self.redis.hincrby(self.keys.carrier_health(carrier), "picked_up", 1)

    async def failed(self, carrier: str, reason: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self.keys.carrier_health(carrier), "failed", 1)
            pipe.hincrby(self.keys.carrier_health(carrier), f"reason:{reason}", 1)
            await pipe.execute()

    async def report(self, carriers: list[str], metrics: Metrics) -> list[CarrierHealth]:
        stats = await self.calls.window(carriers) if self.calls is not None else call_stats(metrics)
        return [await self._one(code, stats.get(code, CallStats())) for code in carriers]

    async def _one(self, carrier: str, stats: CallStats) -> CarrierHealth:
        raw = cast(dict[Any, Any], await self.redis.hgetall(self.keys.carrier_health(carrier)))
        counts = {text(k): int(v) for k, v in raw.items()}
        turnaround = [float(text(v)) / 3600 for v in await self.redis.lrange(self.keys.turnaround(carrier), 0, -1)]
        reasons = {k.removeprefix("reason:"): v for k, v in counts.items() if k.startswith("reason:")}
        return CarrierHealth(carrier, counts.get("picked_up", 0), counts.get("failed", 0),
                             percentile(turnaround, 0.5), percentile(turnaround, 0.95),
                             dict(sorted(reasons.items(), key=lambda kv: -kv[1])), int(stats.calls),
                             stats.error_rate, stats.quantile_s(0.95))
