"""The carrier guard's cost per adapter call: circuit breaker, rate limit and shared stats in Redis.

`CarrierHub.call` runs a no-op "adapter call" with the guard and without it, in alternating
rounds (ratios within one run, as DESIGN.md asks), one call at a time and 64 at once. Redis's
own `INFO commandstats` gives the round trips per call (script runs) and the server time they
took. The rate limit is set far above the load so no call waits: this is pure overhead.
Run: .venv/bin/python bench/bench_carrier_guard.py
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from bench.bench_ingest import redis_server
from carriers.clock import SystemClock
from gateway.carrier_guard import CarrierGuard
from gateway.carrier_hub import CarrierHub
from gateway.metrics import Metrics
from gateway.settings import CarrierGuardSettings, Settings
from gateway.store.keys import Keys
from gateway.store.server import client_for

CALLS_PER_ROUND = 2000
ROUNDS = 5
CONCURRENCY = 64
PREFIX = "bhbench:guard:"


async def _nothing() -> int:
    return 1


async def _sequential(hub: CarrierHub) -> float:
    """Microseconds per call, one call at a time."""
    started = time.perf_counter()
    for _ in range(CALLS_PER_ROUND):
        await hub.call("bench", "track", _nothing)
    return (time.perf_counter() - started) / CALLS_PER_ROUND * 1e6


async def _concurrent(hub: CarrierHub) -> float:
    """Calls per second with CONCURRENCY callers."""
    per_task = CALLS_PER_ROUND // CONCURRENCY

    async def caller() -> None:
        for _ in range(per_task):
            await hub.call("bench", "track", _nothing)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    return per_task * CONCURRENCY / (time.perf_counter() - started)


async def _ping_us(redis: aioredis.Redis) -> float:
    """One bare Redis round trip from this client, for scale."""
    started = time.perf_counter()
    for _ in range(CALLS_PER_ROUND):
        await redis.ping()
    return (time.perf_counter() - started) / CALLS_PER_ROUND * 1e6


async def _script_stats(redis: aioredis.Redis) -> tuple[int, int]:
    """(script runs, server microseconds) so far."""
    info: dict[str, Any] = await redis.info("commandstats")
    stats = [v for k, v in info.items() if k in ("cmdstat_evalsha", "cmdstat_eval")]
    return sum(int(s["calls"]) for s in stats), sum(int(s["usec"]) for s in stats)


async def _alternate(hubs: dict[str, CarrierHub], measure: Callable[[CarrierHub], Awaitable[float]]
                     ) -> dict[str, float]:
    results: dict[str, list[float]] = {name: [] for name in hubs}
    for _ in range(ROUNDS):
        for name, hub in hubs.items():
            results[name].append(await measure(hub))
    return {name: statistics.median(values) for name, values in results.items()}


async def _bench(url: str) -> dict[str, float]:
    redis, metrics = client_for(url), Metrics()
    settings = CarrierGuardSettings(rate_per_s=1e9, burst=1_000_000)
    guard = CarrierGuard(redis, Keys(PREFIX), SystemClock(), metrics, settings)
    try:
        async with aiohttp.ClientSession() as session:
            plain = Settings(carriers={}, carrier_order=[])
            hubs = {"guarded": CarrierHub(plain, session, SystemClock(), metrics, guard),
                    "bare": CarrierHub(plain, session, SystemClock(), metrics)}
            await _sequential(hubs["guarded"])  # warm up: scripts loaded, pool filled
            runs_before, usec_before = await _script_stats(redis)
            sequential = await _alternate(hubs, _sequential)
            runs, usec = await _script_stats(redis)
            guarded_calls = CALLS_PER_ROUND * ROUNDS
            concurrent = await _alternate(hubs, _concurrent)
            ping_us = await _ping_us(redis)
    finally:
        found = [k async for k in redis.scan_iter(match=f"{PREFIX}*", count=1000)]
        if found:
            await redis.delete(*found)
        await redis.aclose()
    return {
        "guarded call, sequential (us)": sequential["guarded"],
        "bare call, sequential (us)": sequential["bare"],
        "guard overhead per call (us)": sequential["guarded"] - sequential["bare"],
        "Redis round trips per call": (runs - runs_before) / guarded_calls,
        "Redis server time per call (us)": (usec - usec_before) / guarded_calls,
        "Redis PING round trip, for scale (us)": ping_us,
        f"guarded calls/s, {CONCURRENCY} at once": concurrent["guarded"],
        f"bare calls/s, {CONCURRENCY} at once": concurrent["bare"],
    }


def run() -> dict[str, float]:
    with redis_server() as url:
        return asyncio.run(_bench(url))


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:,.2f}")
