"""End to end as in production: the gateway serves, `backhaul worker` runs as its own process.

The worker is a real child process polling the Delhivery sandbox and writing to the same
Redis; the test only moves the sandbox's clock and reads what the merchant and customer see.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from carriers.clock import ManualClock, SystemClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from gateway.app import create_app
from tests.integration.conftest import START, return_body, sandbox_settings, seed_merchant


@pytest.fixture
def sandbox_control() -> SandboxControl:
    return SandboxControl(ManualClock(START))


@pytest.fixture
async def sandbox(aiohttp_server: Any, sandbox_control: SandboxControl) -> TestServer:
    server: TestServer = await aiohttp_server(delhivery_sandbox.make_app(sandbox_control))
    return server


def _worker_env(sandbox_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKHAUL_")}
    env.update({
        "BACKHAUL_REDIS_URL": redis_url,
        "BACKHAUL_KEY_PREFIX": prefix,
        "BACKHAUL_POLL_INTERVAL_S": "0.2",
        "BACKHAUL_POLL_TICK_S": "0.1",
        "BACKHAUL_CARRIERS__DELHIVERY__BASE_URL": sandbox_url,
        "BACKHAUL_CARRIERS__DELHIVERY__TOKEN": delhivery_sandbox.SANDBOX_TOKEN,
    })
    return env


@pytest.fixture
def worker(sandbox: TestServer, redis_url: str, key_prefix: str) -> Iterator[subprocess.Popen[bytes]]:
    url = str(sandbox.make_url("")).rstrip("/")
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "worker", "--metrics-port", "0"],
                            env=_worker_env(url, redis_url, key_prefix), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
async def gateway(aiohttp_client: Any, sandbox: TestServer, redis_url: str, key_prefix: str,
                  worker: subprocess.Popen[bytes]) -> AsyncIterator[TestClient[Any, Any]]:
    settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), key_prefix, poll_interval_s=0.2)
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings, redis_url, clock=SystemClock()))
    yield client


async def _wait_for(client: TestClient[Any, Any], path: str, headers: dict[str, str], status: str,
                    proc: subprocess.Popen[bytes], timeout_s: float = 45) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    doc: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "worker died"
        doc = await (await client.get(path, headers=headers)).json()
        if doc["status"] == status:
            return doc
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} stayed {doc.get('status')!r}, wanted {status!r}")


async def test_return_is_picked_up_then_delivered_with_a_separate_worker(
        gateway: TestClient[Any, Any], sandbox_control: SandboxControl, redis: aioredis.Redis, key_prefix: str,
        worker: subprocess.Popen[bytes]) -> None:
    _, key = await seed_merchant(redis, key_prefix, ManualClock(START))
    auth = {"Authorization": f"Bearer {key}"}
    resp = await gateway.post("/v1/returns", json=return_body(), headers=auth)
    assert resp.status == 201
    ret = await resp.json()
    path = f"/v1/returns/{ret['id']}"

    sandbox_control.advance(26 * 3600)  # past the pickup scan
    picked = await _wait_for(gateway, path, auth, "picked_up", worker)
    assert picked["state"]["picked_up_at"] is not None

    page = await gateway.get("/t/" + ret["tracking_url"].rsplit("/", 1)[1])
    html = await page.text()
    assert page.status == 200 and "picked up" in html.lower()

    sandbox_control.advance(60 * 3600)  # past the delivery to the warehouse
    delivered = await _wait_for(gateway, path, auth, "delivered", worker)
    assert delivered["state"]["delivered_at"] is not None
    html = await (await gateway.get("/t/" + ret["tracking_url"].rsplit("/", 1)[1])).text()
    assert "reached the store" in html
