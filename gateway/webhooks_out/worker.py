"""The dispatcher as a background task of the app (`run_poller=True`: `backhaul worker`, the demo)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from gateway import keys
from gateway.store.keys import Keys
from gateway.webhooks_out.api import endpoint_store
from gateway.webhooks_out.delivery import RetryPolicy
from gateway.webhooks_out.dispatcher import Dispatcher, DispatcherDeps


def dispatcher_for(app: web.Application, name: str | None = None) -> Dispatcher:
    s = app[keys.SETTINGS]
    store = endpoint_store(app)
    policy = RetryPolicy(s.webhook_retry_base_s, s.webhook_retry_cap_s, s.webhook_retry_window_s)
    deps = DispatcherDeps(redis=app[keys.REDIS], keys=Keys(s.key_prefix), endpoints=store, queue=store.queue,
                          http=app[keys.HTTP], metrics=app[keys.METRICS], clock=app[keys.CLOCK], policy=policy,
                          timeout_s=s.webhook_timeout_s, tick_s=s.webhook_tick_s, lease_s=s.webhook_lease_s,
                          feed_lease_ms=int(s.webhook_reclaim_idle_s * 1000), concurrency=s.webhook_concurrency)
    return Dispatcher(deps, name)


async def background_dispatcher(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: runs after `resources`, so Redis and the HTTP session exist; stops before they close."""
    dispatcher = dispatcher_for(app)
    app[keys.WEBHOOK_DISPATCHER] = dispatcher
    task = asyncio.create_task(dispatcher.run())
    yield
    dispatcher.stop()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, timeout=10)
