"""The ops console and alerts over the whole system: login, CSRF, the queue and its actions, CSV,
stuck shipments, deduplicated alerts and the merchant-scoped `GET /v1/alerts`."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp import ClientResponse

from carriers.sandbox import Step
from gateway import keys
from gateway.ops.users import OpsUsers
from gateway.ops.wiring import OPS_WORKER
from gateway.store.keys import Keys
from tests.integration.conftest import System, seed_merchant

PASSWORD = "a long ops password"


async def login(system: System, name: str = "ravi", password: str = PASSWORD) -> ClientResponse:
    await OpsUsers(system.redis, Keys(system.prefix), {}).add("ravi", PASSWORD)
    form = await system.client.get("/ops/login")
    token = re.search(r'name="token" value="([^"]+)"', await form.text())
    assert token
    return await system.client.post("/ops/login", data={"name": name, "password": password, "token": token[1],
                                                         "next": "/ops/queue"}, allow_redirects=False)


async def failed_pickup(system: System) -> str:
    system.control.set_scenario("pickup_failed", reason_code="EOD-11")
    ret = await system.create()
    await system.advance(hours=27)
    await system.app[OPS_WORKER].run_once()
    return str(ret["id"])


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found[1]


async def test_the_console_needs_a_login_and_sets_a_strict_cookie(system: System) -> None:
    resp = await system.client.get("/ops/queue", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/ops/login?next=")
    resp = await login(system)
    assert resp.status == 303 and resp.headers["Location"] == "/ops/queue"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ops" in cookie
    assert (await system.client.get("/ops/queue")).status == 200


async def test_logins_are_rate_limited(system: System) -> None:
    for _ in range(10):
        assert (await login(system, password="wrong")).status == 401
    assert (await login(system)).status == 429


async def test_queue_lists_the_failure_and_an_action_needs_csrf(system: System) -> None:
    rid = await failed_pickup(system)
    await login(system)
    page = await (await system.client.get("/ops/queue?carrier=delhivery&reason=customer_unavailable")).text()
    assert rid in page and "EOD-11" in page and "Consignee Unavailable" in page
    assert rid not in await (await system.client.get("/ops/queue?reason=address_issue")).text()
    url = f"/ops/npr/{system.merchant.id}/{rid}/contact"
    assert (await system.client.post(url, data={"csrf": "forged"}, allow_redirects=False)).status == 403
    resp = await system.client.post(url, data={"csrf": csrf_of(page), "back": "/ops/queue"}, allow_redirects=False)
    assert resp.status == 303 and "notice=" in resp.headers["Location"]
    case = await system.app[keys.OPS].nprs.get(system.merchant.id, rid)
    assert case is not None and case.actions[-1].actor == "ops:ravi" and case.actions[-1].action == "contact"
    csv = await (await system.client.get("/ops/queue.csv")).text()
    assert csv.splitlines()[0].startswith("merchant_id,merchant,return_id") and rid in csv


async def test_cancel_closes_the_case(system: System) -> None:
    rid = await failed_pickup(system)
    await login(system)
    csrf = csrf_of(await (await system.client.get("/ops/queue")).text())
    await system.client.post(f"/ops/npr/{system.merchant.id}/{rid}/cancel", data={"csrf": csrf})
    assert (await system.get(rid))["status"] == "cancelled"
    case = await system.app[keys.OPS].nprs.get(system.merchant.id, rid)
    assert case is not None and case.state == "closed"
    assert rid not in await (await system.client.get("/ops/queue")).text()


async def test_alerts_deduplicate_and_ops_resolve_them(system: System) -> None:
    alerts = system.app[keys.OPS].alerts
    first = await alerts.fire("unmapped_status", "delhivery:ZZ-1", "Unmapped delhivery status code ZZ-1")
    again = await alerts.fire("unmapped_status", "delhivery:ZZ-1", "Unmapped delhivery status code ZZ-1")
    assert first is not None and again is not None and again.id == first.id and again.count == 2
    await login(system)
    page = await (await system.client.get("/ops/alerts")).text()
    await system.client.post(f"/ops/alerts/{first.id}/ack", data={"csrf": csrf_of(page)})
    await system.client.post(f"/ops/alerts/{first.id}/resolve", data={"csrf": csrf_of(page)})
    resolved = await alerts.get(first.id)
    assert resolved is not None and resolved.state == "resolved" and resolved.acked_by == resolved.resolved_by == "ravi"
    reopened = await alerts.fire("unmapped_status", "delhivery:ZZ-1", "Unmapped delhivery status code ZZ-1")
    assert reopened is not None and reopened.id != first.id
    assert "ZZ-1" in await (await system.client.get("/ops/alerts.csv")).text()


async def test_merchants_see_only_alerts_about_their_own_returns(system: System) -> None:
    rid = await failed_pickup(system)
    resp = await system.client.get("/v1/alerts", headers=system.auth)
    assert [(a["rule"], a["return_id"]) for a in (await resp.json())["data"]] == [("failed_pickup", rid)]
    _, other_key = await seed_merchant(system.redis, system.prefix, system.clock)
    resp = await system.client.get("/v1/alerts", headers={"Authorization": f"Bearer {other_key}"})
    assert (await resp.json())["data"] == []
    assert (await system.client.get("/v1/alerts")).status == 401


async def test_a_shipment_without_scans_is_stuck_until_the_next_scan(system: System) -> None:
    ret = await system.create()
    booking = system.control.bookings_for(ret["id"])[0]
    rest, booking.script = booking.script[2:], booking.script[:2]  # the carrier goes quiet after "scheduled"
    await system.advance(hours=2)
    await system.advance(hours=48)  # the fallback SLA of pickup_scheduled is 48 h
    worker = system.app[OPS_WORKER]
    await worker.run_once()
    flagged = await system.app[keys.OPS].stuck.flagged()
    assert [rid for _, rid, _ in flagged] == [ret["id"]]
    await login(system)
    assert ret["id"] in await (await system.client.get("/ops/stuck")).text()
    booking.restart(system.clock.now(), [Step(timedelta(0), rest[0].scan)])  # out for pickup, at last
    await system.advance(hours=1)
    assert await system.app[keys.OPS].stuck.flagged() == []
    stuck = [a for a in await system.app[keys.OPS].alerts.recent() if a.rule == "stuck_shipment"]
    assert [a.state for a in stuck] == ["resolved"]


async def test_a_booking_the_carrier_never_scans_is_stuck_from_its_booking(system: System) -> None:
    ret = await system.create()
    system.control.bookings_for(ret["id"])[0].script = []  # booked, and then nothing at all
    await system.advance(hours=23)
    worker = system.app[OPS_WORKER]
    await worker.run_once()
    assert await system.app[keys.OPS].stuck.flagged() == []
    await system.advance(hours=2)  # past the 24 h fallback SLA of a return nobody has scanned
    await worker.run_once()
    flagged = await system.app[keys.OPS].stuck.flagged()
    assert [rid for _, rid, _ in flagged] == [ret["id"]]
    [alert] = [a for a in await system.app[keys.OPS].alerts.recent() if a.rule == "stuck_shipment"]
    assert alert.state == "firing" and "has not been scanned" in alert.detail


async def test_health_page_draws_svg_charts(system: System) -> None:
    await failed_pickup(system)
    await login(system)
    html = await (await system.client.get("/ops/health")).text()
    assert html.count("<svg") == 4 and "Pickup success rate" in html and "<script" not in html
    csv = await (await system.client.get("/ops/health.csv")).text()
    assert csv.startswith("carrier,pickups,failed_attempts") and "customer_unavailable=1" in csv
