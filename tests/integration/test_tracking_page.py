"""The tracking page as a customer gets it: language, time zone, branding, privacy, size, live updates."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import html as lxml_html

from gateway.pages.i18n import LANGUAGES, translations
from gateway.pages.texts import HEADLINES
from gateway.store.keys import Keys
from normalizers.taxonomy import Status, TrackingEvent
from tests.integration.conftest import System

PAGE_BUDGET_BYTES = 60 * 1024
BRANDING = {
    "display_name": "Acme Fashion", "primary_color": "#fde047", "accent_color": "#ffb4a2", "font": "serif",
    "support_email": "help@acme.example", "support_phone": "+91 80 4000 1234",
    "footer_links": [{"label": "Returns policy", "url": "https://acme.example/returns"}],
    "public_url": "https://returns.acme.example", "time_zone": "Asia/Kolkata",
    "recommendations": [{"id": "tee", "title": "Linen shirt", "url": "https://acme.example/p/linen",
                         "price": "1499.00", "currency": "INR"}],
}


def token_of(ret: dict[str, Any]) -> str:
    return str(ret["tracking_url"].rsplit("/", 1)[1])


async def page(system: System, token: str, query: str = "", **headers: str) -> tuple[int, str, Any]:
    resp = await system.client.get(f"/t/{token}{query}", headers=headers, allow_redirects=False)
    return resp.status, await resp.text(), resp.headers


async def failed_pickup(system: System) -> dict[str, Any]:
    system.control.set_scenario("pickup_failed", reason_code="EOD-11")
    ret = await system.create()
    await system.advance(hours=27)
    assert (await system.get(ret["id"]))["status"] == "pickup_failed"
    return ret


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_every_language_renders_its_own_words(system: System, lang: str) -> None:
    ret = await failed_pickup(system)
    status, body, _ = await page(system, token_of(ret), f"?lang={lang}")
    assert status == 200
    doc = lxml_html.fromstring(body)
    assert doc.get("lang") == lang
    expected = translations(lang).gettext(HEADLINES[Status.PICKUP_FAILED])
    assert doc.findtext(".//h1") == expected
    if lang != "en":
        assert expected != HEADLINES[Status.PICKUP_FAILED]


async def test_accept_language_picks_the_language_and_lang_parameter_wins(system: System) -> None:
    ret = await system.create()
    token = token_of(ret)
    _, body, _ = await page(system, token, **{"Accept-Language": "fr-FR;q=0.9, ru;q=0.8, en;q=0.5"})
    assert '<html lang="ru">' in body
    _, body, _ = await page(system, token, "?lang=da", **{"Accept-Language": "ru"})
    assert '<html lang="da">' in body
    _, body, _ = await page(system, token, "?lang=xx", **{"Accept-Language": "pt-BR, de"})
    assert '<html lang="en">' in body


async def test_times_are_in_the_customers_zone(system: System) -> None:
    ret = await system.create()
    await system.advance(hours=2)
    # The sandbox scans at 10:00 IST on 2 Nov 2026 (04:30 UTC): IST for an Indian pickup by default.
    _, body, _ = await page(system, token_of(ret), "?lang=en")
    assert "Nov 2, 2026, 10:00\u202fAM" in body and "Asia/Kolkata" in body
    _, body, _ = await page(system, token_of(ret), "?lang=da&tz=Europe/Copenhagen")
    assert "2. nov. 2026 05.30" in body
    _, body, _ = await page(system, token_of(ret), "?lang=en&tz=Not/AZone")
    assert "Asia/Kolkata" in body


async def test_personal_data_is_masked(system: System) -> None:
    ret = await system.create()
    _, body, _ = await page(system, token_of(ret))
    assert "9800000000" not in body and "12 MG Road" not in body and "asha@example.com" not in body
    assert "0000" in body and "Bengaluru 560001" in body


async def test_page_fits_the_budget_and_asks_no_third_party(system: System) -> None:
    ret = await failed_pickup(system)
    status, body, headers = await page(system, token_of(ret), "?lang=ru")
    assert status == 200
    assert len(body.encode()) <= PAGE_BUDGET_BYTES, f"page is {len(body.encode())} bytes"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    doc = lxml_html.fromstring(body)
    loaded = [*doc.xpath("//script/@src"), *doc.xpath("//link/@href"), *doc.xpath("//img/@src")]
    assert loaded == [], loaded
    assert headers["Referrer-Policy"] == "same-origin" and headers["Cache-Control"] == "no-store"


async def test_branding_api_changes_the_page(system: System) -> None:
    resp = await system.client.put("/v1/branding", json=BRANDING, headers=system.auth)
    assert resp.status == 200, await resp.text()
    got = await (await system.client.get("/v1/branding", headers=system.auth)).json()
    assert got["primary_color"] == "#fde047" and got["recommendations"][0]["id"] == "tee"
    ret = await system.create()
    # The merchant's own domain is where its customers are sent, in every answer of the API.
    assert ret["tracking_url"] == f"https://returns.acme.example/t/{token_of(ret)}"
    assert (await system.get(ret["id"]))["tracking_url"] == ret["tracking_url"]
    _, body, _ = await page(system, token_of(ret), "?lang=en")
    assert "--brand:#fde047;--on-brand:#111827" in body  # dark text on a light brand colour
    assert "--accent:#ffb4a2" not in body  # too light for white: darkened until readable
    assert "Charter" in body and "Returns policy" in body and "+91 80 4000 1234" in body
    assert f"https://returns.acme.example/t/{token_of(ret)}/r/0?lang=en" in body
    assert "₹1,499.00" in body


async def test_branding_api_refuses_bad_values(system: System) -> None:
    bad = {**BRANDING, "primary_color": "red", "font": "Comic Sans", "time_zone": "Mars/Olympus",
           "logo_url": "http://cdn.example/logo.png"}
    resp = await system.client.put("/v1/branding", json=bad, headers=system.auth)
    assert resp.status == 422
    fields = {e["field"] for e in (await resp.json())["errors"]}
    assert {"primary_color", "font", "time_zone", "logo_url"} <= fields
    assert (await system.client.get("/v1/branding")).status == 401


async def test_recommendation_clicks_are_counted_and_go_only_to_the_configured_url(system: System) -> None:
    await system.client.put("/v1/branding", json=BRANDING, headers=system.auth)
    ret = await system.create()
    token = token_of(ret)
    for _ in range(2):
        resp = await system.client.get(f"/t/{token}/r/0", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == "https://acme.example/p/linen"
    assert (await system.client.get(f"/t/{token}/r/5", allow_redirects=False)).status == 404
    assert (await system.client.get(f"/t/{token}/r/https:%2F%2Fevil.example", allow_redirects=False)).status == 404
    clicks = await (await system.client.get("/v1/branding/recommendations/clicks", headers=system.auth)).json()
    assert clicks == {"data": {"tee": 2}}


def _feed_event(ret: dict[str, Any], status: Status) -> dict[str, str]:
    event = TrackingEvent(carrier="delhivery", awb=ret["shipment"]["awb"], status=status, raw_code="X",
                          occurred_at=datetime(2026, 11, 3, tzinfo=UTC), fingerprint=status.value)
    return {"return_id": ret["id"], "event": event.model_dump_json()}


async def test_live_stream_sends_only_this_returns_events(system: System) -> None:
    mine, other = await system.create(), await system.create(order_id="ORD-OTHER")
    feed = Keys(system.prefix).feed(system.merchant.id)
    resp = await system.client.get(f"/t/{token_of(mine)}/live")
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
    assert await resp.content.readuntil(b"\n\n") == b"retry: 3000\n\n"
    await system.redis.xadd(feed, _feed_event(other, Status.IN_TRANSIT))
    await system.redis.xadd(feed, _feed_event(mine, Status.PICKED_UP))
    message = (await asyncio.wait_for(resp.content.readuntil(b"\n\n"), timeout=5)).decode()
    fields = dict(line.split(": ", 1) for line in message.strip().splitlines())
    assert fields["event"] == "tracking" and re.fullmatch(r"\d+-\d+", fields["id"])
    assert json.loads(fields["data"])["status"] == "picked_up"
    resp.close()
