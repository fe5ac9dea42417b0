"""Merchant webhooks out, end to end: a real receiver verifies every delivery with the
Standard Webhooks reference library while the sandbox, the poller and the dispatcher run on
one manual clock and real Redis.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from gateway import keys
from gateway.app import create_app
from gateway.webhooks_out.dispatcher import Dispatcher
from tests.integration.conftest import START, System, sandbox_settings, seed_merchant


@dataclass
class Receiver:
    """A merchant's webhook handler: verifies, records, and fails when told to."""

    secret: str = ""
    fail_next: int = 0
    always_fail: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)  # verified and answered 2xx
    requests: int = 0
    unverified: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.text()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            self.unverified.append(str(exc))
            return web.Response(status=400)
        if self.always_fail or self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503)
        self.received.append({"id": request.headers["webhook-id"], **payload})
        return web.Response(status=204)

    def types_of(self, rid: str) -> list[str]:
        return [p["type"] for p in self.received if p["data"]["return_id"] == rid]


@dataclass
class Hooked:
    system: System
    receiver: Receiver
    receiver_url: str
    dispatcher: Dispatcher

    async def register(self, **body: Any) -> dict[str, Any]:
        body.setdefault("url", self.receiver_url)
        resp = await self.system.client.post("/v1/webhook-endpoints", json=body, headers=self.system.auth)
        assert resp.status == 201, await resp.text()
        created = dict(await resp.json())
        self.receiver.secret = created["secret"]
        return created

    async def dispatch(self) -> None:
        await self.dispatcher.run_once()

    async def feed_types(self, rid: str) -> list[str]:
        entries = await self.system.redis.xrange(f"{self.system.prefix}{{{self.system.merchant.id}}}:feed")
        return [f["type"] for _, f in entries if f["return_id"] == rid]

    async def run_hours(self, hours: int, poll: bool = True) -> None:
        """Hour by hour: move the clock (and poll), then dispatch."""
        for _ in range(hours):
            if poll:
                await self.system.advance(hours=1)
            else:
                self.system.clock.advance(timedelta(hours=1))
            await self.dispatch()


@pytest.fixture
async def hooked(aiohttp_server: Any, aiohttp_client: Any, redis_url: str, redis: aioredis.Redis,
                 key_prefix: str) -> Hooked:
    clock = ManualClock(START)
    control = SandboxControl(clock)
    sandbox: TestServer = await aiohttp_server(delhivery_sandbox.make_app(control))
    # The background dispatcher ticks once at start; tests drive it with run_once.
    settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), key_prefix, webhook_tick_s=3600)
    app = create_app(settings, redis_url, clock=clock, run_poller=True)
    client = await aiohttp_client(app)
    merchant, key = await seed_merchant(redis, key_prefix, clock)
    receiver = Receiver()
    hook_app = web.Application()
    hook_app.router.add_post("/hooks", receiver.handle)
    hook_server: TestServer = await aiohttp_server(hook_app)
    system = System(client, control, clock, key, merchant, redis, key_prefix, app)
    return Hooked(system, receiver, str(hook_server.make_url("/hooks")), app[keys.WEBHOOK_DISPATCHER])


async def test_tracking_events_arrive_signed_and_in_order_per_return(hooked: Hooked) -> None:
    endpoint = await hooked.register(event_types=["tracking.*"], description="orders service")
    assert endpoint["secret"].startswith("whsec_") and endpoint["url"] == hooked.receiver_url
    first = await hooked.system.create(order_id="ORD-1")
    second = await hooked.system.create(order_id="ORD-2")
    await hooked.run_hours(96)
    r = hooked.receiver
    assert r.unverified == []
    for ret in (first, second):
        feed = await hooked.feed_types(ret["id"])
        assert "tracking.picked_up" in feed and feed[-1] == "tracking.delivered"
        assert r.types_of(ret["id"]) == feed
    ids = [p["id"] for p in r.received]
    assert len(ids) == len(set(ids))
    payload = r.received[-1]
    assert set(payload) == {"id", "type", "timestamp", "data"}
    assert set(payload["data"]) == {"return_id", "order_id", "return_status", "event"}


async def test_exact_type_filter_sends_only_that_type(hooked: Hooked) -> None:
    await hooked.register(event_types=["tracking.picked_up"])
    ret = await hooked.system.create()
    await hooked.run_hours(96)
    assert hooked.receiver.types_of(ret["id"]) == ["tracking.picked_up"]


async def test_failing_receiver_gets_everything_after_retries_in_order(hooked: Hooked) -> None:
    endpoint = await hooked.register()
    hooked.receiver.fail_next = 4
    ret = await hooked.system.create()
    await hooked.run_hours(96)
    assert hooked.receiver.requests > len(hooked.receiver.received)
    assert hooked.receiver.types_of(ret["id"]) == await hooked.feed_types(ret["id"])
    resp = await hooked.system.client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                                          headers=hooked.system.auth)
    attempts = (await resp.json())["data"]
    assert [a["status_code"] for a in attempts if a["outcome"] == "failed"] == [503] * 4
    assert attempts[-1]["attempt"] == 1 and any(a["attempt"] > 1 and a["outcome"] == "delivered" for a in attempts)


async def test_events_queued_behind_a_failing_head_keep_their_order(hooked: Hooked) -> None:
    await hooked.register()
    hooked.receiver.always_fail = True
    ret = await hooked.system.create()
    await hooked.run_hours(23)  # inside the 24 h window: nothing is dead yet
    backlog = await hooked.feed_types(ret["id"])
    assert len(backlog) >= 2 and hooked.receiver.received == []
    hooked.receiver.always_fail = False
    await hooked.run_hours(3, poll=False)
    assert hooked.receiver.types_of(ret["id"]) == backlog


async def test_receiver_that_always_fails_is_dead_lettered_after_24_hours(hooked: Hooked,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    endpoint = await hooked.register()
    hooked.receiver.always_fail = True
    ret = await hooked.system.create()
    await hooked.system.advance(hours=8)
    await hooked.dispatch()
    queued = await hooked.feed_types(ret["id"])
    assert len(queued) >= 2
    await hooked.run_hours(23, poll=False)
    registry = hooked.system.app[keys.METRICS].registry
    assert registry.get_sample_value("backhaul_webhook_dead_letters_total") == 0
    await hooked.run_hours(1, poll=False)
    assert registry.get_sample_value("backhaul_webhook_dead_letters_total") == len(queued)
    assert registry.get_sample_value("backhaul_webhook_deliveries_total", {"outcome": "dead"}) == len(queued)
    assert registry.get_sample_value("backhaul_webhook_deliveries_total", {"outcome": "failed"}) > 10
    resp = await hooked.system.client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=hooked.system.auth)
    assert (await resp.json())["dead_letters"] == len(queued)
    requests = hooked.receiver.requests
    await hooked.run_hours(2, poll=False)
    assert hooked.receiver.requests == requests  # nothing left to send
    assert hooked.receiver.unverified == []
    alerts = [r for r in caplog.records if getattr(r, "alert", "") == "webhook_dead_letter"]
    assert len(alerts) == len(queued) and all(r.levelname == "ERROR" for r in alerts)


async def test_replay_resends_the_feed_after_a_cursor_in_order(hooked: Hooked) -> None:
    endpoint = await hooked.register()
    ret = await hooked.system.create()
    await hooked.run_hours(48)
    first_round = list(hooked.receiver.received)
    assert len(first_round) >= 3
    entries = await hooked.system.redis.xrange(f"{hooked.system.prefix}{{{hooked.system.merchant.id}}}:feed")
    path = f"/v1/webhook-endpoints/{endpoint['id']}/replay"
    resp = await hooked.system.client.post(path, params={"after": entries[0][0]}, headers=hooked.system.auth)
    assert resp.status == 202
    assert (await resp.json())["queued"] == len(entries) - 1
    await hooked.dispatch()
    replayed = hooked.receiver.received[len(first_round):]
    assert [p["id"] for p in replayed] == [p["id"] for p in first_round[1:]]  # same ids: receivers dedupe
    assert hooked.receiver.types_of(ret["id"])[len(first_round):] == (await hooked.feed_types(ret["id"]))[1:]
    bad = await hooked.system.client.post(path, params={"after": "yesterday"}, headers=hooked.system.auth)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "after"


async def test_delete_stops_deliveries(hooked: Hooked) -> None:
    endpoint = await hooked.register()
    hooked.receiver.always_fail = True
    await hooked.system.create()
    await hooked.system.advance(hours=8)
    await hooked.dispatch()
    resp = await hooked.system.client.delete(f"/v1/webhook-endpoints/{endpoint['id']}", headers=hooked.system.auth)
    assert resp.status == 204
    requests = hooked.receiver.requests
    hooked.receiver.always_fail = False
    await hooked.run_hours(48)
    assert hooked.receiver.requests == requests
    mine = f"{{{hooked.system.merchant.id}}}:wh:"
    left = [k for k in await hooked.system.keys() if mine in k and not k.endswith(":wh:reader")]
    assert left == []  # queues, log and dead letters are gone; the reader lease just expires
    gone = await hooked.system.client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=hooked.system.auth)
    assert gone.status == 404


async def test_another_merchant_cannot_see_or_delete_the_endpoint(hooked: Hooked) -> None:
    endpoint = await hooked.register()
    s = hooked.system
    _, other_key = await seed_merchant(s.redis, s.prefix, s.clock)
    other = {"Authorization": f"Bearer {other_key}"}
    base = f"/v1/webhook-endpoints/{endpoint['id']}"
    assert (await (await s.client.get("/v1/webhook-endpoints", headers=other)).json())["data"] == []
    assert (await s.client.get(base, headers=other)).status == 404
    assert (await s.client.get(f"{base}/deliveries", headers=other)).status == 404
    assert (await s.client.post(f"{base}/replay", params={"after": "0"}, headers=other)).status == 404
    assert (await s.client.delete(base, headers=other)).status == 404
    mine = await (await s.client.get("/v1/webhook-endpoints", headers=s.auth)).json()
    assert [e["id"] for e in mine["data"]] == [endpoint["id"]]
    assert "secret" not in mine["data"][0]
    assert (await s.client.get("/v1/webhook-endpoints")).status == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.com/hooks"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"event_types": ["tracking.*"]}, "url"),
    ({"url": "https://example.com/hooks", "event_types": ["tracking.teleported"]}, "event_types[0]"),
    ({"url": "https://example.com/hooks", "event_types": []}, "event_types"),
    ({"url": "https://example.com/hooks", "secret": "mine"}, "secret"),
])
async def test_bad_input_is_refused_and_nothing_is_written(hooked: Hooked, body: dict[str, Any], field: str) -> None:
    s = hooked.system
    resp = await s.client.post("/v1/webhook-endpoints", json=body, headers=s.auth)
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["errors"][0]["field"] == field
    assert not [k for k in await s.keys() if ":wh:" in k or k.endswith(":feed")]


async def test_entries_a_crashed_reader_left_pending_are_taken_over_in_order(hooked: Hooked) -> None:
    await hooked.register()
    ret = await hooked.system.create()
    s = hooked.system
    await s.advance(hours=8)
    # A dispatcher took the feed lease, read the entries and died before queueing them.
    feed = f"{s.prefix}{{{s.merchant.id}}}:feed"
    await s.redis.set(f"{s.prefix}{{{s.merchant.id}}}:wh:reader", "crashed", px=300)
    taken = await s.redis.xreadgroup("webhooks", "crashed", {feed: ">"})
    assert taken and taken[0][1]
    await s.advance(hours=8)  # newer entries of the same return arrive meanwhile
    await hooked.dispatch()
    assert hooked.receiver.received == []  # the feed is still leased to the dead reader
    await asyncio.sleep(0.4)
    await hooked.dispatch()
    assert hooked.receiver.types_of(ret["id"]) == await hooked.feed_types(ret["id"])
    assert await s.redis.xpending(feed, "webhooks") == {"pending": 0, "min": None, "max": None, "consumers": []}


async def test_a_send_whose_bookkeeping_was_lost_is_sent_again_with_the_same_id(hooked: Hooked) -> None:
    await hooked.register()
    ret = await hooked.system.create()
    s = hooked.system
    await s.advance(hours=8)
    d = hooked.dispatcher
    endpoints = await d.deps.endpoints.all(s.merchant.id)
    await d.follow(s.merchant.id, endpoints)
    # A dispatcher that leased the heads and died before settling them.
    leased = await d.deps.queue.claim(s.merchant.id, s.clock.now().timestamp(), d.deps.lease_s, 100)
    assert leased
    await hooked.dispatch()
    assert hooked.receiver.received == []  # leased: nobody else sends them yet
    s.clock.advance(timedelta(seconds=d.deps.lease_s + 1))
    await hooked.dispatch()
    assert hooked.receiver.types_of(ret["id"]) == await hooked.feed_types(ret["id"])


async def test_private_urls_are_refused_unless_allowed(system: System, aiohttp_client: Any, redis_url: str) -> None:
    from gateway import keys as app_keys
    from gateway.app import create_app

    strict = system.app[app_keys.SETTINGS].model_copy(update={"webhook_allow_private_urls": False})
    client = await aiohttp_client(create_app(strict, redis_url))
    for url in ("http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://localhost/x",
                "http://169.254.169.254/latest/meta-data"):
        resp = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=system.auth)
        assert resp.status == 422, url
        assert (await resp.json())["errors"][0]["field"] == "url"
    ok = await client.post("/v1/webhook-endpoints", json={"url": "https://hooks.example.com/bh"}, headers=system.auth)
    assert ok.status == 201
