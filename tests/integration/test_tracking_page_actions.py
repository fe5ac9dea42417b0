"""What a customer does on the page after a failed pickup, and how the page defends itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from lxml import html as lxml_html

from carriers.delhivery import wire
from gateway.pages.guard import MISSES_PER_MINUTE
from gateway.store.keys import Keys
from tests.browser.site import Site, start_site


@pytest.fixture
async def site(redis_url: str, redis: aioredis.Redis, key_prefix: str) -> AsyncIterator[Site]:
    running = await start_site(redis_url, redis, key_prefix)
    yield running
    await running.close()


async def failed(site: Site) -> dict[str, Any]:
    site.control.set_scenario("pickup_failed", reason_code="EOD-11")
    ret = await site.create()
    await site.advance(hours=27)
    return ret


async def form_of(site: Site, ret: dict[str, Any], action: str) -> tuple[str, dict[str, str]]:
    async with site.http.get(ret["tracking_url"] + "?lang=en") as resp:
        doc = lxml_html.fromstring(await resp.text())
    form = next(f for f in doc.forms if f.action.split("?")[0].endswith("/" + action))
    fields = {k: v for k, v in form.form_values()}
    return str(form.action), fields


async def post(site: Site, url: str, data: dict[str, str], **headers: str) -> str:
    async with site.http.post(url, data=data, headers=headers, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
        return str(resp.headers["Location"])


async def test_reschedule_reaches_the_carrier_timeline_and_feed_once(site: Site) -> None:
    ret = await failed(site)
    url, fields = await form_of(site, ret, "reschedule")
    day = fields["date"]
    location = await post(site, url, fields, Origin=site.url)
    assert location.startswith(site.url) and "done=rescheduled" in location
    assert await post(site, url, fields, Origin=site.url) == location  # a double submit changes nothing
    assert site.calls_to(wire.NDR_PATH) == [wire.build_pickup_reschedule([ret["shipment"]["awb"]])]
    ours = [e for e in await site.events(ret["id"]) if e["raw_code"] == "backhaul/customer_reschedule"]
    assert len(ours) == 1
    assert ours[0]["status"] == "pickup_scheduled" and ours[0]["reason"] == "reschedule_requested"
    assert ours[0]["remarks"] == day
    feed = await site.redis.xrange(Keys(site.prefix).feed(site.merchant.id))
    assert sum(1 for _, f in feed if '"backhaul/customer_reschedule"' in f["event"]) == 1
    async with site.http.get(location) as resp:
        body = await resp.text()
    assert "We have asked the courier to come again" in body and "Your pickup is scheduled" in body


async def test_contact_correction_edits_the_booking(site: Site) -> None:
    ret = await failed(site)
    url, fields = await form_of(site, ret, "contact")
    assert "done=" not in await post(site, url, fields | {"phone": "12"})  # not a phone number
    url, fields = await form_of(site, ret, "contact")
    location = await post(site, url, fields | {"phone": "9812345678", "line1": "14 MG Road, Flat 3"})
    assert "done=contact" in location
    booking = site.control.bookings[ret["shipment"]["awb"]]
    assert booking.request["phone"] == "9812345678" and booking.request["add"].startswith("14 MG Road, Flat 3")
    async with site.http.get(f"{site.url}/v1/returns/{ret['id']}", headers=site.auth) as resp:
        doc = await resp.json()
    assert doc["request"]["customer"]["phone"] == "+919812345678"
    codes = [e["raw_code"] for e in await site.events(ret["id"])]
    assert "backhaul/customer_contact_update" in codes


async def test_cancel_cancels_at_the_carrier(site: Site) -> None:
    ret = await failed(site)
    url, fields = await form_of(site, ret, "cancel")
    assert "done=cancelled" in await post(site, url, fields)
    assert any(c and c.get("cancellation") == "true" for c in site.calls_to(wire.EDIT_PATH))
    async with site.http.get(f"{site.url}/v1/returns/{ret['id']}", headers=site.auth) as resp:
        assert (await resp.json())["status"] == "cancelled"
    async with site.http.get(ret["tracking_url"]) as resp:
        assert 'id="actions"' not in await resp.text()


async def test_forms_refuse_forgery(site: Site) -> None:
    ret = await failed(site)
    url, fields = await form_of(site, ret, "reschedule")
    assert "error=invalid" in await post(site, url, fields | {"form_token": "1.2.3"})
    assert "error=invalid" in await post(site, url, fields, Origin="https://evil.example")
    assert "error=invalid" in await post(site, url, fields, **{"Sec-Fetch-Site": "cross-site"})
    _, cancel_fields = await form_of(site, ret, "cancel")
    # A token for another action does not work here.
    assert "error=invalid" in await post(site, url, fields | {"form_token": cancel_fields["form_token"]})
    site.clock.advance(timedelta(hours=1))
    assert "error=expired" in await post(site, url, fields)
    assert site.calls_to(wire.NDR_PATH) == []


async def test_new_dates_come_from_the_carriers_pickup_calendar(site: Site) -> None:
    ret = await failed(site)
    async with site.http.get(ret["tracking_url"]) as resp:
        page = await resp.text()
    offered = [date.fromisoformat(d) for d in re.findall(r'name="date" value="(\d{4}-\d{2}-\d{2})"', page)]
    today = site.clock.now().astimezone(ZoneInfo("Asia/Kolkata")).date()
    # Delhivery uses the shipped default calendar: Monday to Saturday, from tomorrow.
    assert len(offered) == 5 and all(d > today and d.weekday() != 6 for d in offered)
    url, fields = await form_of(site, ret, "reschedule")
    sunday = next(today + timedelta(days=n) for n in range(1, 8) if (today + timedelta(days=n)).weekday() == 6)
    assert "error=invalid" in await post(site, url, fields | {"date": sunday.isoformat()})
    assert site.calls_to(wire.NDR_PATH) == []


async def test_actions_exist_only_after_a_failed_pickup(site: Site) -> None:
    ret = await site.create()
    async with site.http.get(ret["tracking_url"]) as resp:
        assert 'id="actions"' not in await resp.text()
    failed_ret = await failed(site)
    url, fields = await form_of(site, failed_ret, "reschedule")
    cancel_url, cancel_fields = await form_of(site, failed_ret, "cancel")
    assert "done=cancelled" in await post(site, cancel_url, cancel_fields)  # in another tab, say
    assert "error=closed" in await post(site, url, fields)
    assert site.calls_to(wire.NDR_PATH) == []


async def test_guessing_tokens_is_rate_limited(site: Site) -> None:
    ret = await site.create()
    for n in range(MISSES_PER_MINUTE):
        async with site.http.get(f"{site.url}/t/{'x' * 30}{n:02d}") as resp:
            assert resp.status == 404
            assert "This link does not work" in await resp.text()
    async with site.http.get(ret["tracking_url"]) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "60"
    site.clock.advance(timedelta(minutes=1))
    async with site.http.get(ret["tracking_url"]) as resp:
        assert resp.status == 200


async def test_rotating_the_token_revokes_the_old_link(site: Site) -> None:
    ret = await site.create()
    async with site.http.post(f"{site.url}/v1/returns/{ret['id']}/tracking-token/rotate", headers=site.auth) as r:
        assert r.status == 200
        rotated = await r.json()
    assert rotated["tracking_url"] != ret["tracking_url"]
    async with site.http.get(ret["tracking_url"]) as resp:
        assert resp.status == 404
    async with site.http.get(rotated["tracking_url"]) as resp:
        assert resp.status == 200


async def test_without_a_reschedule_api_the_pickup_is_booked_again(site: Site) -> None:
    from dataclasses import replace

    from gateway import keys

    adapter = site.app[keys.CARRIERS].get("delhivery")
    # A carrier whose API cannot move a pickup (Xpressbees, Shadowfax, DTDC, FedEx, UPS...): the
    # real Delhivery adapter told so, so the page must cancel and book again instead.
    adapter.capabilities = replace(adapter.capabilities, reschedule=False)  # type: ignore[misc]
    ret = await failed(site)
    old_awb = ret["shipment"]["awb"]
    url, fields = await form_of(site, ret, "reschedule")
    location = await post(site, url, fields, Origin=site.url)
    assert "done=rescheduled" in location
    async with site.http.get(f"{site.url}/v1/returns/{ret['id']}", headers=site.auth) as resp:
        doc = await resp.json()
    assert doc["shipment"]["awb"] != old_awb
    assert doc["request"]["pickup_date"] == fields["date"]
    assert [a["outcome"] for a in doc["booking_attempts"]][-2:] == ["rebooked", "booked"]
    assert doc["audit"][-1]["action"] == "rebook" and doc["audit"][-1]["actor"] == "customer"
    state = site.control.state()
    scans = {b["awb"]: b["scans"] for b in state["bookings"]}
    assert scans[old_awb][-1]["ScanType"] == "CN"  # the first booking was cancelled at the carrier
    assert {b["reference"] for b in state["bookings"]} == {ret["id"], f"{ret['id']}-2"}
    # Late scans of the cancelled AWB no longer reach the return.
    await site.advance(hours=30)
    async with site.http.get(f"{site.url}/v1/returns/{ret['id']}", headers=site.auth) as resp:
        assert (await resp.json())["status"] != "cancelled"
