"""Process plumbing shared by the commands: the Redis to use and running an app until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Iterator

from aiohttp import web

from gateway.settings import Settings
from gateway.store.server import EmbeddedRedis

# Young generations as CPython's defaults; the oldest is never collected on its own (see settle_heap).
_GC_THRESHOLDS = (700, 10, 1_000_000_000)
FULL_COLLECTION_EVERY_S = 60.0

log = logging.getLogger(__name__)


@contextlib.contextmanager
def redis_url(settings: Settings) -> Iterator[str]:
    """`REDIS_URL` when set; otherwise an embedded Redis that lives as long as this block."""
    if settings.redis_url is not None:
        yield settings.redis_url.get_secret_value()
        return
    embedded = EmbeddedRedis(settings.data_dir / "redis")
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


async def serve_until_stopped(apps: list[tuple[web.Application, str, int]],
                              stop: asyncio.Event | None = None) -> None:
    """Start every app on its host and port, block until SIGINT/SIGTERM or `stop`, clean up."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    runners = []
    try:
        for app, host, port in apps:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, host, port).start()
        settle_heap()
        collector = asyncio.create_task(collect_fully_every(FULL_COLLECTION_EVERY_S))
        await stop.wait()
        collector.cancel()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stopping` is set meanwhile: a worker's wait between rounds."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)


def settle_heap() -> None:
    """Move everything made at start-up out of the garbage collector's sight, and time full collections.

    Modules, templates, status maps and rule tables live as long as the process. Left in the
    oldest generation, each full collection walks all of them again and pauses the event loop
    for tens of milliseconds (the feed's p99 latency). Frozen, a full collection only walks what
    was made since. Left to CPython, full collections still came every few seconds under load
    (20-30 ms each, walking the caches); `collect_fully_every` runs one a minute instead, so
    at most one event in a few thousand waits for one. Young collections are untouched.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


async def collect_fully_every(interval_s: float) -> None:
    """Collect the oldest generation (reference cycles that outlived the young ones) every `interval_s`."""
    while True:
        await asyncio.sleep(interval_s)
        started = time.perf_counter()
        found = gc.collect()
        log.debug("full collection: %d objects freed in %.1f ms", found, (time.perf_counter() - started) * 1000)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
