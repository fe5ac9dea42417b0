"""carriers/http.py: the request and retry every adapter shares, against a real local HTTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from carriers.errors import CarrierRejected, CarrierUnavailable
from carriers.http import send, with_retries


async def _busy(request: web.Request) -> web.Response:
    return web.Response(status=503, body=b"later", headers={"Retry-After": "3"})


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response(body=b"too late")


@pytest.fixture
async def base_url(aiohttp_server: Any) -> str:
    app = web.Application()
    app.router.add_get("/busy", _busy)
    app.router.add_get("/slow", _slow)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_send_returns_any_status_with_case_insensitive_headers(
        base_url: str, session: aiohttp.ClientSession) -> None:
    status, raw, headers = await send(session, "acme", "GET", base_url + "/busy",
                                      timeout=aiohttp.ClientTimeout(total=5), log_path="/busy")
    assert (status, raw, headers.get("retry-after")) == (503, b"later", "3")


async def test_a_timeout_is_carrier_unavailable_naming_the_path(base_url: str, session: aiohttp.ClientSession) -> None:
    with pytest.raises(CarrierUnavailable) as caught:
        await send(session, "acme", "GET", base_url + "/slow", timeout=aiohttp.ClientTimeout(total=0.2),
                   log_path="/slow")
    assert caught.value.detail == "GET /slow timed out after 0.2s"


async def test_a_refused_connection_is_carrier_unavailable(session: aiohttp.ClientSession) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/x?password=s3cret"
    with pytest.raises(CarrierUnavailable) as quoted:
        await send(session, "acme", "POST", url, timeout=aiohttp.ClientTimeout(total=5), log_path="/x")
    assert quoted.value.detail.startswith("POST /x failed: ClientConnectorError(")
    with pytest.raises(CarrierUnavailable) as bare:
        await send(session, "acme", "POST", url, timeout=aiohttp.ClientTimeout(total=5), log_path="/x",
                   failure_path="/x?…", quote_error=False)
    assert bare.value.detail == "POST /x?… failed: ClientConnectorError"


async def test_with_retries_repeats_only_carrier_unavailable() -> None:
    calls: list[str] = []

    async def flaky() -> str:
        calls.append("flaky")
        if len(calls) < 3:
            raise CarrierUnavailable("acme", "HTTP 503", retry_after_s=0)
        return "ok"

    assert await with_retries(flaky, retries=2) == "ok"
    assert len(calls) == 3

    async def always_down() -> str:
        calls.append("down")
        raise CarrierUnavailable("acme", "HTTP 503", retry_after_s=0)

    with pytest.raises(CarrierUnavailable):
        await with_retries(always_down, retries=1)
    assert calls.count("down") == 2

    async def refused() -> str:
        calls.append("refused")
        raise CarrierRejected("acme", "bad postcode")

    with pytest.raises(CarrierRejected):
        await with_retries(refused, retries=3)
    assert calls.count("refused") == 1
