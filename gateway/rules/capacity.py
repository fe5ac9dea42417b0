"""Daily pickup caps per carrier, counted in Redis so every gateway and worker process shares them.

A booking takes one unit before the carrier is called and gives it back when the carrier
refuses or fails; the counter of a day expires an hour after that day ends (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from importlib import resources

import redis.asyncio as aioredis

from gateway.store.keys import Keys
from gateway.store.server import text

_RESERVE = resources.files("gateway.rules").joinpath("reserve_capacity.lua").read_text(encoding="utf-8")
_GRACE_S = 3600


def _day(now: datetime) -> tuple[str, int]:
    """The UTC day of `now` and how many seconds its counter must live (relative, so an injected clock works)."""
    day = now.astimezone(UTC).date()
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return day.isoformat(), int((end - now).total_seconds()) + _GRACE_S


class Capacity:
    """Caps by carrier (None = no cap); the counters live in Redis."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, caps: Mapping[str, int | None]) -> None:
        self.redis = redis
        self.keys = keys
        self.caps = {code: cap for code, cap in caps.items() if cap is not None}
        self._reserve = redis.register_script(_RESERVE)

    async def full(self, now: datetime) -> frozenset[str]:
        """The carriers that have used their whole cap today."""
        if not self.caps:
            return frozenset()
        day, _ = _day(now)
        codes = sorted(self.caps)
        used = await self.redis.mget([self.keys.capacity(c, day) for c in codes])
        return frozenset(c for c, u in zip(codes, used, strict=True) if int(text(u) or 0) >= self.caps[c])

    async def reserve(self, carrier: str, now: datetime) -> bool:
        """Take one pickup of today's cap; False when it is used up."""
        cap = self.caps.get(carrier)
        if cap is None:
            return True
        day, ttl_s = _day(now)
        return bool(await self._reserve(keys=[self.keys.capacity(carrier, day)], args=[cap, ttl_s]))

    async def release(self, carrier: str, now: datetime) -> None:
        """Give back a unit taken for a booking that did not happen."""
        if carrier in self.caps:
            day, _ = _day(now)
            key = self.keys.capacity(carrier, day)
            if int(await self.redis.decr(key)) < 0:
                await self.redis.set(key, 0, keepttl=True)
