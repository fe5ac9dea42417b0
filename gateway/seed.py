"""Create merchants outside the HTTP API (CLI and demo)."""

from __future__ import annotations

from typing import Any

from carriers.clock import SystemClock
from gateway.models import Merchant
from gateway.settings import Settings
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from gateway.store.server import check, client_for


async def create_merchant(settings: Settings, url: str, name: str, **fields: Any) -> tuple[Merchant, str]:
    client = client_for(url)
    try:
        await check(client)
        return await MerchantStore(client, Keys(settings.key_prefix), SystemClock()).create(name, **fields)
    finally:
        await client.aclose()
