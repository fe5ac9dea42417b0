"""The whole system on real TCP ports, so a real browser can use it.

Like `tests/integration/conftest.py`'s `system`, but the gateway listens on a port chosen
before the app is built (its `public_url` must name it: the page's links are absolute), and
every request the Delhivery sandbox answers is recorded, so a test can see what it was asked.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from gateway.app import POLLER, create_app
from gateway.models import Merchant
from tests.integration.conftest import START, return_body, sandbox_settings, seed_merchant


@dataclass
class Site:
    url: str
    http: aiohttp.ClientSession
    control: SandboxControl
    clock: ManualClock
    app: web.Application
    merchant: Merchant
    api_key: str
    redis: aioredis.Redis
    prefix: str
    carrier_calls: list[tuple[str, str, Any]] = field(default_factory=list)
    servers: list[TestServer] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def create(self, **overrides: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.url}/v1/returns", json=return_body(**overrides),
                                  headers=self.auth) as resp:
            assert resp.status == 201, await resp.text()
            return dict(await resp.json())

    async def advance(self, hours: float) -> None:
        self.clock.advance(timedelta(hours=hours))
        await self.app[POLLER].poll_once()

    async def events(self, rid: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.url}/v1/returns/{rid}/events", headers=self.auth) as resp:
            assert resp.status == 200
            return list((await resp.json())["data"])

    def calls_to(self, path: str) -> list[Any]:
        return [body for _, p, body in self.carrier_calls if p == path]

    async def close(self) -> None:
        await self.http.close()
        for server in reversed(self.servers):
            await server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_site(redis_url: str, redis: aioredis.Redis, prefix: str, **overrides: Any) -> Site:
    """`overrides` are more settings (config_dir, ops for SMTP, ...)."""
    clock = ManualClock(START)
    control = SandboxControl(clock)
    calls: list[tuple[str, str, Any]] = []
    sandbox_app = delhivery_sandbox.make_app(control)

    async def record(request: web.Request, _response: web.StreamResponse) -> None:
        body = await request.read() if request.can_read_body or request.body_exists else b""
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode(errors="replace")
        calls.append((request.method, request.path, parsed))

    sandbox_app.on_response_prepare.append(record)
    sandbox = TestServer(sandbox_app, host="127.0.0.1")
    await sandbox.start_server()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), prefix, public_url=url, **overrides)
    app = create_app(settings, redis_url, clock=clock, run_poller=True)
    gateway = TestServer(app, host="127.0.0.1", port=port)
    await gateway.start_server()
    merchant, key = await seed_merchant(redis, prefix, clock)
    return Site(url, aiohttp.ClientSession(), control, clock, app, merchant, key, redis, prefix, calls,
                [sandbox, gateway])
