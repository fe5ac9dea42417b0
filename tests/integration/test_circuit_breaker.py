"""The carrier guard end to end: two Delhivery sandboxes under two carrier names, real Redis, real HTTP.

`dl_a` is cheaper, so it is ranked first. Its sandbox fails bookings with 5xx until the
circuit opens; then bookings fail over to `dl_b` without a request reaching `dl_a`, the
`circuit_open` alert fires once, and after the cooldown (the ManualClock moves) one probe
closes the circuit and resolves the alert. Two gateway apps on one Redis share all of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

from carriers.base import make_adapter
from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.delhivery.adapter import DelhiveryAdapter
from carriers.errors import CircuitOpen, RateLimited
from carriers.sandbox import CONTROL_PREFIX, SandboxControl
from gateway import keys
from gateway.app import create_app
from gateway.booking import Booker
from gateway.ops.alerts import Alert
from gateway.ops.wiring import ops_worker_for
from gateway.rules.service import build_rules
from gateway.rules.serviceability import DELIVERY, PICKUP, TABLE_BYTES, set_flags, store_table
from gateway.settings import carrier_settings
from gateway.store.keys import Keys
from tests.integration.conftest import START, return_body, sandbox_settings, seed_merchant

PINS = ("560001", "421302")
CONFIG = {
    "rates.yaml": "carriers:\n  dl_a: {zones: {metro: {first: 40, extra: 30}}}\n"
                  "  dl_b: {zones: {metro: {first: 60, extra: 50}}}\n",
    "alerts.yaml": "rules:\n  carrier_error_rate: {severity: critical, threshold: 0.2, window_s: 300, min_calls: 4}\n",
}
MIN_CALLS, COOLDOWN_S = 3, 30
GUARD = {"min_calls": MIN_CALLS, "error_rate": 0.5, "window_s": 60, "cooldown_s": COOLDOWN_S}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def counted_sandbox(control: SandboxControl, seen: list[float]) -> web.Application:
    """A Delhivery sandbox that notes the arrival time of every carrier request, faulted or not."""
    app = delhivery_sandbox.make_app(control)

    @web.middleware
    async def note(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(CONTROL_PREFIX):
            seen.append(time.monotonic())
        return await handler(request)

    app.middlewares.insert(0, note)
    return app


@dataclass
class Gateway:
    app: web.Application
    client: TestClient[web.Request, web.Application]
    auth: dict[str, str]

    async def post(self, order_id: str) -> dict[str, Any]:
        resp = await self.client.post("/v1/returns", json=return_body(order_id=order_id), headers=self.auth)
        assert resp.status in (201, 202), await resp.text()
        return dict(await resp.json())

    async def alerts(self, rule: str) -> list[Alert]:
        return [a for a in await self.app[keys.OPS].alerts.recent() if a.rule == rule]

    async def metric(self, line: str) -> bool:
        return line in await (await self.client.get("/metrics")).text()


@dataclass
class World:
    clock: ManualClock
    a: SandboxControl
    b: SandboxControl
    gateways: list[Gateway]
    seen_a: list[float] = field(default_factory=list)
    seen_b: list[float] = field(default_factory=list)


Factory = Callable[..., Awaitable[World]]


@pytest.fixture
async def world(aiohttp_server: Any, aiohttp_client: Any, redis_url: str, redis: aioredis.Redis, key_prefix: str,
                tmp_path: Path) -> AsyncIterator[Factory]:
    (tmp_path / "rules").mkdir()
    for name, body in CONFIG.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    bits = bytearray(TABLE_BYTES)
    for pin in PINS:
        set_flags(bits, pin, PICKUP | DELIVERY)
    for code in ("dl_a", "dl_b"):  # tables, so no live serviceability call muddies the counts
        await store_table(redis, Keys(key_prefix), code, bytes(bits), {}, len(PINS), START.isoformat())

    async def make(apps: int = 1, a_path: str = "", **guard: Any) -> World:
        clock = ManualClock(START)
        world = World(clock, SandboxControl(clock), SandboxControl(clock), [])
        urls = {}
        for code, control, seen in (("dl_a", world.a, world.seen_a), ("dl_b", world.b, world.seen_b)):
            server = await aiohttp_server(counted_sandbox(control, seen))
            urls[code] = str(server.make_url("")).rstrip("/") + (a_path if code == "dl_a" else "")
        settings = sandbox_settings(urls["dl_b"], key_prefix, config_dir=tmp_path, carrier_guard=GUARD | guard)
        merchant_key = ""
        for _ in range(apps):
            app = create_app(settings, redis_url, clock=clock)
            app.cleanup_ctx.insert(1, _two_carriers(urls, clock))
            client = await aiohttp_client(app)
            if not merchant_key:
                merchant_key = (await seed_merchant(redis, key_prefix, clock))[1]
            world.gateways.append(Gateway(app, client, {"Authorization": f"Bearer {merchant_key}"}))
        return world

    yield make


def _two_carriers(urls: dict[str, str], clock: ManualClock) -> Callable[[web.Application], AsyncIterator[None]]:
    async def two_carriers(app: web.Application) -> AsyncIterator[None]:
        # Two carrier names, each a real Delhivery adapter pointed at its own sandbox; the hub (and its guard) stays.
        settings, hub = app[keys.SETTINGS], app[keys.CARRIERS]
        base = carrier_settings(settings, "delhivery")
        hub.adapters = {code: make_adapter(DelhiveryAdapter, base.model_copy(update={"base_url": url}),
                                           app[keys.HTTP], clock) for code, url in urls.items()}
        hub.order = ["dl_a", "dl_b"]
        app[keys.RULES] = build_rules(settings, app[keys.REDIS], Keys(settings.key_prefix), hub.adapters)
        app[keys.BOOKER] = Booker(app[keys.RETURNS], hub, app[keys.METRICS], app[keys.RULES])
        yield

    return two_carriers


async def test_open_circuit_fails_over_without_calling_then_one_probe_closes_it(world: Factory) -> None:
    w = await world()
    g = w.gateways[0]
    w.a.add_fault("5xx", times=1000, path="/api/cmu")
    for n in range(MIN_CALLS):
        ret = await g.post(f"ORD-{n}")
        assert ret["shipment"]["carrier"] == "dl_b" and ret["booking_attempts"][0]["outcome"] == "unavailable"
    assert await g.app[keys.CARRIERS].guard.state("dl_a") == "open"  # type: ignore[union-attr]
    calls_before = len(w.seen_a)

    ret = await g.post("ORD-short")
    assert ret["shipment"]["carrier"] == "dl_b"
    assert [(a["carrier"], a["outcome"]) for a in ret["booking_attempts"]] == [("dl_a", "circuit_open"),
                                                                               ("dl_b", "booked")]
    assert len(w.seen_a) == calls_before  # the broken carrier saw no request at all
    [alert] = await g.alerts("circuit_open")
    assert (alert.state, alert.carrier, alert.count) == ("firing", "dl_a", 1)
    assert await g.metric('backhaul_carrier_circuit_state{carrier="dl_a"} 2.0')
    assert await g.metric('backhaul_carrier_short_circuited_total{carrier="dl_a"} 1.0')

    w.a.clear_faults()
    w.clock.advance(timedelta(seconds=COOLDOWN_S - 1))
    assert (await g.post("ORD-still-open"))["booking_attempts"][0]["outcome"] == "circuit_open"
    w.clock.advance(timedelta(seconds=2))
    ret = await g.post("ORD-probe")
    assert ret["shipment"]["carrier"] == "dl_a" and len(w.seen_a) > calls_before
    assert await g.app[keys.CARRIERS].guard.state("dl_a") == "closed"  # type: ignore[union-attr]
    [alert] = await g.alerts("circuit_open")
    assert alert.state == "resolved" and alert.count == 1
    assert await g.metric('backhaul_ops_alerts_fired_total{rule="circuit_open",severity="critical"} 1.0')
    assert await g.metric('backhaul_carrier_circuit_state{carrier="dl_a"} 0.0')


async def test_a_failed_probe_opens_the_circuit_again(world: Factory) -> None:
    w = await world()
    g, guard = w.gateways[0], w.gateways[0].app[keys.CARRIERS].guard
    assert guard is not None
    w.a.add_fault("5xx", times=1000, path="/api/cmu")
    for n in range(MIN_CALLS):
        await g.post(f"ORD-{n}")
    w.clock.advance(timedelta(seconds=COOLDOWN_S + 1))
    ret = await g.post("ORD-probe")  # the probe fails: open again, for another cooldown
    assert [a["outcome"] for a in ret["booking_attempts"]] == ["unavailable", "booked"]
    assert await guard.state("dl_a") == "open"
    calls_before = len(w.seen_a)
    assert (await g.post("ORD-after"))["booking_attempts"][0]["outcome"] == "circuit_open"
    assert len(w.seen_a) == calls_before
    [alert] = await g.alerts("circuit_open")
    assert alert.state == "firing"


async def test_a_carrier_refusing_our_input_keeps_its_circuit_closed(world: Factory) -> None:
    w = await world(a_path="/no-such-api")  # every dl_a request answers 404: a refusal, not an outage
    g = w.gateways[0]
    for n in range(MIN_CALLS * 2):
        ret = await g.post(f"ORD-{n}")
        assert [a["outcome"] for a in ret["booking_attempts"]] == ["rejected", "booked"]
    assert await g.app[keys.CARRIERS].guard.state("dl_a") == "closed"  # type: ignore[union-attr]
    assert await g.alerts("circuit_open") == []


async def test_two_gateways_share_the_circuit_and_one_probe(world: Factory) -> None:
    w = await world(apps=2)
    first, second = w.gateways
    w.a.add_fault("5xx", times=1000, path="/api/cmu")
    for n in range(MIN_CALLS):
        await first.post(f"ORD-{n}")
    calls_before = len(w.seen_a)
    ret = await second.post("ORD-other-process")
    assert ret["booking_attempts"][0]["outcome"] == "circuit_open" and len(w.seen_a) == calls_before
    assert len(await second.alerts("circuit_open")) == 1

    # After the cooldown, many callers in both processes at once: exactly one wins the probe.
    w.a.clear_faults()
    w.clock.advance(timedelta(seconds=COOLDOWN_S + 1))
    guards = [g.app[keys.CARRIERS].guard for g in w.gateways]
    outcomes = await asyncio.gather(*(guards[i % 2].admit("dl_a") for i in range(10)),  # type: ignore[union-attr]
                                    return_exceptions=True)
    probes = [o for o in outcomes if not isinstance(o, BaseException) and o.probe_id]
    assert len(probes) == 1 and sum(isinstance(o, CircuitOpen) for o in outcomes) == 9
    assert await guards[1].state("dl_a") == "half_open"  # type: ignore[union-attr]
    await guards[0].record(probes[0], is_failure=False, latency_s=0.01)  # type: ignore[union-attr]
    assert await guards[1].state("dl_a") == "closed"  # type: ignore[union-attr]
    assert (await second.post("ORD-healthy"))["shipment"]["carrier"] == "dl_a"
    [alert] = await first.alerts("circuit_open")
    assert alert.state == "resolved"


async def test_rate_limit_makes_the_extra_calls_wait_or_refuses_them(world: Factory) -> None:
    # 10 calls/s with a burst of 10, waits of at most 0.25 s: of 15 concurrent calls, 10 go at once,
    # 2 wait one and two intervals (0.1 s, 0.2 s), 3 would wait longer and are refused without a request.
    w = await world(rate_per_s=10, burst=10, max_wait_s=0.25)
    hub = w.gateways[0].app[keys.CARRIERS]
    adapter = hub.get("dl_a")
    started = time.monotonic()
    outcomes = await asyncio.gather(*(hub.call("dl_a", "track", lambda: adapter.track(["1490000000001"]))
                                      for _ in range(15)), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, RateLimited)]
    assert len(refused) == 3 and all(o.retry_after_s and o.retry_after_s > 0.25 for o in refused)
    assert sum(isinstance(o, list) for o in outcomes) == 12 and len(w.seen_a) == 12
    offsets = sorted(t - started for t in w.seen_a)
    assert 0.09 <= offsets[10] and 0.19 <= offsets[11] < 1.0  # the two waited, one interval apart, not longer
    assert await w.gateways[0].metric('backhaul_carrier_rate_limited_total{carrier="dl_a",outcome="refused"} 3.0')
    assert await w.gateways[0].metric('backhaul_carrier_rate_limited_total{carrier="dl_a",outcome="waited"} 2.0')


async def test_rate_limited_booking_fails_over(world: Factory) -> None:
    w = await world(rate_per_s=0.01, burst=1, max_wait_s=0)
    g = w.gateways[0]
    assert (await g.post("ORD-1"))["shipment"]["carrier"] == "dl_a"
    ret = await g.post("ORD-2")  # dl_a's one call per 100 s is spent: the next booking goes to dl_b, unasked
    assert [(a["carrier"], a["outcome"]) for a in ret["booking_attempts"]] == [("dl_a", "rate_limited"),
                                                                               ("dl_b", "booked")]
    assert len(w.a.booking_calls) == 1


async def test_ops_health_and_carrier_alerts_agree_across_gateways(world: Factory) -> None:
    w = await world(apps=2, min_calls=100)  # the breaker stays out of the way here
    first, second = w.gateways
    w.a.add_fault("5xx", times=3, path="/api/cmu")  # the first booking fails (3 tries), later ones book
    for n in range(3):
        await first.post(f"ORD-{n}")
    for n in range(3, 5):
        await second.post(f"ORD-{n}")
    reports = [await g.app[keys.OPS].health.report(["dl_a", "dl_b"], g.app[keys.METRICS]) for g in w.gateways]
    assert reports[0] == reports[1]
    dl_a = reports[0][0]
    assert (dl_a.carrier, dl_a.calls, dl_a.error_rate) == ("dl_a", 5, 0.2) and dl_a.latency_p95_s is not None
    # Each process's own histogram saw only its share; the shared figures saw all five.
    assert await first.metric('backhaul_carrier_call_duration_seconds_count{carrier="dl_a",operation="book_pickup"'
                              ',outcome="ok"} 2.0')

    for g in w.gateways:
        await ops_worker_for(g.app).check_carriers()
    [alert] = await first.alerts("carrier_error_rate")
    assert alert.count == 2 and alert.detail == "1 of 5 calls in the last window"
