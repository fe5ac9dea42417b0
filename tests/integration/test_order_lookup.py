"""The order-lookup webhook: a real merchant endpoint verifies every call with the Standard Webhooks library
and answers found, 404, slowly, down or with garbage; the portal identifies through it end to end.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from carriers.clock import ManualClock, SystemClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from gateway import keys
from gateway.app import create_app
from gateway.cli import build_parser
from gateway.portal.lookup import normalized_contact
from gateway.settings import Settings
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from gateway.store.server import client_for
from tests.integration.conftest import START, System, sandbox_settings, seed_merchant
from tests.integration.test_orders import order_body
from tests.integration.test_portal_flow import TOKEN, photo, rel, submit

TIMEOUT_S = 0.5


@dataclass
class Merchant:
    """The merchant's lookup endpoint: verifies our signature, then answers as `mode` says."""

    secret: str = ""
    mode: str = "found"  # found | 404 | slow | down | garbage | other_order
    delay_s: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            self.unverified.append(str(exc))
            return web.Response(status=401)
        self.calls.append(payload)
        await asyncio.sleep(self.delay_s + (2 * TIMEOUT_S if self.mode == "slow" else 0))
        if self.mode == "404":
            return web.Response(status=404)
        if self.mode == "down":
            return web.Response(status=503)
        if self.mode == "garbage":
            return web.Response(text="<html>Oops</html>", content_type="text/html")
        oid = payload["data"]["order_id"]
        return web.json_response(order_body(oid if self.mode == "found" else oid + "-X"))


@dataclass
class Looked:
    system: System
    merchant: Merchant

    async def identify(self, order_id: str = "ORD-1001", contact: str = "asha@example.com",
                       lang: str = "en") -> str:
        """Where the identify form sends the customer (the return page or the form with ?error=)."""
        s = self.system
        page = await s.client.get(f"/r/{s.merchant.id}?lang={lang}")
        token = TOKEN.search(await page.text()).group(1)  # type: ignore[union-attr]
        resp = await s.client.post(f"/r/{s.merchant.id}/identify", allow_redirects=False, data={
            "form_token": token, "order_id": order_id, "contact": contact, "lang": lang})
        assert resp.status == 303
        return rel(resp.headers["Location"])

    def outcomes(self, outcome: str) -> float:
        value = self.system.app[keys.METRICS].registry.get_sample_value("backhaul_order_lookup_total",
                                                                        {"outcome": outcome})
        return value or 0.0

    async def misses(self) -> int:
        found = [k async for k in self.system.redis.scan_iter(match=f"{self.system.prefix}*portal:miss*")]
        return sum(int(v or 0) for v in (await self.system.redis.mget(found) if found else []))


@pytest.fixture
async def looked(redis_url: str, redis: aioredis.Redis, key_prefix: str, aiohttp_server: Any,
                 aiohttp_client: Any) -> Looked:
    clock = ManualClock(START)
    control = SandboxControl(clock)
    sandbox: TestServer = await aiohttp_server(delhivery_sandbox.make_app(control))
    settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), key_prefix,
                                order_lookup={"timeout_s": TIMEOUT_S})
    app = create_app(settings, redis_url, clock=clock, run_poller=True)
    client = await aiohttp_client(app)
    merchant, key = await seed_merchant(redis, key_prefix, clock)
    system = System(client, control, clock, key, merchant, redis, key_prefix, app)
    receiver = Merchant()
    endpoint = web.Application()
    endpoint.router.add_post("/orders/lookup", receiver.handle)
    server: TestServer = await aiohttp_server(endpoint)
    resp = await client.put("/v1/order-lookup", json={"url": str(server.make_url("/orders/lookup"))},
                            headers=system.auth)
    assert resp.status == 201, await resp.text()
    receiver.secret = (await resp.json())["secret"]
    return Looked(system, receiver)


async def test_the_secret_is_shown_once_then_only_a_hint(looked: Looked) -> None:
    s, secret = looked.system, looked.merchant.secret
    assert secret.startswith("whsec_")
    shown = await (await s.client.get("/v1/order-lookup", headers=s.auth)).json()
    assert "secret" not in shown and shown["secret_hint"] == f"whsec_…{secret[-4:]}"
    assert secret not in json.dumps(shown)
    moved = await s.client.put("/v1/order-lookup", json={"url": "https://shop.example/lookup"}, headers=s.auth)
    assert moved.status == 200 and "secret" not in await moved.json()
    rotated = await (await s.client.put("/v1/order-lookup", json={"url": "https://shop.example/lookup",
                                                                  "rotate_secret": True}, headers=s.auth)).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    bad = await s.client.put("/v1/order-lookup", json={"url": "ftp://x"}, headers=s.auth)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "url"
    assert (await s.client.get("/v1/order-lookup")).status == 401
    assert (await s.client.delete("/v1/order-lookup", headers=s.auth)).status == 204
    assert (await s.client.get("/v1/order-lookup", headers=s.auth)).status == 404


async def test_a_looked_up_order_goes_through_the_portal_to_the_tracking_page(looked: Looked) -> None:
    s = looked.system
    url = await looked.identify(contact="Asha@Example.com")
    assert "/s/" in url, url
    assert looked.merchant.unverified == []
    assert looked.merchant.calls == [{"type": "order.lookup",
                                      "data": {"order_id": "ORD-1001", "contact": "asha@example.com"}}]
    page = await s.client.get(url)
    assert page.status == 200 and "Running shoes" in await page.text()
    resp = await submit(s, url, qty_0="1", reason_0="size_too_small", res_0="refund",
                        photo_0=("shoe.jpg", photo(), "image/jpeg"))
    assert resp.status == 303 and "/t/" in resp.headers["Location"], resp.headers
    assert (await s.client.get(rel(resp.headers["Location"]))).status == 200
    listed = await (await s.client.get("/v1/returns", headers=s.auth)).json()
    assert [i["sku"] for i in listed["data"][0]["request"]["items"]] == ["SH-42"]
    order = await (await s.client.get("/v1/orders/ORD-1001", headers=s.auth)).json()
    assert order["source"] == "lookup" and order["returned"] == {"SH-42": 1}
    # Kept as a cache, not stored as if pushed: the pushed-order key stays empty.
    assert await s.redis.get(Keys(s.prefix).order_doc(s.merchant.id, "ORD-1001")) is None
    assert len(looked.merchant.calls) == 1 and looked.outcomes("found") == 1


async def test_a_cached_answer_makes_no_second_call_until_it_is_old(looked: Looked) -> None:
    assert "/s/" in await looked.identify()
    assert "/s/" in await looked.identify(contact="+91 98000 00000")
    assert len(looked.merchant.calls) == 1 and looked.outcomes("cached") == 1
    looked.system.clock.advance(timedelta(minutes=11))
    assert "/s/" in await looked.identify()
    assert len(looked.merchant.calls) == 2 and looked.outcomes("found") == 2


async def test_a_burst_of_identical_lookups_makes_one_call(looked: Looked) -> None:
    looked.merchant.delay_s = 0.2
    finder = looked.system.app[keys.ORDER_LOOKUP]
    found = await asyncio.gather(*[finder.find(looked.system.merchant.id, "ORD-77", "asha@example.com")
                                   for _ in range(20)])
    assert {o.order_id if o else None for o in found} == {"ORD-77"}
    assert len(looked.merchant.calls) == 1


async def test_a_404_is_a_miss_remembered_per_contact(looked: Looked) -> None:
    looked.merchant.mode = "404"
    assert (await looked.identify()).endswith("error=not_found")
    assert (await looked.identify()).endswith("error=not_found")
    assert len(looked.merchant.calls) == 1 and looked.outcomes("cached_not_found") == 1
    # A wrong guess by someone else must not hide the order from its customer for a minute.
    assert (await looked.identify(contact="+91 98000 00000")).endswith("error=not_found")
    assert len(looked.merchant.calls) == 2
    assert await looked.misses() == 3


async def test_a_slow_endpoint_shows_try_again_shortly_and_is_not_a_miss(looked: Looked) -> None:
    looked.merchant.mode = "slow"
    url = await looked.identify()
    assert url.endswith("error=lookup_unavailable")
    shown = await looked.system.client.get(url)
    assert "We cannot look up your order right now. Please try again shortly." in await shown.text()
    hindi = await looked.system.client.get(url.replace("lang=en", "lang=hi"))
    assert "हम अभी आपका ऑर्डर नहीं खोज पा रहे हैं" in await hindi.text()
    assert await looked.misses() == 0 and looked.outcomes("timeout") == 1
    histogram = looked.system.app[keys.METRICS].registry.get_sample_value(
        "backhaul_order_lookup_duration_seconds_count", {"outcome": "timeout"})
    assert histogram == 1


async def test_an_endpoint_that_is_down_never_locks_the_customer_out(looked: Looked) -> None:
    looked.merchant.mode = "down"
    for _ in range(12):
        assert (await looked.identify()).endswith("error=lookup_unavailable")
    assert await looked.misses() == 0 and looked.outcomes("error") == 12
    looked.merchant.mode = "found"
    assert "/s/" in await looked.identify()


async def test_garbage_answers_are_counted_and_treated_as_unavailable(looked: Looked) -> None:
    for mode in ("garbage", "other_order"):
        looked.merchant.mode = mode
        assert (await looked.identify()).endswith("error=lookup_unavailable")
    assert looked.outcomes("invalid") == 2
    assert await looked.system.app[keys.ORDERS].get(looked.system.merchant.id, "ORD-1001") is None


async def test_an_older_copy_is_used_while_the_endpoint_is_down(looked: Looked) -> None:
    assert "/s/" in await looked.identify()
    looked.system.clock.advance(timedelta(minutes=11))
    looked.merchant.mode = "down"
    assert "/s/" in await looked.identify()
    assert looked.outcomes("stale") == 1 and len(looked.merchant.calls) == 2


async def test_a_pushed_order_is_never_looked_up(looked: Looked) -> None:
    s = looked.system
    assert (await s.client.post("/v1/orders", json=order_body(), headers=s.auth)).status == 201
    assert "/s/" in await looked.identify()
    assert looked.merchant.calls == []


def test_the_contact_is_sent_as_lower_case_email_or_e164_phone() -> None:
    assert normalized_contact(" Asha@Example.COM ") == "asha@example.com"
    assert normalized_contact("098000 00000") == "+919800000000"
    assert normalized_contact("+45 32 12 34 56") == "+4532123456"
    assert normalized_contact("call me") is None


def test_the_cli_sets_shows_and_removes_the_endpoint(redis_url: str, key_prefix: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(redis_url=redis_url, key_prefix=key_prefix)

    async def seed() -> str:
        client = client_for(redis_url)
        merchant, _ = await MerchantStore(client, Keys(key_prefix), SystemClock()).create("CLI Shop")
        await client.aclose()
        return merchant.id

    def run(*argv: str) -> tuple[int, str]:
        args = build_parser().parse_args(list(argv))
        with pytest.raises(SystemExit) as done:
            args.func(args, settings)
        out = capsys.readouterr()
        return int(done.value.code or 0), out.out + out.err

    async def cleanup() -> None:
        client = client_for(redis_url)
        found = [k async for k in client.scan_iter(match=f"{key_prefix}*")]
        await client.delete(*found)
        await client.aclose()

    mid = asyncio.run(seed())
    try:
        code, out = run("order-lookup", "set", mid, "https://shop.example/lookup")
        secret = out.split("store it now): ")[1].strip()
        assert code == 0 and secret.startswith("whsec_")
        code, out = run("order-lookup", "show", mid)
        assert code == 0 and f"whsec_…{secret[-4:]}" in out and secret not in out
        code, out = run("order-lookup", "set", mid, "https://shop.example/v2/lookup")
        assert code == 0 and "unchanged" in out and secret not in out
        assert run("order-lookup", "set", mid, "http://127.0.0.1:9/lookup")[0] == 2
        assert run("order-lookup", "off", mid) == (0, "order lookup removed\n")
        assert run("order-lookup", "show", "mer_nosuchmerchant")[0] == 2
    finally:
        asyncio.run(cleanup())
