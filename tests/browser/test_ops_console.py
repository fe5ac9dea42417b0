"""The ops console in a real chromium: sign in, filter the failed-pickup queue, take one action."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.ops.users import OpsUsers
from gateway.ops.wiring import OPS_WORKER
from gateway.store.keys import Keys
from tests.browser.site import Site

pytestmark = pytest.mark.browser


async def test_queue_filter_and_reattempt(site: Site, browser: Browser, artifacts: Path) -> None:
    site.control.set_scenario("pickup_failed", reason_code="EOD-11")
    ret = await site.create()
    site.control.set_scenario("pickup_failed", reason_code="EOD-74")
    other = await site.create(order_id="ORD-1002")
    await site.advance(hours=27)
    await site.app[OPS_WORKER].run_once()
    await OpsUsers(site.redis, Keys(site.prefix), {}).add("ravi", "a long ops password")

    ctx = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await ctx.new_page()
    await page.goto(f"{site.url}/ops/queue")
    await expect(page.get_by_role("heading", name="Backhaul ops")).to_be_visible()
    await page.get_by_label("User name").fill("ravi")
    await page.get_by_label("Password").fill("a long ops password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Failed pickups")).to_be_visible()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await page.screenshot(path=str(artifacts / "ops-queue.png"), full_page=True)

    await page.get_by_label("Reason").select_option("customer_unavailable")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    row = page.locator(f'tr[data-return="{ret["id"]}"]')
    await expect(row).to_contain_text("EOD-11")
    assert await page.locator(f'tr[data-return="{other["id"]}"]').count() == 0

    await row.get_by_role("button", name="Re-attempt").click()
    await expect(page.get_by_role("status")).to_contain_text("ORD-1001: reattempt ok")
    await expect(page.locator(f'tr[data-return="{ret["id"]}"]')).to_contain_text("reattempt: ok")
    assert "reason=customer_unavailable" in page.url  # the filters survive the action
    await page.screenshot(path=str(artifacts / "ops-queue-after-action.png"), full_page=True)

    await page.get_by_role("link", name="Carrier health").click()
    await expect(page.locator("svg")).to_have_count(4)
    await page.screenshot(path=str(artifacts / "ops-health.png"), full_page=True)
    await page.get_by_role("link", name="Alerts").click()
    await expect(page.locator("tbody tr").first).to_contain_text("Pickup failed")
    await page.screenshot(path=str(artifacts / "ops-alerts.png"), full_page=True)
    await ctx.close()
