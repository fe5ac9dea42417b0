"""The aiohttp application: merchant API, tracking page, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from carriers.clock import Clock, SystemClock
from gateway import keys
from gateway.analytics import api as analytics_api
from gateway.analytics import digest_api
from gateway.analytics.counters import Counters
from gateway.api import allocations as allocations_api
from gateway.api import branding as branding_api
from gateway.api import carrier_webhooks
from gateway.api import events as events_api
from gateway.api import photos as photos_api
from gateway.api import returns as returns_api
from gateway.api import reviews as reviews_api
from gateway.api import trackings as trackings_api
from gateway.booking import Booker
from gateway.carrier_guard import CarrierGuard
from gateway.carrier_hub import CarrierHub
from gateway.inbound_log import GroupCommit
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.ops import api as ops_api
from gateway.ops import wiring as ops_wiring
from gateway.ops_pages import routes as ops_page_routes
from gateway.pages import routes as page_routes
from gateway.portal import lookup_api, orders_api
from gateway.portal import routes as portal_routes
from gateway.portal.lookup import OrderLookup
from gateway.portal.orders import OrderStore
from gateway.problems import problem_middleware
from gateway.rules.commands import load_missing
from gateway.rules.service import build_rules
from gateway.settings import Settings
from gateway.store.idempotency import IdempotencyStore
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from gateway.store.returns import ReturnStore
from gateway.store.server import check, client_for
from gateway.webhooks_out import api as webhooks_out_api
from gateway.workers.consumer import consumer_name
from gateway.workers.gate import FeedFirst
from gateway.workers.inbound import InboundDeps, InboundWorker
from gateway.workers.observers import ObserverDeps, ObserverWorker
from gateway.workers.poller import Poller, PollerDeps
from normalizers.maps import load_maps

TEMPLATES = Path(__file__).parent / "templates"
POLLER = web.AppKey("poller", Poller)
INBOUND_WORKER = web.AppKey("inbound_worker", InboundWorker)
OBSERVER_WORKER = web.AppKey("observer_worker", ObserverWorker)
FEED_FIRST = web.AppKey("feed_first", FeedFirst)

health_routes = web.RouteTableDef()


@health_routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@health_routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(check(request.app[keys.REDIS]), timeout=2)
    except Exception as exc:
        return web.json_response({"status": "unavailable", "redis": str(exc)}, status=503)
    return web.json_response({"status": "ready", "redis": "ok"})


@health_routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[keys.METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _services(app: web.Application) -> None:
    s, redis, clock, m = app[keys.SETTINGS], app[keys.REDIS], app[keys.CLOCK], app[keys.METRICS]
    k = Keys(s.key_prefix)
    app[keys.RETURNS] = ReturnStore(redis, k, clock, s.raw_payloads_kept, s.feed_maxlen)
    app[keys.MERCHANTS] = MerchantStore(redis, k, clock)
    app[keys.IDEMPOTENCY] = IdempotencyStore(redis, k, s.idempotency_ttl_s)
    ops = ops_wiring.build_core(app)
    # The circuit breaker's transitions raise and resolve the `circuit_open` alert.
    guard = CarrierGuard(redis, k, clock, m, s.carrier_guard, on_change=ops.circuit_changed)
    hub = CarrierHub(s, app[keys.HTTP], clock, m, guard)
    app[keys.CARRIERS] = hub
    app[keys.RULES] = build_rules(s, redis, k, hub.adapters)
    app[keys.ANALYTICS] = Counters(redis, k)
    app[keys.ORDERS] = OrderStore(redis, k, app[keys.ANALYTICS])
    app[keys.ORDER_LOOKUP] = OrderLookup(redis, k, app[keys.HTTP], s.order_lookup, m, clock)
    app[keys.BOOKER] = Booker(app[keys.RETURNS], hub, m, app[keys.RULES], alert=ops.booking_exhausted,
                              on_booked=ops.booked, analytics=app[keys.ANALYTICS])
    app[keys.INGESTOR] = Ingestor(app[keys.RETURNS], load_maps(required=hub.adapters), m, clock, s.poll_interval_s,
                                  app[keys.RULES].outcomes, app[keys.ANALYTICS], ops=ops)
    app[keys.INBOUND] = GroupCommit(redis, k.inbound(), s.inbound_maxlen)


def poller_for(app: web.Application) -> Poller:
    s = app[keys.SETTINGS]
    return Poller(PollerDeps(store=app[keys.RETURNS], merchants=app[keys.MERCHANTS], hub=app[keys.CARRIERS],
                             ingestor=app[keys.INGESTOR], booker=app[keys.BOOKER], metrics=app[keys.METRICS],
                             lease_s=s.poll_lease_s, tick_s=s.poll_tick_s))


def _feed_first(app: web.Application) -> FeedFirst | None:
    """One gate per process when it runs both the inbound and the observers role."""
    if not {"inbound", "observers"} <= set(app[keys.SETTINGS].worker_roles):
        return None
    if FEED_FIRST not in app:
        app[FEED_FIRST] = FeedFirst()
    return app[FEED_FIRST]


def inbound_worker_for(app: web.Application, name: str | None = None) -> InboundWorker:
    s, k = app[keys.SETTINGS], Keys(app[keys.SETTINGS].key_prefix)
    deps = InboundDeps(redis=app[keys.REDIS], stream=k.inbound(), dead_letters=k.inbound_dead(),
                       hub=app[keys.CARRIERS], ingestor=app[keys.INGESTOR], metrics=app[keys.METRICS],
                       reclaim_idle_ms=int(s.inbound_reclaim_idle_s * 1000), observe_stream=k.observe(),
                       observe_maxlen=s.inbound_maxlen, feed_first=_feed_first(app))
    return InboundWorker(deps, name)


def observer_worker_for(app: web.Application, name: str | None = None) -> ObserverWorker:
    s, k = app[keys.SETTINGS], Keys(app[keys.SETTINGS].key_prefix)
    deps = ObserverDeps(redis=app[keys.REDIS], stream=k.observe(), store=app[keys.RETURNS],
                        ingestor=app[keys.INGESTOR], reclaim_idle_ms=int(s.inbound_reclaim_idle_s * 1000),
                        feed_first=_feed_first(app), linger_s=s.observe_linger_s)
    return ObserverWorker(deps, name or consumer_name())


async def _run_until_cleanup(app: web.Application,
                             runner: Poller | InboundWorker | ObserverWorker) -> AsyncIterator[None]:
    task = asyncio.create_task(runner.run())
    yield
    runner.stop()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, timeout=10)


async def _background_poller(app: web.Application) -> AsyncIterator[None]:
    app[POLLER] = poller_for(app)
    async for _ in _run_until_cleanup(app, app[POLLER]):
        yield


async def _background_inbound(app: web.Application) -> AsyncIterator[None]:
    app[INBOUND_WORKER] = inbound_worker_for(app)
    async for _ in _run_until_cleanup(app, app[INBOUND_WORKER]):
        yield


async def _background_observers(app: web.Application) -> AsyncIterator[None]:
    app[OBSERVER_WORKER] = observer_worker_for(app)
    async for _ in _run_until_cleanup(app, app[OBSERVER_WORKER]):
        yield


def create_app(settings: Settings, redis_url: str, clock: Clock | None = None,
               run_poller: bool = False, serve_api: bool = True) -> web.Application:
    """The gateway app; `run_poller` also runs the poller inside it (demo, single process)."""
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[problem_middleware])
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock or SystemClock()
    app[keys.METRICS] = Metrics()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        app[keys.REDIS] = client_for(redis_url)
        app[keys.HTTP] = aiohttp.ClientSession()
        try:
            await check(app[keys.REDIS])
            _services(app)
            if settings.serviceability_autoload:
                await load_missing(settings, app[keys.REDIS], app[keys.CARRIERS].adapters)
            yield
        finally:
            await app[keys.HTTP].close()
            if keys.INBOUND in app:
                await app[keys.INBOUND].aclose()
            await app[keys.REDIS].aclose()

    app.cleanup_ctx.append(resources)
    if run_poller:
        roles = {"poller": _background_poller, "inbound": _background_inbound, "observers": _background_observers,
                 "webhooks": ops_wiring.background_dispatcher_with_alerts, "ops": ops_wiring.background_ops}
        for role in settings.worker_roles:
            app.cleanup_ctx.append(roles[role])
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    app.add_routes(health_routes)
    if serve_api:
        app.add_routes(returns_api.routes)
        app.add_routes(allocations_api.routes)
        app.add_routes(reviews_api.routes)
        app.add_routes([*branding_api.routes, *page_routes()])
        app.add_routes(carrier_webhooks.routes)
        app.add_routes(events_api.routes)
        app.add_routes(trackings_api.routes)
        app.add_routes(webhooks_out_api.routes)
        app.add_routes([*orders_api.routes, *analytics_api.routes, *portal_routes()])
        app.add_routes(digest_api.routes)
        app.add_routes([*lookup_api.routes, *photos_api.routes])
        app.add_routes([*ops_api.routes, *ops_page_routes()])
    return app
