"""Merchants and their API keys; a key is shown once and stored only as its SHA-256."""

from __future__ import annotations

import hashlib
import secrets

import redis.asyncio as aioredis

from carriers.clock import Clock
from gateway.models import Merchant, new_id
from gateway.store.keys import Keys
from gateway.store.server import text

KEY_PREFIX = "bh_live_"


def hash_key(api_key: str) -> str:
    # API keys carry 256 random bits, so a plain SHA-256 is enough; no slow KDF is needed.
    return hashlib.sha256(api_key.encode()).hexdigest()


class MerchantStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys, clock: Clock) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock

    async def create(self, name: str, **fields: object) -> tuple[Merchant, str]:
        """A new merchant and its first API key (the only time the key is readable)."""
        merchant = Merchant.model_validate(
            {"id": new_id("mer"), "name": name, "created_at": self.clock.now(), **fields}
        )
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        await self.redis.set(self.keys.merchant(merchant.id), merchant.model_dump_json())
        await self.issue_key(merchant.id, api_key)
        return merchant, api_key

    async def issue_key(self, mid: str, api_key: str) -> None:
        await self.redis.set(self.keys.api_key(hash_key(api_key)), mid)

    async def get(self, mid: str) -> Merchant | None:
        raw = await self.redis.get(self.keys.merchant(mid))
        return Merchant.model_validate_json(raw) if raw else None

    async def by_api_key(self, api_key: str) -> Merchant | None:
        if not api_key.startswith(KEY_PREFIX):
            return None
        mid = text(await self.redis.get(self.keys.api_key(hash_key(api_key))))
        return await self.get(mid) if mid else None
