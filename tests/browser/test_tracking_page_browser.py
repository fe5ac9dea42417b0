"""The tracking page in a real chromium: every language, phone and desktop, axe-core, the actions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from carriers.delhivery import wire
from gateway.pages.i18n import LANGUAGES
from tests.browser.site import Site

pytestmark = pytest.mark.browser
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
# A small merchant logo as a data URL, so the page shows one without any network.
LOGO = ("data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22%20width=%22120%22%20height=%2232%22%3E"
        "%3Crect%20width=%2232%22%20height=%2232%22%20rx=%228%22%20fill=%22%23fff%22/%3E%3Ctext%20x=%2240%22%20y=%2223%22%20"
        "font-family=%22sans-serif%22%20font-size=%2218%22%20font-weight=%22700%22%20fill=%22%23fff%22%3EAcme%3C/text%3E"
        "%3C/svg%3E")
BRANDING = {
    "display_name": "Acme Fashion", "logo_url": LOGO, "primary_color": "#1e1b4b", "accent_color": "#7c3aed",
    "font": "system",
    "support_email": "help@acme.example", "support_phone": "+91 80 4000 1234",
    "footer_links": [{"label": "Returns policy", "url": "https://acme.example/returns"},
                     {"label": "Size guide", "url": "https://acme.example/sizes"}],
    "recommendations": [
        {"id": "shoe-43", "title": "Running shoes, one size up", "url": "https://acme.example/p/shoe?size=43",
         "price": "2499.00"},
        {"id": "socks", "title": "Merino running socks", "url": "https://acme.example/p/socks", "price": "499.00"},
    ],
}


async def branded(site: Site) -> None:
    async with site.http.put(f"{site.url}/v1/branding", json=BRANDING, headers=site.auth) as resp:
        assert resp.status == 200, await resp.text()


async def failed_pickup(site: Site) -> dict[str, Any]:
    await branded(site)
    site.control.set_scenario("pickup_failed", reason_code="EOD-11")
    ret = await site.create()
    await site.advance(hours=27)
    return ret


async def open_page(browser: Browser, url: str, size: str = "phone", **context: Any) -> Page:
    width, height = SIZES[size]
    ctx = await browser.new_context(viewport={"width": width, "height": height}, **context)
    page = await ctx.new_page()
    response = await page.goto(url)
    assert response is not None and response.status == 200
    return page


async def assert_accessible(page: Page, what: str) -> None:
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{what}: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in bad)


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_every_language_renders_accessibly_on_phone_and_desktop(
        browser: Browser, site: Site, artifacts: Path, lang: str) -> None:
    ret = await failed_pickup(site)
    for size in SIZES:
        page = await open_page(browser, f"{ret['tracking_url']}?lang={lang}", size)
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        await expect(page.locator("#actions form")).to_have_count(3)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{lang} {size}: the page scrolls sideways by {overflow}px"
        await page.screenshot(path=str(artifacts / f"tracking-{lang}-{size}.png"), full_page=True)
        await assert_accessible(page, f"{lang} {size}")
        await page.context.close()


async def test_reschedule_end_to_end(browser: Browser, site: Site, artifacts: Path) -> None:
    ret = await failed_pickup(site)
    page = await open_page(browser, f"{ret['tracking_url']}?lang=en", "desktop")
    await expect(page.locator("h1")).to_have_text("The pickup did not happen")
    choice = page.locator("#actions .day").nth(2)
    day = await choice.locator("input").get_attribute("value")
    await choice.click()
    await page.get_by_role("button", name="Reschedule pickup").click()
    await expect(page.locator(".notice.done")).to_contain_text("asked the courier to come again")
    await expect(page.locator("h1")).to_have_text("Your pickup is scheduled")
    assert re.search(r"done=rescheduled", page.url)
    await page.screenshot(path=str(artifacts / "tracking-rescheduled-desktop.png"), full_page=True)
    await assert_accessible(page, "after reschedule")
    assert site.calls_to(wire.NDR_PATH) == [wire.build_pickup_reschedule([ret["shipment"]["awb"]])]
    ours = [e for e in await site.events(ret["id"]) if e["raw_code"] == "backhaul/customer_reschedule"]
    assert [(e["status"], e["remarks"]) for e in ours] == [("pickup_scheduled", day)]


async def test_contact_correction_works_without_javascript(browser: Browser, site: Site) -> None:
    ret = await failed_pickup(site)
    page = await open_page(browser, f"{ret['tracking_url']}?lang=hi", "phone", java_script_enabled=False)
    await page.locator("#actions details summary").first.click()
    await page.locator("#phone").fill("98123 45678")
    await page.locator("#line1").fill("14 MG Road, Flat 3")
    await page.locator("#actions details").first.get_by_role("button").click()
    await expect(page.locator(".notice.done")).to_be_visible()
    assert "done=contact" in page.url and "lang=hi" in page.url
    assert site.control.bookings[ret["shipment"]["awb"]].request["phone"] == "9812345678"


async def test_live_updates_reach_an_open_page(browser: Browser, site: Site) -> None:
    await branded(site)
    ret = await site.create()
    page = await open_page(browser, f"{ret['tracking_url']}?lang=en", "phone")
    await expect(page.locator("h1")).to_have_text("We have your return request")
    await page.wait_for_timeout(300)  # the EventSource connects
    await site.advance(hours=2)  # the poller applies the sandbox's scans; apply() writes the feed
    await expect(page.locator("h1")).to_have_text("Your pickup is scheduled", timeout=10_000)
    await expect(page.locator("#live")).to_have_text("Updated just now.")


async def test_recommendation_click_is_counted(browser: Browser, site: Site) -> None:
    await branded(site)
    ret = await site.create()
    page = await open_page(browser, ret["tracking_url"], "desktop")
    link = page.get_by_role("link", name=re.compile("Merino running socks"))
    assert (await link.get_attribute("href") or "").endswith("/r/1?lang=en")
    await page.route("https://acme.example/**", lambda route: route.fulfill(body="merchant shop"))
    await link.click()
    await page.wait_for_url("https://acme.example/p/socks")
    async with site.http.get(f"{site.url}/v1/branding/recommendations/clicks", headers=site.auth) as resp:
        assert (await resp.json())["data"] == {"socks": 1}
