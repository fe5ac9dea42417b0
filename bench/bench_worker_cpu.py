"""CPU per event on the worker's side of the feed: the inbound apply, then the observers.

The latency of the feed at a given rate depends on how much of a core each event takes:
a worker at 1,000 events per second with 0.9 ms per event has no room left for a burst or a
garbage collection. This benchmark fills the inbound stream with recorded Delhivery scan
pushes, lets one inbound worker apply them all and then one observer worker follow up, in
this process, and prints the CPU time (not wall time, so other load on the machine moves it
little) each part spends per event.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp import web

from bench.bench_ingest import redis_server
from bench.seed import SCANS, scan_push, seed_returns
from gateway.app import create_app, inbound_worker_for, observer_worker_for
from gateway.inbound_log import entry_fields
from gateway.runtime import settle_heap
from gateway.settings import load_settings
from gateway.store.keys import Keys
from gateway.workers.consumer import StreamConsumer

RETURNS = 500  # × 8 scans = 4,000 events


async def _drain(worker: StreamConsumer, total: int) -> tuple[float, float]:
    """CPU seconds and wall seconds to read and finish `total` entries."""
    await worker.ensure_group()
    cpu, wall = time.process_time(), time.perf_counter()
    done = 0
    while done < total:
        done += await worker.read_once()
    await worker.drain()
    return time.process_time() - cpu, time.perf_counter() - wall


async def _measure(url: str) -> dict[str, float]:
    prefix = f"bhbench:{uuid.uuid4().hex[:8]}:"
    settings = load_settings(redis_url=url, key_prefix=prefix, poll_interval_s=86400)
    app = create_app(settings, url, serve_api=False)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        from gateway import keys

        redis, k = app[keys.REDIS], Keys(prefix)
        awbs = await seed_returns(redis, prefix, RETURNS)
        headers = {"content-type": "application/json"}
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(len(SCANS)):
                for awb in awbs:
                    pipe.xadd(k.inbound(), entry_fields("delhivery", headers, scan_push(awb, i).decode(), 0))
            await pipe.execute()
        total = len(awbs) * len(SCANS)
        settle_heap()  # as `backhaul worker` does once it has started
        inbound_cpu, inbound_wall = await _drain(inbound_worker_for(app, "bench-inbound"), total)
        observed = int(await redis.xlen(k.observe()))
        observe_cpu, observe_wall = await _drain(observer_worker_for(app, "bench-observer"), observed)
        fed = int(await redis.xlen(k.feed("mer_bench")))
    finally:
        await runner.cleanup()
    return {"events": float(total), "fed": float(fed), "inbound_us_per_event": inbound_cpu / total * 1e6,
            "observers_us_per_event": observe_cpu / max(1, observed) * 1e6,
            "inbound_events_per_s_wall": total / inbound_wall, "observers_events_per_s_wall": observed / observe_wall}


def run() -> dict[str, float]:
    with redis_server() as url:
        result = asyncio.run(_measure(url))
    per_event = result["inbound_us_per_event"] + result["observers_us_per_event"]
    print(f"worker CPU per event: inbound (apply, feed) {result['inbound_us_per_event']:.0f} µs, "
          f"observers (learning, analytics, ops) {result['observers_us_per_event']:.0f} µs; "
          f"{per_event / 10:.0f}% of a core at 1,000 events/s; {result['fed']:.0f}/{result['events']:.0f} fed")
    return result


if __name__ == "__main__":
    run()
