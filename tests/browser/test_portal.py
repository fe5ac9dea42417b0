"""The returns portal in a real chromium: the whole return, axe-core in every language, no JavaScript needed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from gateway.pages.i18n import LANGUAGES
from tests.browser.site import Site
from tests.browser.test_tracking_page_browser import assert_accessible, branded
from tests.integration.test_orders import order_body

pytestmark = pytest.mark.browser


async def seed_order(site: Site, **overrides: Any) -> None:
    # Item images are inline data: the page makes no request to another site.
    async with site.http.post(f"{site.url}/v1/orders", json=order_body(**overrides), headers=site.auth) as resp:
        assert resp.status in (200, 201), await resp.text()


async def identified(browser: Browser, site: Site, lang: str = "en", js: bool = True) -> Page:
    ctx = await browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=js)
    page = await ctx.new_page()
    response = await page.goto(f"{site.url}/r/{site.merchant.id}?lang={lang}")
    assert response is not None and response.status == 200
    await page.locator("#order_id").fill("ORD-1001")
    await page.locator("#contact").fill("asha@example.com")
    await page.locator("form button[type=submit]").click()
    await expect(page.locator("#items-title")).to_be_visible()
    return page


def photo_file(tmp: Path) -> Path:
    path = tmp / "shoe.jpg"
    Image.new("RGB", (320, 240), (30, 120, 200)).save(path, "JPEG")
    return path


async def test_customer_returns_two_items_and_lands_on_tracking(browser: Browser, site: Site, tmp_path: Path,
                                                               artifacts: Path) -> None:
    await branded(site)
    await seed_order(site)
    page = await identified(browser, site, js=False)
    await page.locator("#qty_0").select_option("1")
    await page.locator("#reason_0").select_option("size_too_small")
    await page.locator("input[name=res_0][value=exchange]").check()
    await page.locator("#exch_0").select_option("SH-43")
    await page.locator("#photo_0").set_input_files(str(photo_file(tmp_path)))
    await page.locator("#qty_1").select_option("2")
    await page.locator("#reason_1").select_option("quality")
    await page.locator("input[name=res_1][value=refund]").check()
    await page.locator(".day").nth(1).click()
    await page.screenshot(path=str(artifacts / "portal-return-phone.png"), full_page=True)
    await page.get_by_role("button", name="Request the return").click()
    await page.wait_for_url(re.compile(r"/t/[A-Za-z0-9_\-]+\?lang=en"))
    await expect(page.locator("h1")).to_have_text("We have your return request")
    async with site.http.get(f"{site.url}/v1/returns", headers=site.auth) as resp:
        ret = (await resp.json())["data"][0]
    assert site.control.bookings[ret["shipment"]["awb"]] is not None
    await site.advance(hours=30)
    assert any(e["status"] == "picked_up" for e in await site.events(ret["id"]))
    async with site.http.get(f"{site.url}/v1/events?limit=100", headers=site.auth) as resp:
        feed = (await resp.json())["data"]
    assert any(e["return_id"] == ret["id"] and e["type"] == "tracking.picked_up" for e in feed), feed[:1]
    async with site.http.get(f"{site.url}/v1/analytics/returns?group_by=resolution&from=2026-11-01&to=2026-11-30",
                             headers=site.auth) as resp:
        mix = {r["key"]: r["quantity"] for r in (await resp.json())["data"]}
    assert mix == {"exchange": 1, "refund": 2}
    async with site.http.get(f"{site.url}/v1/analytics/returns?group_by=carrier&from=2026-11-01&to=2026-11-30",
                             headers=site.auth) as resp:
        assert (await resp.json())["data"][0]["pickups"] == 1


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_every_portal_page_is_accessible(browser: Browser, site: Site, lang: str) -> None:
    await branded(site)
    await seed_order(site)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await ctx.new_page()
    await page.goto(f"{site.url}/r/{site.merchant.id}?lang={lang}")
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await assert_accessible(page, f"identify {lang}")
    await page.goto(f"{site.url}/r/{site.merchant.id}?lang={lang}&error=not_found")
    await assert_accessible(page, f"identify error {lang}")
    await ctx.close()
    page = await identified(browser, site, lang)
    await assert_accessible(page, f"return form {lang}")
    await page.goto(page.url + "&error=quantity")
    await assert_accessible(page, f"return form error {lang}")
    await page.context.close()
