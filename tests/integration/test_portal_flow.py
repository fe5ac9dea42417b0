"""The returns portal without JavaScript: identify, choose, submit; and every bad input refused cleanly."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import aiohttp
from PIL import Image
from yarl import URL

from gateway import keys
from tests.integration.conftest import System
from tests.integration.test_orders import order_body


def rel(url: str) -> str:
    """The path and query of one of the page's absolute URLs (the test client wants relative ones)."""
    return URL(url).path_qs


TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def photo(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make: must not survive the re-encode
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def session(system: System, contact: str = "asha@example.com", order_id: str = "ORD-1001") -> str:
    """The return page's URL after identifying the order (asserts success)."""
    page = await system.client.get(f"/r/{system.merchant.id}?lang=en")
    assert page.status == 200
    token = TOKEN.search(await page.text()).group(1)  # type: ignore[union-attr]
    resp = await system.client.post(f"/r/{system.merchant.id}/identify", allow_redirects=False,
                                    data={"form_token": token, "order_id": order_id, "contact": contact, "lang": "en"})
    assert resp.status == 303
    return rel(resp.headers["Location"])


async def form_of(system: System, url: str) -> tuple[str, str]:
    page = await system.client.get(url)
    html = await page.text()
    action = re.search(r'action="([^"]+/submit[^"]*)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    return rel(action), TOKEN.search(html).group(1)  # type: ignore[union-attr]


def form(token: str, date: str, **fields: Any) -> aiohttp.FormData:
    data = aiohttp.FormData()
    values = {"form_token": token, "lang": "en", "line1": "12 MG Road", "city": "Bengaluru", "state": "Karnataka",
              "postcode": "560001", "phone": "9800000000", "date": date}
    values.update(fields)
    for name, value in values.items():
        if isinstance(value, tuple):
            data.add_field(name, value[1], filename=value[0], content_type=value[2])
        else:
            data.add_field(name, str(value))
    return data


async def submit(system: System, url: str, **fields: Any) -> aiohttp.ClientResponse:
    action, token = await form_of(system, url)
    html = await (await system.client.get(url)).text()
    date = re.search(r'name="date" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    return await system.client.post(action, data=form(token, date, **fields), allow_redirects=False)


async def seed_order(system: System, **overrides: Any) -> None:
    resp = await system.client.post("/v1/orders", json=order_body(**overrides), headers=system.auth)
    assert resp.status in (200, 201), await resp.text()


async def test_two_items_one_exchange_one_refund_with_photo(system: System) -> None:
    await seed_order(system)
    url = await session(system)
    resp = await submit(system, url, qty_0="1", reason_0="size_too_small", res_0="exchange", exch_0="SH-43",
                        photo_0=("shoe.jpg", photo(), "image/jpeg"), qty_1="2", reason_1="quality", res_1="refund")
    assert resp.status == 303, await resp.text()
    assert "/t/" in resp.headers["Location"]
    page = await system.client.get(rel(resp.headers["Location"]))
    assert page.status == 200
    listed = await (await system.client.get("/v1/returns", headers=system.auth)).json()
    ret = listed["data"][0]
    assert ret["shipment"]["carrier"] == "delhivery"
    assert [(i["sku"], i["quantity"]) for i in ret["request"]["items"]] == [("SH-42", 1), ("TS-M", 2)]
    lines = {c["sku"]: c for c in ret["request"]["lines"]}
    assert lines["SH-42"]["resolution"] == "exchange" and lines["SH-42"]["exchange_for"] == "SH-43"
    assert lines["TS-M"]["resolution"] == "refund" and len(lines["SH-42"]["photos"]) == 1
    stored = await system.redis.hgetall(f"{system.prefix}{{{system.merchant.id}}}:return:{ret['id']}:photos")
    clean = Image.open(io.BytesIO(base64.b64decode(next(iter(stored.values())))))
    assert clean.format == "JPEG" and 0x010F not in clean.getexif()
    order = await (await system.client.get("/v1/orders/ORD-1001", headers=system.auth)).json()
    assert order["returned"] == {"SH-42": 1, "TS-M": 2}


async def returns_count(system: System) -> int:
    return len((await (await system.client.get("/v1/returns", headers=system.auth)).json())["data"])


async def test_unknown_order_and_wrong_contact_are_refused_alike(system: System) -> None:
    await seed_order(system)
    for order_id, contact in (("NOPE-1", "asha@example.com"), ("ORD-1001", "eve@example.com")):
        page = await system.client.get(f"/r/{system.merchant.id}?lang=en")
        token = TOKEN.search(await page.text()).group(1)  # type: ignore[union-attr]
        resp = await system.client.post(f"/r/{system.merchant.id}/identify", data={
            "form_token": token, "order_id": order_id, "contact": contact}, allow_redirects=False)
        assert resp.headers["Location"].endswith("error=not_found")
        shown = await system.client.get(rel(resp.headers["Location"]))
        assert "We could not find an order with these details" in await shown.text()
    assert "/s/" in await session(system, contact="+91 98000 00000")


async def test_bad_inputs_are_refused_and_nothing_is_written(system: System) -> None:
    await seed_order(system)
    url = await session(system)
    cases = {
        "quantity": {"qty_1": "4", "reason_1": "quality"},
        "nothing": {},
        "reason": {"qty_1": "1", "reason_1": "made_up"},
        "photo_type": {"qty_1": "1", "reason_1": "quality",
                       "photo_1": ("x.jpg", b"%PDF-1.4 not an image", "image/jpeg")},
        "photo_big": {"qty_1": "1", "reason_1": "quality",
                      "photo_1": ("big.jpg", b"\xff\xd8" + b"0" * (2 * 1024 * 1024 + 10), "image/jpeg")},
        "address": {"qty_1": "1", "reason_1": "quality", "postcode": "000000"},
    }
    for code, fields in cases.items():
        resp = await submit(system, url, **fields)
        assert resp.status == 303 and resp.headers["Location"].endswith(f"error={code}"), (code, resp.headers)
        shown = await system.client.get(rel(resp.headers["Location"]))
        assert shown.status == 422 and 'class="notice error"' in await shown.text()
    assert await returns_count(system) == 0
    assert await system.app[keys.ORDERS].returned(system.merchant.id, "ORD-1001") == {}


async def test_item_outside_the_window_is_shown_and_refused(system: System) -> None:
    await seed_order(system, delivered_at="2026-08-01T10:00:00+05:30")
    url = await session(system)
    page = await (await system.client.get(url)).text()
    assert "the return window ended on" in page, page[page.find("<main"):][:1500]
    assert 'name="form_token"' not in page  # nothing eligible: no form
    assert await returns_count(system) == 0


async def test_a_form_post_without_its_token_is_refused(system: System) -> None:
    await seed_order(system)
    url = await session(system)
    action, _ = await form_of(system, url)
    resp = await system.client.post(action, data=form("forged.token.value", "2026-11-03", qty_1="1",
                                                      reason_1="quality"), allow_redirects=False)
    assert resp.headers["Location"].endswith("error=form")
    resp = await system.client.post(action, data=form("", "2026-11-03", qty_1="1", reason_1="quality"),
                                    headers={"Origin": "https://evil.example"}, allow_redirects=False)
    assert resp.headers["Location"].endswith("error=form")
    assert await returns_count(system) == 0


async def test_identify_guesses_are_rate_limited(system: System) -> None:
    await seed_order(system)
    for _ in range(11):
        page = await system.client.get(f"/r/{system.merchant.id}")
        token = TOKEN.search(await page.text()).group(1)  # type: ignore[union-attr]
        resp = await system.client.post(f"/r/{system.merchant.id}/identify", data={
            "form_token": token, "order_id": "X", "contact": "x@example.com"}, allow_redirects=False)
    assert resp.headers["Location"].endswith("error=too_many")
