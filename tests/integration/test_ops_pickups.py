"""Failed pickups end to end: two Delhivery sandboxes under two carrier names, the ops worker running.

`dl_a` is cheaper, so it is ranked first and books the return; its sandbox then fails the
pickup twice. The policy re-attempts and emails the customer (read back from a real local
SMTP server, aiosmtpd) after the first failure, cancels at `dl_a` and books `dl_b` after the
second; `dl_b` picks the parcel up. The failed-pickup alert fires once (a webhook sink, a real
HTTP server, receives it) and is resolved by the pickup.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session

from carriers.base import make_adapter
from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.delhivery import sandbox_script as script
from carriers.delhivery.adapter import DelhiveryAdapter
from carriers.sandbox import SandboxControl, Step
from gateway import keys
from gateway.app import POLLER, create_app
from gateway.booking import Booker
from gateway.ops.wiring import OPS_WORKER
from gateway.rules.service import build_rules
from gateway.settings import carrier_settings
from gateway.store.keys import Keys
from tests.integration.conftest import START, return_body, sandbox_settings, seed_merchant

RATES = """\
carriers:
  dl_a: {zones: {metro: {first: 40, extra: 30}}}
  dl_b: {zones: {metro: {first: 60, extra: 50}}}
"""


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(cast(EmailMessage, message_from_bytes(raw, policy=policy.default)))
        return "250 OK"


@dataclass
class Ops:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    clock: ManualClock
    a: SandboxControl
    b: SandboxControl
    api_key: str
    merchant_id: str
    inbox: Inbox
    hooks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def advance(self, hours: float) -> None:
        """Move time, poll, then run one round of the ops worker."""
        self.clock.advance(timedelta(hours=hours))
        await self.app[POLLER].poll_once()
        await self.app[OPS_WORKER].run_once()

    async def get(self, rid: str) -> dict[str, Any]:
        resp = await self.client.get(f"/v1/returns/{rid}", headers=self.auth)
        assert resp.status == 200
        return dict(await resp.json())


def failing_twice(booking_request: dict[str, Any]) -> list[Step]:
    """Delhivery's scans for two failed attempts a day apart (the shipped scenario fails once)."""
    at = str(booking_request.get("city", ""))
    out = ("Dispatched", "PP", "FMOFP-101", "Out for Pickup")
    failed = ("Scheduled", "PP", "EOD-11", "Consignee Unavailable")
    hours = [(0, ("Open", "PP", "X-UCI", "Manifest uploaded")),
             (1, ("Scheduled", "PP", "FMPUR-101", "Pickup scheduled")),
             (24, out), (26, failed), (48, out), (50, failed)]
    return [Step(timedelta(hours=h), script.scan(*s, location=at)) for h, s in hours]


def config_dir(tmp_path: Path, sink_url: str) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rates.yaml").write_text(RATES, encoding="utf-8")
    (tmp_path / "alerts.yaml").write_text(f"sinks:\n  - {{kind: webhook, url: '{sink_url}'}}\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1, keeping what it receives."""
    inbox = Inbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox), "127.0.0.1", 0)
    yield inbox, int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


@pytest.fixture
async def ops(aiohttp_server: Any, aiohttp_client: Any, redis_url: str, redis: aioredis.Redis, key_prefix: str,
              tmp_path: Path, smtp: tuple[Inbox, int]) -> AsyncIterator[Ops]:
    clock, (inbox, smtp_port) = ManualClock(START), smtp
    a, b = SandboxControl(clock), SandboxControl(clock)
    servers: list[TestServer] = [await aiohttp_server(delhivery_sandbox.make_app(c)) for c in (a, b)]
    urls = {code: str(s.make_url("")).rstrip("/") for code, s in zip(("dl_a", "dl_b"), servers, strict=True)}
    hooks: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        hooks.append(await request.json())
        return web.Response(status=204)

    sink_app = web.Application()
    sink_app.router.add_post("/alerts", receive)
    sink = await aiohttp_server(sink_app)
    directory = config_dir(tmp_path, str(sink.make_url("/alerts")))
    settings = sandbox_settings(urls["dl_b"], key_prefix, config_dir=directory,
                                ops={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "tick_s": 3600,
                                     "mail_from": "Acme returns <returns@acme.example>"})
    app = create_app(settings, redis_url, clock=clock, run_poller=True)

    async def two_carriers(app: web.Application) -> AsyncIterator[None]:
        hub, base = app[keys.CARRIERS], carrier_settings(settings, "delhivery")
        hub.adapters = {code: make_adapter(DelhiveryAdapter, base.model_copy(update={"base_url": url}),
                                           app[keys.HTTP], clock) for code, url in urls.items()}
        hub.order = ["dl_a", "dl_b"]
        ingestor = app[keys.INGESTOR]
        ingestor.maps.update(dl_a=ingestor.maps["delhivery"], dl_b=ingestor.maps["delhivery"])
        app[keys.RULES] = build_rules(settings, app[keys.REDIS], Keys(key_prefix), hub.adapters)
        app[keys.BOOKER] = Booker(app[keys.RETURNS], hub, app[keys.METRICS], app[keys.RULES],
                                  alert=app[keys.OPS].booking_exhausted)
        yield

    app.cleanup_ctx.insert(1, two_carriers)
    client = await aiohttp_client(app)
    merchant, key = await seed_merchant(redis, key_prefix, clock)
    yield Ops(client, app, clock, a, b, key, merchant.id, inbox, hooks)


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(r"https?://\S+/t/\S+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


async def test_fails_twice_is_reallocated_and_picked_up(ops: Ops) -> None:
    resp = await ops.client.post("/v1/returns", json=return_body(), headers=ops.auth)
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    rid, token_url = created["id"], created["tracking_url"]
    assert created["shipment"]["carrier"] == "dl_a"
    first = ops.a.bookings_for(rid)[0]
    first.script = failing_twice(first.request)

    await ops.advance(hours=27)  # first failure: re-attempt and email the customer
    npr = await ops.app[keys.OPS].nprs.get(ops.merchant_id, rid)
    assert npr is not None and [a.attempt for a in npr.attempts] == [1]
    assert npr.last.reason is not None and npr.last.reason.value == "customer_unavailable"
    assert {a.action: a.outcome for a in npr.actions} == {"reattempt": "ok", "contact": "ok"}
    assert len(ops.inbox.messages) == 1
    mail = ops.inbox.messages[0]
    assert mail["To"] == "asha@example.com" and "missed you" in mail["Subject"]
    link = link_in(mail)
    parts = urlsplit(link)
    page = await ops.client.get(f"{parts.path}?{parts.query}")
    assert page.status == 200 and 'id="actions"' in await page.text()
    firing = [h for h in ops.hooks if h["alert"]["rule"] == "failed_pickup"]
    assert [h["type"] for h in firing] == ["alert.firing"]

    await ops.advance(hours=24)  # second failure: cancel at dl_a, book dl_b
    ret = await ops.get(rid)
    assert ret["shipment"]["carrier"] == "dl_b" and ret["tracking_url"] == token_url
    assert [a["outcome"] for a in ret["booking_attempts"]] == ["booked", "reallocated", "booked"]
    assert ret["audit"][-1]["action"] == "reallocate"
    assert first.last_scan(ops.clock.now()).scan["ScanType"] == "CN"  # type: ignore[union-attr]
    assert len(ops.b.bookings_for(f"{rid}-2")) == 1  # a pickup booked again carries a new reference

    await ops.advance(hours=27)  # dl_b picks it up
    ret = await ops.get(rid)
    assert ret["status"] in ("picked_up", "in_transit")
    npr = await ops.app[keys.OPS].nprs.get(ops.merchant_id, rid)
    assert npr is not None and npr.state == "resolved" and npr.carriers_tried == ["dl_a", "dl_b"]
    events = [h["type"] for h in ops.hooks if h["alert"]["rule"] == "failed_pickup"]
    assert events == ["alert.firing", "alert.resolved"]
    resp = await ops.client.get("/v1/alerts", headers=ops.auth)
    alerts = {a["rule"]: a for a in (await resp.json())["data"]}
    assert alerts["failed_pickup"]["state"] == "resolved" and alerts["failed_pickup"]["count"] == 2
