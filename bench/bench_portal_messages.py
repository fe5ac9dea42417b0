"""The portal's messages: what the confirmation outbox adds to a submit, and what a code guess costs.

The submit's only extra work is `confirm.enqueue` (one ZADD); it is measured beside a plain
GET of the same Redis, so the figure reads as "how many GETs' worth". A code guess is the
`code_try.lua` script plus an HMAC. Embedded Redis (or REDIS_URL), one client, sequential calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bench.bench_ingest import redis_server
from carriers.clock import ManualClock
from gateway.portal import confirm
from gateway.portal.codes import CodeStore, Recipient
from gateway.store.keys import Keys
from gateway.store.server import client_for

CALLS = 2_000
NOW = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)


def _ms(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))] * 1000


async def _timed(fn: Callable[[int], Awaitable[object]], calls: int = CALLS) -> list[float]:
    took = []
    for n in range(calls):
        started = time.perf_counter()
        await fn(n)
        took.append(time.perf_counter() - started)
    return took


async def _figures(url: str) -> dict[str, float]:
    prefix = "bhbench:pmsg:"
    redis, keys = client_for(url), Keys(prefix)
    store = CodeStore(redis, keys, ManualClock(NOW), "bench-secret")
    try:
        cid, _ = await store.start("mer_b", "B-1", Recipient("email", "a@example.com", "Asha", "en"))
        get = await _timed(lambda n: redis.get(f"{prefix}plain"))
        enqueue = await _timed(lambda n: confirm.enqueue(redis, keys, f"tok{n}", "en", NOW.timestamp()))

        async def guess(n: int) -> None:
            await redis.hset(keys.portal_code("mer_b", cid), "tries", 0)  # keep the code live for every call
            await store.guess("mer_b", cid, "000000")

        guesses = await _timed(guess)
        return {"GET p50 (ms)": _ms(get, 0.5), "confirmation enqueue p50 (ms)": _ms(enqueue, 0.5),
                "confirmation enqueue p95 (ms)": _ms(enqueue, 0.95),
                "enqueue / GET (p50)": _ms(enqueue, 0.5) / max(_ms(get, 0.5), 1e-9),
                "code guess incl. reset p95 (ms)": _ms(guesses, 0.95)}
    finally:
        stale = [k async for k in redis.scan_iter(match=f"{prefix}*", count=5000)]
        if stale:
            await redis.delete(*stale)
        await redis.aclose()


def run() -> dict[str, float]:
    with redis_server() as url:
        return asyncio.run(_figures(url))


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:,.3f}")
