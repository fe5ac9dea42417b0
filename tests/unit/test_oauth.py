"""The OAuth token cache: one fetch for concurrent callers, renewal before expiry, reset on 401."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from carriers.clock import ManualClock
from carriers.oauth import TokenCache
from carriers.sandbox import SandboxControl, TokenIssuer


async def test_concurrent_callers_share_one_fetch_and_renew_before_expiry() -> None:
    clock = ManualClock()
    issuer = TokenIssuer(SandboxControl(clock), "id", "secret", lifetime_s=3600)

    async def fetch() -> tuple[str, float]:
        await asyncio.sleep(0.01)
        issued = issuer.issue("id", "secret")
        assert issued is not None
        return issued

    cache = TokenCache(fetch, clock)
    tokens = await asyncio.gather(*(cache.get() for _ in range(20)))
    assert len(set(tokens)) == 1 and cache.fetches == 1
    assert issuer.is_valid(f"Bearer {tokens[0]}")
    clock.advance(timedelta(seconds=3600 - 30))  # inside the renewal margin
    assert await cache.get() != tokens[0] and cache.fetches == 2
    clock.advance(timedelta(seconds=3600))
    assert not issuer.is_valid(f"Bearer {tokens[0]}")


async def test_invalidate_forces_a_new_token() -> None:
    clock = ManualClock()
    count = 0

    async def fetch() -> tuple[str, float]:
        nonlocal count
        count += 1
        return f"t{count}", 3600

    cache = TokenCache(fetch, clock)
    assert await cache.get() == "t1"
    cache.invalidate()
    assert await cache.get() == "t2"


def test_issuer_refuses_wrong_credentials() -> None:
    issuer = TokenIssuer(SandboxControl(), "id", "secret")
    assert issuer.issue("id", "nope") is None
    assert not issuer.is_valid("Bearer whatever") and not issuer.is_valid("")
