"""The dispatcher built from the app's settings and services.

It runs as a background task of the app in the `webhooks` worker role (`backhaul worker`, the
demo): `gateway/ops/wiring.py` starts it with the ops alert for dead letters plugged in.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.store.keys import Keys
from gateway.webhooks_out.api import endpoint_store
from gateway.webhooks_out.delivery import RetryPolicy
from gateway.webhooks_out.dispatcher import DeadLetterHook, Dispatcher, DispatcherDeps


def dispatcher_for(app: web.Application, name: str | None = None,
                   on_dead_letter: DeadLetterHook | None = None) -> Dispatcher:
    s = app[keys.SETTINGS]
    store = endpoint_store(app)
    policy = RetryPolicy(s.webhook_retry_base_s, s.webhook_retry_cap_s, s.webhook_retry_window_s)
    deps = DispatcherDeps(redis=app[keys.REDIS], keys=Keys(s.key_prefix), endpoints=store, queue=store.queue,
                          http=app[keys.HTTP], metrics=app[keys.METRICS], clock=app[keys.CLOCK], policy=policy,
                          timeout_s=s.webhook_timeout_s, tick_s=s.webhook_tick_s, lease_s=s.webhook_lease_s,
                          feed_lease_ms=int(s.webhook_reclaim_idle_s * 1000), concurrency=s.webhook_concurrency,
                          on_dead_letter=on_dead_letter)
    return Dispatcher(deps, name)

