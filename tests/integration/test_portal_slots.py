"""Pickup dates from the allocated carrier's calendar, and drop-off where the carrier offers it.

Two merchants on one gateway: an Indian one whose returns go to the Delhivery sandbox, and a US
one whose returns go to the UPS sandbox. The calendar is the shipped one (UPS: Monday to Friday,
from tomorrow, 14:00 cut-off) plus the test's own Delhivery entry (Monday to Friday, same day
before 14:00).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
import yaml
from aiohttp.test_utils import TestServer

from carriers.base import Address, Contact
from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from carriers.ups import sandbox as ups_sandbox
from gateway import keys
from gateway.app import create_app
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from tests.integration.conftest import START, System, return_body, sandbox_settings, seed_merchant
from tests.integration.test_portal_flow import TOKEN, rel, returns_count, seed_order, session

ROOT = Path(__file__).resolve().parents[2]
# START is Monday 2026-11-02 10:00 in Kolkata and Sunday 2026-11-01 23:30 in New York.
MONDAY = date(2026, 11, 2)
DELHIVERY_CALENDAR = {"days": ["mon", "tue", "wed", "thu", "fri"], "lead_days": 0, "cutoff_hour": 14,
                      "horizon_days": 9}
US_ADDRESS = {"line1": "12 Elm St", "city": "Memphis", "state": "TN", "postcode": "38117", "country": "US"}
US_FIELDS = {"line1": "12 Elm St", "city": "Memphis", "state": "TN", "postcode": "38117", "phone": "+1 901 222 3344"}


@dataclass
class Both:
    india: System
    us: System
    ups: SandboxControl


def _config(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    calendar = yaml.safe_load((ROOT / "config" / "pickup_calendar.yaml").read_text(encoding="utf-8"))
    calendar["carriers"]["delhivery"] = DELHIVERY_CALENDAR
    (tmp_path / "pickup_calendar.yaml").write_text(yaml.safe_dump(calendar), encoding="utf-8")
    portal = yaml.safe_load((ROOT / "config" / "return_reasons.yaml").read_text(encoding="utf-8"))
    portal["merchants"] = {"Acme Fashion": {"drop_off": True}, "Acme US": {"drop_off": True}}
    (tmp_path / "return_reasons.yaml").write_text(yaml.safe_dump(portal, allow_unicode=True), encoding="utf-8")
    return tmp_path


@pytest.fixture
async def both(redis_url: str, redis: aioredis.Redis, key_prefix: str, aiohttp_server: Any, aiohttp_client: Any,
               tmp_path: Path) -> Both:
    clock = ManualClock(START)
    dl, ups = SandboxControl(clock), SandboxControl(clock)
    dl_server: TestServer = await aiohttp_server(delhivery_sandbox.make_app(dl))
    ups_server: TestServer = await aiohttp_server(ups_sandbox.make_app(ups))
    settings = sandbox_settings(str(dl_server.make_url("")).rstrip("/"), key_prefix, config_dir=_config(tmp_path))
    carriers = dict(settings.carriers)
    carriers["ups"] = {"base_url": str(ups_server.make_url("")).rstrip("/"), "client_id": ups_sandbox.CLIENT_ID,
                       "client_secret": ups_sandbox.CLIENT_SECRET, "account_number": ups_sandbox.ACCOUNT,
                       "timeout_s": 2, "retries": 1}
    settings = settings.model_copy(update={"carriers": carriers, "carrier_order": ["delhivery", "ups"]})
    app = create_app(settings, redis_url, clock=clock, run_poller=False)
    client = await aiohttp_client(app)
    india, india_key = await seed_merchant(redis, key_prefix, clock)
    us, us_key = await MerchantStore(redis, Keys(key_prefix), clock).create(
        "Acme US", display_name="Acme US", time_zone="America/New_York",
        return_address=Address(line1="900 Dock Rd", city="Reno", state="NV", postcode="89502", country="US"),
        return_contact=Contact(name="Returns DC", phone="+1 775 333 4455", phone_region="US"))
    return Both(System(client, dl, clock, india_key, india, redis, key_prefix, app),
                System(client, ups, clock, us_key, us, redis, key_prefix, app), ups)


def offered(html: str) -> list[str]:
    return re.findall(r'name="date" value="([^"]+)"', html)


async def choose(system: System, url: str, date_value: str, **fields: Any) -> aiohttp.ClientResponse:
    """Submit the return form for one unit of the T-shirt line with `date_value` as the date radio."""
    html = await (await system.client.get(url)).text()
    action = re.search(r'action="([^"]+/submit[^"]*)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    data = aiohttp.FormData()
    values = {"form_token": TOKEN.search(html).group(1), "lang": "en", "line1": "12 MG Road",  # type: ignore[union-attr]
              "city": "Bengaluru", "state": "Karnataka", "postcode": "560001", "phone": "9800000000",
              "qty_1": "1", "reason_1": "quality", "date": date_value, **fields}
    for name, value in values.items():
        data.add_field(name, str(value))
    return await system.client.post(rel(action), data=data, allow_redirects=False)


async def us_session(both: Both) -> str:
    await seed_order(both.us, address=US_ADDRESS, customer_phone="+1 901 222 3344", currency="USD")
    return await session(both.us)


def _days(*offsets: int) -> list[str]:
    return [(MONDAY + timedelta(days=n)).isoformat() for n in offsets]


async def test_dates_follow_the_carriers_calendar_and_its_cutoff(both: Both) -> None:
    india = both.india
    await seed_order(india)
    url = await session(india)
    # 10:00 in Kolkata, before Delhivery's 14:00 cut-off: today is offered; never a Saturday or Sunday.
    assert offered(await (await india.client.get(url)).text()) == _days(0, 1, 2, 3, 4, 7, 8, 9)
    india.clock.advance(timedelta(hours=4, minutes=30))  # 14:30 in Kolkata
    after = offered(await (await india.client.get(url)).text())
    assert after == _days(1, 2, 3, 4, 7, 8, 9)
    assert "drop_off" not in after  # Delhivery books no drop-offs, whatever the merchant allows


async def test_submit_refuses_a_date_outside_the_list_and_writes_nothing(both: Both) -> None:
    india = both.india
    await seed_order(india)
    url = await session(india)
    india.clock.advance(timedelta(hours=5))  # past the cut-off: today is no longer offered
    for bad in (MONDAY.isoformat(), "2026-11-07", "2026-11-20", "drop_off", "soon"):
        resp = await choose(india, url, bad)
        assert resp.status == 303 and resp.headers["Location"].endswith("error=date"), (bad, resp.headers)
        shown = await india.client.get(rel(resp.headers["Location"]))
        assert shown.status == 422 and "Choose one of the pickup dates shown." in await shown.text()
    assert await returns_count(india) == 0
    assert await india.app[keys.ORDERS].returned(india.merchant.id, "ORD-1001") == {}
    assert not india.control.booking_calls


async def test_chosen_date_reaches_the_return(both: Both) -> None:
    india = both.india
    await seed_order(india)
    url = await session(india)
    resp = await choose(india, url, "2026-11-04")
    assert resp.status == 303 and "/t/" in resp.headers["Location"], resp.headers
    ret = (await (await india.client.get("/v1/returns", headers=india.auth)).json())["data"][0]
    assert ret["request"]["pickup_date"] == "2026-11-04" and ret["request"]["fulfilment"] == "pickup"
    assert ret["shipment"]["carrier"] == "delhivery" and ret["shipment"]["pickup_date"] == "2026-11-04"


async def test_us_page_offers_ups_days_in_new_york_time_and_drop_off(both: Both) -> None:
    url = await us_session(both)
    html = await (await both.us.client.get(url)).text()
    # Sunday 23:30 in New York is past the cut-off: UPS's first day is Tuesday; no Saturday pickups.
    assert offered(html) == [*_days(1, 2, 3, 4), "drop_off"]
    assert "I'll drop it off at a UPS Access Point or The UPS Store" in html


async def test_drop_off_return_books_a_label_without_pickup(both: Both) -> None:
    url = await us_session(both)
    resp = await choose(both.us, url, "drop_off", **US_FIELDS)
    assert resp.status == 303 and "/t/" in resp.headers["Location"], resp.headers
    ret = (await (await both.us.client.get("/v1/returns", headers=both.us.auth)).json())["data"][0]
    assert ret["request"]["fulfilment"] == "drop_off" and ret["request"]["pickup_date"] is None
    assert ret["shipment"]["carrier"] == "ups" and ret["shipment"]["pickup_date"] is None
    # What UPS saw: one return shipment (the label) and no on-call pickup for it.
    [booking] = both.ups.bookings_for(ret["id"])
    assert both.ups.booking_calls[ret["id"]] == 1 and booking.request["prns"] == {}
    page = await (await both.us.client.get(rel(resp.headers["Location"]))).text()
    assert "No courier will come: take the parcel to a UPS Access Point or The UPS Store." in page
    assert "Expected pickup" not in page
    label_url = re.search(r'id="drop-off">[^<]*<a class="link" href="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    label = await both.us.client.get(rel(label_url.replace("&amp;", "&")))
    assert label.status == 200 and label.content_type == "application/pdf"
    assert (await label.read()).startswith(b"%PDF")


async def test_us_pickup_goes_to_ups_on_the_chosen_day(both: Both) -> None:
    url = await us_session(both)
    resp = await choose(both.us, url, "2026-11-05", **US_FIELDS)
    assert resp.status == 303, resp.headers
    ret = (await (await both.us.client.get("/v1/returns", headers=both.us.auth)).json())["data"][0]
    [booking] = both.ups.bookings_for(ret["id"])
    assert [p["date"] for p in booking.request["prns"].values()] == ["20261105"]


async def test_api_drop_off_is_validated_with_the_field(both: Both) -> None:
    india, us = both.india, both.us

    async def post(system: System, **overrides: Any) -> tuple[int, dict[str, Any]]:
        resp = await system.client.post("/v1/returns", json=return_body(**overrides), headers=system.auth)
        assert resp.content_type in ("application/problem+json", "application/json")
        return resp.status, dict(await resp.json())

    status, doc = await post(india, fulfilment="teleport")
    assert status == 422 and doc["errors"][0]["field"] == "fulfilment"
    status, doc = await post(india, fulfilment="drop_off")  # Delhivery is the only carrier for this lane
    assert status == 422 and doc["type"].endswith("drop-off-unavailable") and doc["errors"][0]["field"] == "fulfilment"
    status, doc = await post(india, fulfilment="drop_off", carrier="delhivery")
    assert status == 422 and doc["errors"][0]["field"] == "fulfilment" and "delhivery" in doc["detail"]
    status, doc = await post(india, fulfilment="drop_off", pickup_date="2026-11-04")
    assert status == 422 and doc["errors"][0]["field"] == "pickup_date"
    assert await returns_count(india) == 0 and not india.control.booking_calls
    us_body = {"customer": {"name": "Jane Buyer", "phone": "+1 901 222 3344"}, "pickup_address": US_ADDRESS}
    status, doc = await post(us, fulfilment="drop_off", **us_body)
    assert status == 201, doc
    assert doc["shipment"]["carrier"] == "ups" and both.ups.bookings_for(doc["id"])[0].request["prns"] == {}


async def test_booker_moves_a_date_the_carrier_does_not_serve(both: Both) -> None:
    us_body = {"customer": {"name": "Jane Buyer", "phone": "+1 901 222 3344"}, "pickup_address": US_ADDRESS}
    moved = {}
    # Monday is past UPS's cut-off (Sunday 23:30 in New York): its next valid day, Tuesday. Saturday is
    # not a UPS day and the next one is past its 7-day horizon: its last bookable day, Friday.
    for order_id, asked in (("US-1", "2026-11-02"), ("US-2", "2026-11-07"), ("US-3", "2026-11-05")):
        resp = await both.us.client.post("/v1/returns", headers=both.us.auth,
                                         json=return_body(order_id=order_id, pickup_date=asked, **us_body))
        doc = await resp.json()
        assert resp.status == 201, doc
        assert doc["request"]["pickup_date"] == asked
        [booking] = both.ups.bookings_for(doc["id"])
        booked = doc["shipment"]["pickup_date"]
        assert [p["date"] for p in booking.request["prns"].values()] == [booked.replace("-", "")]
        moved[asked] = doc["shipment"]["pickup_date"]
    assert moved == {"2026-11-02": "2026-11-03", "2026-11-07": "2026-11-06", "2026-11-05": "2026-11-05"}
