"""Returns analytics: query latency once one million events have been counted.

The counters are filled by the same code apply() and the booker call (`add_lines`, `Batch`),
for 125,000 returns of eight events each over 90 days (200 skus, 8 reasons, 6 carriers,
300 areas), flushed in batches; then each grouping is asked for 30 and 90 days.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import date, timedelta

from bench.bench_ingest import redis_server
from gateway.analytics.counters import Batch, Counters, add_lines, add_ordered
from gateway.analytics.query import GROUPS, dimension_of, group, read_days
from gateway.models import LineChoice
from gateway.store.keys import Keys
from gateway.store.server import client_for

RETURNS = 125_000
EVENTS_PER_RETURN = 8
DAYS = 90
FIRST = date(2026, 8, 1)
REASONS = ["size_too_small", "size_too_large", "damaged", "not_as_described", "wrong_item", "quality",
           "changed_mind", "other"]
CARRIERS = ["delhivery", "xpressbees", "ekart", "bluedart", "dtdc", "shadowfax"]
MID = "mer_bench"


def _fill(batch: Batch, rng: random.Random, n: int) -> None:
    day = (FIRST + timedelta(days=n * DAYS // RETURNS)).isoformat()
    sku = f"SKU-{rng.randrange(200)}"
    choice = LineChoice(sku=sku, reason=rng.choice(REASONS), resolution=rng.choice(["refund", "exchange", "credit"]))
    add_lines(batch, MID, day, [(sku, f"cat-{rng.randrange(12)}", rng.randint(1, 3), choice)], "refund")
    dims = [("carrier", rng.choice(CARRIERS)), ("area", str(rng.randrange(110, 410))), ("all", "")]
    batch.add(MID, day, dims, "booked")
    batch.add(MID, day, dims, "cost", 40 + rng.random() * 60)
    batch.add(MID, day, dims, "cost_n")
    if rng.random() < 0.2:
        batch.add(MID, day, dims, "failed")
    batch.add(MID, day, dims, "pickups")
    batch.add(MID, day, dims, "to_pickup_s", 20 * 3600 + rng.random() * 40 * 3600)
    batch.add(MID, day, dims, "arrivals")
    batch.add(MID, day, dims, "to_arrival_s", 40 * 3600 + rng.random() * 40 * 3600)
    add_ordered(batch, MID, day, [(sku, "cat-0", 10)])


async def _bench(url: str) -> dict[str, float]:
    prefix = "bhbench:analytics:"
    redis = client_for(url)
    keys = Keys(prefix)
    counters = Counters(redis, keys)
    rng = random.Random(9)
    figures: dict[str, float] = {}
    try:
        started = time.perf_counter()
        batch = Batch()
        for n in range(RETURNS):
            _fill(batch, rng, n)
            if n % 2000 == 1999:
                await counters.flush(batch)
                batch = Batch()
        await counters.flush(batch)
        figures["counting, events per s"] = RETURNS * EVENTS_PER_RETURN / (time.perf_counter() - started)
        for days in (30, 90):
            start, end = FIRST + timedelta(days=DAYS - days), FIRST + timedelta(days=DAYS - 1)
            took = []
            for group_by in GROUPS:
                for _ in range(10):
                    t0 = time.perf_counter()
                    group(await read_days(redis, keys, MID, start, end, dimension_of(group_by)), group_by)
                    took.append((time.perf_counter() - t0) * 1000)
            figures[f"query {days} days median (ms)"] = statistics.median(took)
            figures[f"query {days} days p95 (ms)"] = sorted(took)[int(0.95 * len(took))]
    finally:
        found = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
        if found:
            await redis.delete(*found)
        await redis.aclose()
    return figures


def run() -> dict[str, float]:
    with redis_server() as url:
        return asyncio.run(_bench(url))


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:,.2f}")
