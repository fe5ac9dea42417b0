"""A return through its whole life against the Delhivery sandbox, with the real poller and Redis."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from tests.integration.conftest import System


async def test_create_books_a_reverse_pickup_at_delhivery(system: System) -> None:
    ret = await system.create()
    assert ret["status"] == "created"
    awb = ret["shipment"]["awb"]
    assert re.fullmatch(r"\d{13,14}", awb)
    booking = system.control.bookings[awb]
    assert booking.reference == ret["id"]
    shipment = booking.request
    assert shipment["payment_mode"] == "Pickup"
    assert shipment["pin"] == "560001" and shipment["return_pin"] == "421302"
    assert ret["tracking_url"].endswith(f"/t/{ret['tracking_url'].rsplit('/', 1)[1]}")
    assert awb not in ret["tracking_url"]


async def test_poller_follows_the_parcel_to_the_warehouse(system: System) -> None:
    ret = await system.create()
    seen = []
    for _ in range(12):
        await system.advance(hours=8)
        seen.append((await system.get(ret["id"]))["status"])
    assert seen[-1] == "delivered"
    assert "picked_up" in seen or "in_transit" in seen
    resp = await system.client.get(f"/v1/returns/{ret['id']}/events", headers=system.auth)
    statuses = [e["status"] for e in (await resp.json())["data"]]
    assert statuses[0] == "created"
    assert statuses.index("picked_up") < statuses.index("delivered")
    final = await system.get(ret["id"])
    assert final["state"]["pickup_attempts"] == 1
    assert final["state"]["delivered_at"] is not None
    # Delivered is terminal: the shipment leaves the poll schedule.
    assert await system.redis.zscore(f"{system.prefix}poll:due", f"{system.merchant.id} {ret['id']}") is None


async def test_failed_pickup_shows_reason_and_reattempt(system: System) -> None:
    system.control.set_scenario("pickup_failed", reason_code="EOD-11")
    ret = await system.create(order_id="ORD-2002")
    statuses = []
    for _ in range(6):
        await system.advance(hours=8)
        doc = await system.get(ret["id"])
        statuses.append((doc["status"], doc["state"]["reason"], doc["state"]["pickup_attempts"]))
    assert ("pickup_failed", "customer_unavailable", 1) in statuses
    for _ in range(10):
        await system.advance(hours=8)
    final = await system.get(ret["id"])
    assert final["status"] == "delivered"
    assert final["state"]["pickup_attempts"] == 2


async def test_tracking_page_shows_the_timeline(system: System) -> None:
    ret = await system.create()
    await system.advance(hours=30)
    path = "/t/" + ret["tracking_url"].rsplit("/", 1)[1]
    resp = await system.client.get(path)
    assert resp.status == 200
    html = await resp.text()
    assert "Acme Fashion" in html
    assert ret["shipment"]["awb"] in html
    assert "picked up" in html.lower()
    assert "9800000000" not in html  # the phone is masked
    assert (await system.client.get("/t/" + "x" * 32)).status == 404


async def test_label_is_a_pdf_with_awb_and_addresses(system: System) -> None:
    ret = await system.create()
    resp = await system.client.get(f"/v1/returns/{ret['id']}/label", headers=system.auth)
    assert resp.status == 200
    assert resp.content_type == "application/pdf"
    text = PdfReader(io.BytesIO(await resp.read())).pages[0].extract_text()
    assert ret["shipment"]["awb"] in text
    assert ret["id"] in text
    assert "560001" in text and "421302" in text


async def test_cancel_reaches_the_carrier_and_is_idempotent(system: System) -> None:
    ret = await system.create()
    first = await system.client.post(f"/v1/returns/{ret['id']}/cancel", headers=system.auth)
    assert first.status == 200
    assert (await first.json())["status"] == "cancelled"
    again = await system.client.post(f"/v1/returns/{ret['id']}/cancel", headers=system.auth)
    assert again.status == 200
    await system.advance(hours=2)
    scans = system.control.state()["bookings"][0]["scans"]
    assert (scans[-1]["ScanType"], scans[-1]["Scan"]) == ("CN", "Canceled")
    doc = await system.get(ret["id"])
    assert doc["status"] == "cancelled" and doc["state"]["reason"] == "cancelled_by_merchant"


async def test_cannot_cancel_after_pickup(system: System) -> None:
    ret = await system.create()
    await system.advance(hours=40)
    resp = await system.client.post(f"/v1/returns/{ret['id']}/cancel", headers=system.auth)
    assert resp.status == 409
    assert resp.content_type == "application/problem+json"


async def test_list_is_paginated_and_filtered(system: System) -> None:
    ids = [(await system.create(order_id=f"ORD-{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/returns?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await (await system.client.get(url, headers=system.auth)).json()
        assert len(page["data"]) <= 2
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    await system.client.post(f"/v1/returns/{ids[0]}/cancel", headers=system.auth)
    cancelled = await (await system.client.get("/v1/returns?status=cancelled", headers=system.auth)).json()
    assert [r["id"] for r in cancelled["data"]] == [ids[0]]


async def test_other_merchants_cannot_see_a_return(system: System) -> None:
    ret = await system.create()
    from tests.integration.conftest import seed_merchant

    _, other_key = await seed_merchant(system.redis, system.prefix, system.clock)
    resp = await system.client.get(f"/v1/returns/{ret['id']}", headers={"Authorization": f"Bearer {other_key}"})
    assert resp.status == 404


async def test_health_ready_and_metrics(system: System) -> None:
    await system.create()
    assert (await system.client.get("/healthz")).status == 200
    ready = await system.client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["redis"] == "ok"
    metrics = await (await system.client.get("/metrics")).text()
    assert 'backhaul_bookings_total{carrier="delhivery",outcome="booked"} 1.0' in metrics
    assert "backhaul_carrier_call_duration_seconds_bucket" in metrics
