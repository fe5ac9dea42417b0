"""A real chromium (Debian's, by path) driven by Playwright, and the whole system on real ports."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from playwright.async_api import Browser, async_playwright

from tests.browser.site import Site, start_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
async def browser(site: Site) -> AsyncIterator[Browser]:
    """Fails (never skips) when chromium is missing: `.ci/run` installs it with apt-get.

    It takes `site` so that it closes first: open pages (and their live streams) end before the servers stop.
    """
    executable = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    if not executable.exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: install Debian's package (apt-get install chromium)",
                    pytrace=False)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def site(redis_url: str, redis: aioredis.Redis, key_prefix: str) -> AsyncIterator[Site]:
    running = await start_site(redis_url, redis, key_prefix)
    yield running
    await running.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
