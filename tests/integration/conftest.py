"""The whole system in one test process: Delhivery sandbox, gateway app and poller, real Redis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from carriers.base import Address, Contact
from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from gateway.app import POLLER, create_app
from gateway.models import Merchant
from gateway.settings import Settings
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore

START = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
WEBHOOK_SECRET = "delhivery-hook-secret"


def return_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": "ORD-1001",
        "customer": {"name": "Asha Rao", "phone": "9800000000", "email": "asha@example.com"},
        "pickup_address": {"line1": "12 MG Road", "city": "Bengaluru", "state": "Karnataka", "postcode": "560001"},
        "items": [{"sku": "SH-42", "name": "Running shoes", "quantity": 1, "price": "2499.00",
                   "category": "footwear"}],
        "parcel": {"weight_g": 800, "length_cm": 30, "width_cm": 20, "height_cm": 12},
        "reason": "size too small",
    }
    body.update(overrides)
    return body


@dataclass
class System:
    client: TestClient[web.Request, web.Application]
    control: SandboxControl
    clock: ManualClock
    api_key: str
    merchant: Merchant
    redis: aioredis.Redis
    prefix: str
    app: web.Application

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def create(self, **overrides: Any) -> dict[str, Any]:
        resp = await self.client.post("/v1/returns", json=return_body(**overrides), headers=self.auth)
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())

    async def get(self, rid: str) -> dict[str, Any]:
        resp = await self.client.get(f"/v1/returns/{rid}", headers=self.auth)
        assert resp.status == 200
        return dict(await resp.json())

    async def advance(self, hours: float) -> None:
        """Move carrier time and gateway time together, then run one poll round."""
        self.clock.advance(timedelta(hours=hours))
        await self.app[POLLER].poll_once()

    async def keys(self) -> list[str]:
        return [k async for k in self.redis.scan_iter(match=f"{self.prefix}*")]


def sandbox_settings(sandbox_url: str, prefix: str, **overrides: Any) -> Settings:
    carriers = {"delhivery": {"base_url": sandbox_url, "token": delhivery_sandbox.SANDBOX_TOKEN,
                              "client_name": "ACME", "warehouse": "ACME-BHW", "timeout_s": 2, "retries": 2,
                              "webhook_secret": WEBHOOK_SECRET}}
    values: dict[str, Any] = {"key_prefix": prefix, "poll_interval_s": 1800, "poll_tick_s": 3600,
                              "webhook_allow_private_urls": True, "serviceability_autoload": False,
                              "carriers": carriers, "carrier_order": ["delhivery"]}
    values.update(overrides)
    return Settings(**values)


async def seed_merchant(redis: aioredis.Redis, prefix: str, clock: ManualClock) -> tuple[Merchant, str]:
    return await MerchantStore(redis, Keys(prefix), clock).create(
        "Acme Fashion", warehouse="ACME-BHW", display_name="Acme Fashion", support_email="help@acme.example",
        return_address=Address(line1="Plot 5, Logistics Park", city="Bhiwandi", state="Maharashtra",
                               postcode="421302"),
        return_contact=Contact(name="Acme Returns Desk", phone="9800000001"))


@pytest.fixture
async def system(redis_url: str, redis: aioredis.Redis, key_prefix: str, aiohttp_server: Any,
                 aiohttp_client: Any) -> System:
    # Redis is requested first so that it is torn down last, after the app and its workers stop.
    clock = ManualClock(START)
    control = SandboxControl(clock)
    sandbox: TestServer = await aiohttp_server(delhivery_sandbox.make_app(control))
    settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), key_prefix)
    # The poller runs in the app but ticks only when a test advances time (poll_tick_s is huge).
    app = create_app(settings, redis_url, clock=clock, run_poller=True)
    client = await aiohttp_client(app)
    merchant, key = await seed_merchant(redis, key_prefix, clock)
    return System(client, control, clock, key, merchant, redis, key_prefix, app)
