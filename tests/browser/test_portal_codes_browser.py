"""The portal's one-time code step in a real chromium: without JavaScript, and axe-core in every language.

The code is read from a real SMTP server (aiosmtpd) the gateway sends to.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiosmtpd.smtp import SMTP
from playwright.async_api import Browser, expect

from gateway.pages.i18n import LANGUAGES
from tests.browser.site import Site, start_site
from tests.browser.test_portal import seed_order
from tests.browser.test_tracking_page_browser import assert_accessible, branded
from tests.integration.test_ops_pickups import Inbox
from tests.integration.test_portal_codes import code_in, config_dir

pytestmark = pytest.mark.browser


@dataclass
class CodeSite:
    site: Site
    inbox: Inbox


@pytest.fixture
async def site(redis_url: str, redis: aioredis.Redis, key_prefix: str, tmp_path: Path) -> AsyncIterator[CodeSite]:
    """The browser tests' site, with a merchant that asks for codes and a real SMTP server (replaces conftest's)."""
    inbox = Inbox()
    smtp = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox), "127.0.0.1", 0)
    ops = {"smtp_host": "127.0.0.1", "smtp_port": int(smtp.sockets[0].getsockname()[1]), "tick_s": 3600}
    running = await start_site(redis_url, redis, key_prefix, config_dir=config_dir(tmp_path, "email_or_sms", None),
                               ops=ops)
    await branded(running)
    await seed_order(running)
    yield CodeSite(running, inbox)
    await running.close()
    smtp.close()
    await smtp.wait_closed()


async def wait_for_mail(inbox: Inbox, count: int) -> None:
    for _ in range(200):
        if len(inbox.messages) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{len(inbox.messages)} mails, wanted {count}")


async def test_code_from_the_mail_opens_the_return_page_without_javascript(
        browser: Browser, site: CodeSite, artifacts: Path) -> None:
    ctx = await browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = await ctx.new_page()
    await page.goto(f"{site.site.url}/r/{site.site.merchant.id}?lang=en")
    await page.locator("#order_id").fill("ORD-1001")
    await page.locator("#contact").fill("Asha@Example.com")
    await page.get_by_role("button", name="Find my order").click()
    await expect(page.locator("h1")).to_have_text("Enter your code")
    await expect(page.locator("#code-sent")).to_contain_text("a***@example.com")
    await wait_for_mail(site.inbox, 1)
    await page.screenshot(path=str(artifacts / "portal-code-phone.png"), full_page=True)
    await page.get_by_label("6-digit code").fill("000000" if code_in(site.inbox.messages[0]) != "000000" else "111111")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator(".notice.error")).to_contain_text("This code is not right")
    await page.get_by_label("6-digit code").fill(code_in(site.inbox.messages[0]))
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#items-title")).to_be_visible()
    assert re.search(r"/r/[^/]+/s/[A-Za-z0-9_\-]+", page.url)
    await ctx.close()


async def test_the_code_page_is_accessible_in_every_language(browser: Browser, site: CodeSite) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await ctx.new_page()
    await page.goto(f"{site.site.url}/r/{site.site.merchant.id}?lang=en")
    await page.locator("#order_id").fill("ORD-1001")
    await page.locator("#contact").fill("asha@example.com")
    await page.get_by_role("button", name="Find my order").click()
    await expect(page.locator("#code")).to_be_visible()
    code_url = page.url.split("?")[0]
    for lang in LANGUAGES:
        for extra in ("", "&error=wrong", "&sent=1"):
            await page.goto(f"{code_url}?lang={lang}{extra}")
            await expect(page.locator("html")).to_have_attribute("lang", lang)
            await assert_accessible(page, f"code page {lang}{extra}")
        await page.goto(f"{site.site.url}/r/{site.site.merchant.id}?lang={lang}&error=code_limit")
        await assert_accessible(page, f"identify code_limit {lang}")
    await ctx.close()
