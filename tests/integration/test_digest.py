"""The merchants' daily digest email, end to end: counters bumped through the real path, two ops workers
ticking on a manual clock, the mail read back from a real SMTP server (aiosmtpd).

The true figures are computed here on their own: from the seeded specification (reasons, units,
orders), from each return's own events read through the API (pickups, failed attempts, hours to
pickup) and from the rate card (shipping cost), never from the counters.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session

from carriers.base import Address, Contact
from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from gateway import keys
from gateway.app import POLLER, create_app
from gateway.ops.wiring import OPS_WORKER
from gateway.settings import Settings
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from tests.integration.conftest import START, return_body, sandbox_settings, seed_merchant
from tests.integration.test_ops_pickups import Inbox
from tests.integration.test_orders import order_body

RECIPIENTS = ["ops@acme.example", "lead@acme.example"]
PRICE_PER_RETURN = 55 + 45  # the rate card below: 800 g is two 500 g slabs in every zone
RATES = "currency: INR\ncarriers:\n  delhivery:\n    slab_g: 500\n    zones:\n" + "".join(
    f"      {zone}: {{first: 55, extra: 45}}\n" for zone in ("local", "regional", "metro", "national", "special"))
PARCEL = {"weight_g": 800, "length_cm": 10, "width_cm": 10, "height_cm": 10}
CATEGORIES = {"SH-42": "footwear", "TS-M": "apparel", "CAP": "accessories", "BAG": "accessories", "MUG": "home"}
VOLUME = {"SH-42": 10, "TS-M": 15, "CAP": 3, "BAG": 4}  # ordered in one big order besides each return's own
# (day from 2 Nov, [(sku, units, reason, resolution)], the first pickup attempt fails)
RETURNS: list[tuple[int, list[tuple[str, int, str, str]], bool]] = [
    (0, [("SH-42", 1, "size_too_small", "exchange")], False),
    (0, [("TS-M", 2, "not_as_described", "refund")], False),
    (1, [("CAP", 1, "damaged", "refund")], True),
    (2, [("TS-M", 1, "size_too_small", "refund")], False),
    (2, [("SH-42", 1, "changed_mind", "credit")], False),
    (2, [("BAG", 1, "damaged", "refund")], False),
    (4, [("TS-M", 1, "size_too_large", "exchange")], False),
    (4, [("CAP", 2, "changed_mind", "refund")], True),
    (5, [("SH-42", 1, "size_too_small", "exchange")], False),
    (6, [("TS-M", 1, "not_as_described", "refund")], False),
    (6, [("SH-42", 1, "damaged", "refund")], True),
    (7, [("SH-42", 2, "size_too_small", "exchange"), ("TS-M", 1, "not_as_described", "refund")], False),
    (7, [("CAP", 1, "damaged", "credit")], True),
    (7, [("TS-M", 2, "size_too_small", "refund")], False),
    (7, [("MUG", 1, "changed_mind", "refund")], False),
    (7, [("SH-42", 1, "size_too_large", "refund"), ("BAG", 2, "damaged", "refund")], False),
    (7, [("CAP", 1, "wrong_item", "exchange")], False),
]
DAY = date(2026, 11, 9)  # the digest checked in full: the last seeded day
MIN_ORDERED = 5


class FlakyInbox(Inbox):
    """Refuses the next `refuse` messages with a temporary error, then keeps them as Inbox does."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Shop:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    second: web.Application  # another worker process on the same Redis: the ops role only
    clock: ManualClock
    control: SandboxControl
    api_key: str
    merchant_id: str
    inbox: FlakyInbox
    redis: aioredis.Redis
    settings: Settings
    redis_url: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    async def advance(self, hours: float, workers: int = 2) -> None:
        """Move time, poll, then tick the ops worker of each process at once."""
        self.clock.advance(timedelta(hours=hours))
        await self.app[POLLER].poll_once()
        await asyncio.gather(*(a[OPS_WORKER].run_once() for a in (self.app, self.second)[:workers]))

    def digests(self, to: str = RECIPIENTS[0]) -> list[EmailMessage]:
        return [m for m in self.inbox.messages if to in str(m["To"])]

    def count(self, outcome: str) -> float:
        return sum(a[keys.METRICS].registry.get_sample_value("backhaul_digest_sent_total", {"outcome": outcome})
                   or 0.0 for a in (self.app, self.second))


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[FlakyInbox, int]]:
    inbox = FlakyInbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox), "127.0.0.1", 0)
    yield inbox, int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


@pytest.fixture
async def shop(aiohttp_server: Any, aiohttp_client: Any, redis_url: str, redis: aioredis.Redis, key_prefix: str,
               tmp_path: Path, smtp: tuple[FlakyInbox, int]) -> Shop:
    clock, (inbox, port) = ManualClock(START), smtp
    control = SandboxControl(clock)
    sandbox: TestServer = await aiohttp_server(delhivery_sandbox.make_app(control))
    (tmp_path / "rates.yaml").write_text(RATES, encoding="utf-8")
    settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), key_prefix, config_dir=tmp_path,
                                ops={"smtp_host": "127.0.0.1", "smtp_port": port, "tick_s": 3600},
                                digest={"sku_min_ordered": MIN_ORDERED, "retry_s": 600})
    app = create_app(settings, redis_url, clock=clock, run_poller=True)
    client = await aiohttp_client(app)
    second = create_app(settings.model_copy(update={"worker_roles": ["ops"]}), redis_url, clock=clock,
                        run_poller=True, serve_api=False)
    await aiohttp_server(second)
    merchant, key = await seed_merchant(redis, key_prefix, clock)
    return Shop(client, app, second, clock, control, key, merchant.id, inbox, redis, settings, redis_url)


async def put_digest(shop: Shop, body: dict[str, Any], api_key: str | None = None) -> dict[str, Any]:
    resp = await shop.client.put("/v1/analytics/digest", json=body,
                                 headers={"Authorization": f"Bearer {api_key or shop.api_key}"})
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def seed_orders(shop: Shop) -> Counter[str]:
    """Each return's own order (one more unit of each line than returned) and one big order; units by sku."""
    orders, ordered = [], Counter[str]()
    for n, (_, lines, _) in enumerate(RETURNS):
        items = [{"sku": s, "name": s, "quantity": u + 1, "price": "100.00", "category": CATEGORIES[s]}
                 for s, u, _, _ in lines]
        orders.append(order_body(f"R-{n}", items=items, delivered_at="2026-10-28T10:00:00+00:00"))
        ordered.update({s: u + 1 for s, u, _, _ in lines})
    orders.append(order_body("V-1", delivered_at="2026-10-28T10:00:00+00:00", items=[
        {"sku": s, "name": s, "quantity": u, "price": "100.00", "category": CATEGORIES[s]} for s, u in VOLUME.items()]))
    ordered.update(VOLUME)
    resp = await shop.client.post("/v1/orders", json={"orders": orders}, headers=shop.auth)
    assert resp.status == 200, await resp.text()
    return ordered


async def create_return(shop: Shop, n: int, lines: list[tuple[str, int, str, str]], fails: bool,
                        api_key: str | None = None) -> dict[str, Any]:
    if fails:
        shop.control.set_scenario("pickup_failed", reason_code="EOD-11")
    items = [{"sku": s, "name": s, "quantity": u, "price": "100.00", "category": CATEGORIES[s]} for s, u, _, _ in lines]
    body = return_body(order_id=f"R-{n}", items=items, parcel=PARCEL,
                       lines=[{"sku": s, "reason": r, "resolution": res} for s, _, r, res in lines])
    resp = await shop.client.post("/v1/returns", json=body,
                                  headers={"Authorization": f"Bearer {api_key or shop.api_key}"})
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


def sections(text: str) -> dict[str, list[str]]:
    """The digest's text by section: its first line, then the indented lines under it."""
    found: dict[str, list[str]] = {}
    for block in text.strip().split("\n\n"):
        head, *rest = block.splitlines()
        found[head.split(" (")[0]] = [line.strip() for line in rest]
    return found


async def carrier_truth(shop: Shop, created: list[dict[str, Any]]) -> dict[str, Any]:
    """Pickups, failed attempts and hours to pickup on DAY, from each return's own events."""
    pickups, failed, hours = 0, 0, []
    for ret in created:
        resp = await shop.client.get(f"/v1/returns/{ret['id']}/events", headers=shop.auth)
        events = (await resp.json())["data"]
        at = {e["status"]: datetime.fromisoformat(e["occurred_at"]).astimezone(UTC) for e in reversed(events)}
        failed += sum(1 for e in events if e["status"] == "pickup_failed"
                      and datetime.fromisoformat(e["occurred_at"]).astimezone(UTC).date() == DAY)
        if "picked_up" in at and at["picked_up"].date() == DAY:
            pickups += 1
            hours.append((at["picked_up"] - datetime.fromisoformat(ret["created_at"])).total_seconds() / 3600)
    return {"pickups": pickups, "failed": failed, "hours": sum(hours) / len(hours) if hours else None}


def expected_reasons() -> list[tuple[str, int, int]]:
    """(reason, returns, units) on DAY, most units first, then most returns, then by name; the top 5."""
    returns, units = Counter[str](), Counter[str]()
    for day, lines, _ in RETURNS:
        if day == 7:
            returns.update({r for _, _, r, _ in lines})
            for _, u, r, _ in lines:
                units[r] += u
    ranked = sorted(units, key=lambda r: (-units[r], -returns[r], r))[:5]
    return [(r, returns[r], units[r]) for r in ranked]


def expected_skus(ordered: Counter[str]) -> list[tuple[str, int, int]]:
    returned = Counter[str]()
    for _, lines, _ in RETURNS:
        for s, u, _, _ in lines:
            returned[s] += u
    eligible = [s for s in returned if ordered[s] >= MIN_ORDERED]
    ranked = sorted(eligible, key=lambda s: (-returned[s] / ordered[s], -returned[s], s))[:5]
    return [(s, returned[s], ordered[s]) for s in ranked]


def pct(value: float) -> str:
    return f"{value:.0%}"


async def seed_history(shop: Shop) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Eight days of returns; both workers tick every six hours; the last day stops short of its digest."""
    ordered = await seed_orders(shop)
    created = []
    for day in range(8):
        for n, (when, lines, fails) in enumerate(RETURNS):
            if when == day:
                created.append(await create_return(shop, n, lines, fails))
        for hours in ((6, 6, 6, 6) if day < 7 else (6, 6, 6, 3)):
            await shop.advance(hours)
    return created, ordered


async def test_each_day_one_digest_with_the_true_figures(shop: Shop, key_prefix: str) -> None:
    branding = await (await shop.client.get("/v1/branding", headers=shop.auth)).json()
    resp = await shop.client.put("/v1/branding", json={**branding, "time_zone": "Asia/Kolkata"}, headers=shop.auth)
    assert resp.status == 200, await resp.text()
    prefs = await put_digest(shop, {"emails": ["ops@acme.example", "Lead@Acme.example"], "hour": 8})
    assert prefs["emails"] == RECIPIENTS and prefs["time_zone"] == "Asia/Kolkata"
    assert prefs["next_due_at"] == "2026-11-03T02:30:00+00:00"  # 08:00 in Kolkata, the day after the first day
    _, beta_key = await MerchantStore(shop.redis, Keys(key_prefix), shop.clock).create(
        "Beta Goods", return_address=Address(line1="1 Depot Rd", city="Pune", state="Maharashtra", postcode="411001"),
        return_contact=Contact(name="Beta Returns", phone="9800000002"))
    await put_digest(shop, {"emails": ["beta@beta.example"]}, beta_key)
    opted_out = await put_digest(shop, {"emails": []}, beta_key)  # opted out again before any digest
    assert opted_out["emails"] == [] and opted_out["next_due_at"] is None
    await create_return(shop, 0, RETURNS[0][1], False, beta_key)

    created, ordered = await seed_history(shop)
    # 07:00 in Kolkata on 10 Nov: seven digests so far (2 to 8 Nov), none yet for the 9th.
    days = [re.search(r"for \w+ (\d+) Nov 2026", str(m["Subject"])) for m in shop.digests()]
    assert sorted(int(d[1]) for d in days if d) == [2, 3, 4, 5, 6, 7, 8]
    await shop.advance(1.5)  # 08:30 in Kolkata: the digest of the 9th goes, once, though both workers tick
    await shop.advance(0.5)
    mails = shop.digests()
    assert len(mails) == 8 and shop.count("sent") == 8
    assert shop.count("duplicate") >= 1  # the two workers did race for the same digests
    assert not shop.digests("beta@beta.example")
    mail = mails[-1]
    assert mail["To"] == ", ".join(RECIPIENTS) and "Mon 9 Nov 2026: 6 returns" in str(mail["Subject"])
    text_part, html_part = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content().replace("\r\n", "\n"), html_part.get_content()

    found = sections(text)
    per_day = Counter(day for day, _, _ in RETURNS)
    units = sum(u for day, lines, _ in RETURNS if day == 7 for _, u, _, _ in lines)
    trailing = sum(per_day[d] for d in range(7)) / 7
    assert f"Returns: {per_day[7]} ({units} units)" in text
    assert f"7-day daily average: {trailing:.1f} ({(per_day[7] - trailing) / trailing:+.0%})" in text
    assert found["Top reasons"] == [f"{r:<24} {n} return{'s' if n > 1 else ''}, {u} unit{'s' if u > 1 else ''}, "
                                    f"{pct(u / units)}" for r, n, u in expected_reasons()]
    assert found["Worst SKUs by return rate"] == [f"{s:<24} {pct(r / o)} ({r} of {o} units)"
                                                  for s, r, o in expected_skus(ordered)]
    assert not any(line.startswith("MUG") for line in found["Worst SKUs by return rate"])  # one unit ordered

    truth = await carrier_truth(shop, created)
    assert truth["pickups"] > 0 and truth["failed"] > 0  # the day has both, so the rate means something
    line = found["Carrier performance"][0]
    booked = per_day[7]
    rate = truth["pickups"] / (truth["pickups"] + truth["failed"])
    assert line.startswith(f"delhivery: pickup success {pct(rate)} ({truth['pickups']} picked up, "
                           f"{truth['failed']} failed attempt")
    assert f"request to pickup {truth['hours']:.1f} h on average" in line
    assert line.endswith(f"{booked} booked, shipping ₹{booked * PRICE_PER_RETURN:,.2f}")

    mix = Counter[str]()
    for day, lines, _ in RETURNS:
        if day == 7:
            for _, u, _, res in lines:
                mix[res] += u
    assert found["Resolution mix"] == [f"{res:<24} {mix[res]} ({pct(mix[res] / units)})"
                                       for res in ("refund", "exchange", "credit") if mix[res]]
    assert f"Shipping cost: ₹{booked * PRICE_PER_RETURN:,.2f} for {booked} booked returns " \
           f"(₹{PRICE_PER_RETURN:,.2f} each)" in text

    link = re.search(r"https?://\S+/v1/analytics/returns\.html\?from=2026-11-03&to=2026-11-09", text)
    assert link, text
    parts = urlsplit(link[0])
    page = await shop.client.get(f"{parts.path}?{parts.query}", headers=shop.auth)
    assert page.status == 200
    assert "Acme Fashion" in html and f"₹{booked * PRICE_PER_RETURN:,.2f}" in html and 'style="' in html
    assert not re.search(r"<(img|link|script)\b|\bsrc=|url\(", html)  # nothing loaded from elsewhere

    await shop.advance(24)  # the next morning brings the 10th, and still no second digest of the 9th
    assert len(shop.digests()) == 9 and shop.count("sent") == 9
    await cli_preview_and_send(shop, text, str(mail["Subject"]))


async def run_cli(shop: Shop, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKHAUL_")}
    env.update({"BACKHAUL_REDIS_URL": shop.redis_url, "BACKHAUL_KEY_PREFIX": shop.settings.key_prefix,
                "BACKHAUL_CONFIG_DIR": str(shop.settings.config_dir),
                "BACKHAUL_DIGEST__SKU_MIN_ORDERED": str(MIN_ORDERED), "BACKHAUL_OPS__SMTP_HOST": "127.0.0.1",
                "BACKHAUL_OPS__SMTP_PORT": str(shop.settings.ops.smtp_port)})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", "digest", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_preview_and_send(shop: Shop, text: str, subject: str) -> None:
    """`backhaul digest preview` prints what was mailed; `send` mails it again at once."""
    code, out, err = await run_cli(shop, "preview", "--merchant", shop.merchant_id, "--date", DAY.isoformat())
    assert code == 0, err
    assert out == f"Subject: {subject}\n\n{text}"
    code, _, err = await run_cli(shop, "preview", "--merchant", shop.merchant_id, "--date", "09/11/2026")
    assert code == 2 and "not a date" in err
    code, _, err = await run_cli(shop, "preview", "--merchant", "mer_nobody")
    assert code == 2 and "no merchant mer_nobody" in err
    before = len(shop.digests())
    code, out, err = await run_cli(shop, "send", "--merchant", shop.merchant_id, "--date", DAY.isoformat())
    assert code == 0, err
    assert len(shop.digests()) == before + 1 and shop.digests()[-1]["Subject"] == subject
    code, _, err = await run_cli(shop, "settings", "--merchant", shop.merchant_id, "--emails", "ops@acme,x")
    assert code == 2 and "emails" in err
    code, out, err = await run_cli(shop, "settings", "--merchant", shop.merchant_id, "--emails", "", "--hour", "9")
    assert code == 0 and "nobody (no digest) at 09:00 Asia/Kolkata" in out, err
    prefs = await (await shop.client.get("/v1/analytics/digest", headers=shop.auth)).json()
    assert prefs["emails"] == [] and prefs["hour"] == 9 and prefs["next_due_at"] is None


async def test_a_failed_send_is_retried_on_a_later_tick(shop: Shop) -> None:
    await create_return(shop, 0, RETURNS[0][1], False)
    await shop.advance(3, workers=1)  # 07:30 UTC: the merchant sets no zone, so UTC; 06:00 today has passed
    prefs = await put_digest(shop, {"emails": ["ops@acme.example"], "hour": 6})
    assert prefs["time_zone"] == "UTC" and prefs["next_due_at"] == "2026-11-03T06:00:00+00:00"
    await shop.advance(22.25, workers=1)  # 05:45 on the 3rd
    assert not shop.digests() and shop.count("failed") == 0
    shop.inbox.refuse = 1
    await shop.advance(0.5, workers=1)  # 06:15: due; the server refuses it
    assert not shop.digests() and shop.count("failed") == 1
    assert await shop.redis.get(Keys(shop.settings.key_prefix).digest_claim(shop.merchant_id, "2026-11-02")) is None
    await shop.advance(0.05, workers=1)  # before retry_s has passed: not yet
    assert not shop.digests() and shop.count("failed") == 1
    await shop.advance(0.25, workers=1)
    mails = shop.digests()
    assert len(mails) == 1 and "Mon 2 Nov 2026: 1 return" in str(mails[0]["Subject"]) and shop.count("sent") == 1
    await shop.advance(1, workers=1)
    assert len(shop.digests()) == 1


async def test_bad_settings_are_refused_and_nothing_changes(shop: Shop) -> None:
    await put_digest(shop, {"emails": ["ops@acme.example"], "hour": 7})
    for body, field in (({"emails": ["not-an-address"]}, "emails[0]"), ({"emails": [], "hour": 24}, "hour"),
                        ({"emails": [], "hours": 8}, "hours"), ({"emails": "ops@acme.example"}, "emails")):
        resp = await shop.client.put("/v1/analytics/digest", json=body, headers=shop.auth)
        assert resp.status == 422, body
        problem = await resp.json()
        assert resp.content_type == "application/problem+json" and field in [e["field"] for e in problem["errors"]]
    now = await (await shop.client.get("/v1/analytics/digest", headers=shop.auth)).json()
    assert now["emails"] == ["ops@acme.example"] and now["hour"] == 7
    resp = await shop.client.get("/v1/analytics/digest/preview?date=yesterday", headers=shop.auth)
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "date"
    resp = await shop.client.get("/v1/analytics/digest/preview?date=2026-11-01", headers=shop.auth)
    assert resp.status == 200 and "Returns: 0 (0 units)" in await resp.text()
    assert (await shop.client.get("/v1/analytics/digest")).status == 401
