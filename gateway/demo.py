"""`backhaul demo`: sandbox, gateway and worker in one process on embedded Redis, with demo returns.

One simulated clock drives both the Delhivery sandbox and the gateway: every real second
is an hour for the carrier, so the demo returns are picked up and delivered within minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from carriers.base import Address, Contact
from carriers.clock import ManualClock
from carriers.registry import adapter_class, registered_codes
from carriers.sandbox import SandboxControl
from gateway.app import POLLER, create_app
from gateway.ops.users import OpsUsers
from gateway.pages.branding import branding_fields
from gateway.runtime import redis_url, serve_until_stopped
from gateway.settings import Settings
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from gateway.store.server import client_for

SIMULATED_S_PER_TICK = 2 * 3600.0
OPS_USER, OPS_PASSWORD = "ops", "demo-ops-password"
PORTAL_ORDER, PORTAL_EMAIL = "DEMO-2001", "asha@example.com"
TICK_S = 1.0

DEMO_RETURNS: list[dict[str, Any]] = [
    {"order_id": "DEMO-1001", "customer": {"name": "Asha Rao", "phone": "9800000000"},
     "pickup_address": {"line1": "12 MG Road", "city": "Bengaluru", "state": "Karnataka", "postcode": "560001"},
     "items": [{"sku": "SH-42", "name": "Running shoes", "price": "2499.00", "category": "footwear"}],
     "parcel": {"weight_g": 900, "length_cm": 32, "width_cm": 22, "height_cm": 12}, "reason": "size too small"},
    {"order_id": "DEMO-1002", "customer": {"name": "Rahul Mehta", "phone": "9810000000"},
     "pickup_address": {"line1": "44 Linking Road, Bandra West", "city": "Mumbai", "state": "Maharashtra",
                        "postcode": "400050"},
     "items": [{"sku": "TS-M-BLU", "name": "Linen shirt", "price": "1299.00", "category": "apparel"},
               {"sku": "BLT-01", "name": "Leather belt", "price": "799.00", "category": "accessories"}],
     "parcel": {"weight_g": 600}, "reason": "colour differs from photo"},
    {"order_id": "DEMO-1003", "customer": {"name": "Meera Iyer", "phone": "9840000000"},
     "pickup_address": {"line1": "7 Cathedral Road", "city": "Chennai", "state": "Tamil Nadu", "postcode": "600086"},
     "items": [{"sku": "HP-200", "name": "Headphones", "price": "3999.00", "category": "electronics"}],
     "parcel": {"weight_g": 450}, "reason": "defective"},
]


async def _seed(settings: Settings, url: str, clock: ManualClock) -> tuple[str, str]:
    client = client_for(url)
    try:
        branding = {"display_name": "Demo Store", "support_email": "help@demo.example",
                    **branding_fields(settings.config_dir, "Demo Store")}
        merchant, key = await MerchantStore(client, Keys(settings.key_prefix), clock).create(
            "Demo Store", warehouse="BACKHAUL-DEMO-WH", **branding,
            return_address=Address(line1="Plot 5, Logistics Park", city="Bhiwandi", state="Maharashtra",
                                   postcode="421302"),
            return_contact=Contact(name="Demo Store Returns", phone="9800000001"))
        await OpsUsers(client, Keys(settings.key_prefix), {}).add(OPS_USER, OPS_PASSWORD)
    finally:
        await client.aclose()
    return merchant.id, key


async def _seed_order(base: str, key: str) -> None:
    """An order a customer can return on the portal (its id and email are in the banner)."""
    delivered = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    order = {"order_id": PORTAL_ORDER, "customer_name": "Asha Rao", "customer_email": PORTAL_EMAIL,
             "customer_phone": "9800000000", "delivered_at": delivered,
             "address": {"line1": "12 MG Road", "city": "Bengaluru", "state": "Karnataka", "postcode": "560001"},
             "items": [{"sku": "SH-42", "name": "Running shoes", "quantity": 1, "price": "2499.00",
                        "category": "footwear", "variants": ["SH-43", "SH-44"]},
                       {"sku": "TS-M-BLU", "name": "Linen shirt", "quantity": 2, "price": "1299.00",
                        "category": "apparel"}]}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as http:
        async with http.post(f"{base}/v1/orders", json=order) as resp:
            resp.raise_for_status()


async def _create_returns(base: str, key: str, controls: list[SandboxControl]) -> list[dict[str, Any]]:
    created = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as http:
        for i, body in enumerate(DEMO_RETURNS):
            for control in controls:
                control.scenarios.clear()
                if i == 1:  # whichever carrier the allocation picks fails this pickup once
                    control.set_scenario("pickup_failed")
            async with http.post(f"{base}/v1/returns", json=body,
                                 headers={"Idempotency-Key": f"demo-{body['order_id']}"}) as resp:
                created.append(await resp.json())
        for control in controls:
            control.scenarios.clear()
    return created


def _banner(base: str, sandboxes: list[tuple[str, SandboxControl, Any, int]], key: str,
            returns: list[dict[str, Any]], mid: str) -> str:
    ports = ", ".join(f"{code} :{port}" for code, _, _, port in sandboxes)
    lines = ["", "Backhaul demo is running.", f"  gateway:    {base}", f"  sandboxes:  {ports}",
             f"  API key:    {key}", "", "Tracking pages (open in a browser):"]
    lines += [f"  {r['order_id']} via {(r.get('shipment') or {}).get('carrier', '?')}: {r['tracking_url']}"
              for r in returns]
    first = returns[0]
    lines += ["", f"Returns portal: {base}/r/{mid}  (order {PORTAL_ORDER}, email {PORTAL_EMAIL})",
              f"Ops console:    {base}/ops  (user {OPS_USER}, password {OPS_PASSWORD})",
              "", "Label PDF of the first return:",
              f"  curl -s -H 'Authorization: Bearer {key}' -o label.pdf {first['label_url']}",
              "", "The API:",
              f"  curl -s -H 'Authorization: Bearer {key}' {base}/v1/returns",
              f"  curl -s -H 'Authorization: Bearer {key}' {base}/v1/returns/{first['id']}/events",
              "", f"Every second is two hours for the carrier; {returns[1]['order_id']} fails its first pickup.",
              "Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


async def _drive_clock(app: web.Application, clock: ManualClock, key: str, base: str,
                       stop: asyncio.Event) -> None:
    last: dict[str, str] = {}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as http:
        while not stop.is_set():
            clock.advance(timedelta(seconds=SIMULATED_S_PER_TICK))
            await app[POLLER].poll_once()
            async with http.get(f"{base}/v1/returns?limit=10") as resp:
                page = await resp.json()
            for ret in page["data"]:
                if last.get(ret["id"]) != ret["status"]:
                    last[ret["id"]] = ret["status"]
                    print(f"  [{clock.now():%d %b %H:%M}] {ret['order_id']}: {ret['status']}", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)


def _sandboxes(clock: ManualClock, first_port: int) -> list[tuple[str, SandboxControl, Any, int]]:
    """Every registered carrier's sandbox, on consecutive ports, all on the demo's one clock."""
    out = []
    for offset, code in enumerate(registered_codes()):
        module = importlib.import_module(adapter_class(code).__module__.rsplit(".", 1)[0] + ".sandbox")
        control = SandboxControl(clock)
        out.append((code, control, module, first_port + offset))
    return out


def _demo_settings(settings: Settings, base: str, port: int,
                   sandboxes: list[tuple[str, SandboxControl, Any, int]]) -> Settings:
    carriers = {code: {**module.adapter_settings(f"http://127.0.0.1:{sandbox_port}"), "enabled": True}
                for code, _, module, sandbox_port in sandboxes}
    return settings.model_copy(update={
        "public_url": base, "port": port, "poll_interval_s": 3 * 3600.0, "poll_tick_s": 3600.0,
        "carriers": carriers, "carrier_order": [code for code, *_ in sandboxes],
        "webhook_allow_private_urls": True, "data_dir": settings.data_dir / "demo",
        # Local sandboxes, not the carriers' real APIs: their published rate limits do not apply.
        "carrier_guard": settings.carrier_guard.model_copy(update={"rate_per_s": 100.0})})


async def run_demo(settings: Settings, port: int = 8080, sandbox_port: int = 8081,
                   exit_after_s: float | None = None) -> None:
    base = f"http://127.0.0.1:{port}"
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    sandboxes = _sandboxes(clock, sandbox_port)
    settings = _demo_settings(settings, base, port, sandboxes)
    stop = asyncio.Event()
    with redis_url(settings) as url:
        app = create_app(settings, url, clock=clock, run_poller=True)
        apps = [(module.make_app(control), "127.0.0.1", p) for _, control, module, p in sandboxes]
        server = asyncio.create_task(serve_until_stopped([*apps, (app, "127.0.0.1", port)], stop))
        await _wait_ready(base, server)
        mid, key = await _seed(settings, url, clock)
        await _seed_order(base, key)
        returns = await _create_returns(base, key, [control for _, control, *_ in sandboxes])
        print(_banner(base, sandboxes, key, returns, mid), flush=True)
        driver = asyncio.create_task(_drive_clock(app, clock, key, base, stop))
        if exit_after_s is not None:
            asyncio.get_running_loop().call_later(exit_after_s, stop.set)
        await server
        stop.set()
        await driver


async def _wait_ready(base: str, server: asyncio.Task[None]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            if server.done():
                server.result()
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the gateway did not come up on {base}")
