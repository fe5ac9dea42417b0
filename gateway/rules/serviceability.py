"""Per-carrier serviceability tables: Redis holds them, each process reads a snapshot.

A table is one Redis string per carrier with two bits per Indian PIN (offset ``pin - 100000``):
bit 0 "picks up here", bit 1 "delivers here"; 225 kB for all 900,000 possible PINs, whatever
the coverage. Whole countries (cross-border carriers) are flags in the table's meta JSON.

Loading writes the new bitmap under a staging key and renames it over the live one in the
same MULTI that bumps `{svc}:version`; a snapshot re-reads the tables only when that version
moved, and looks at it at most every `check_every_s`, so ranking never waits on Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import redis.asyncio as aioredis

from gateway.store.keys import Keys
from gateway.store.server import text

PICKUP = 1
DELIVERY = 2
FIRST_PIN = 100_000
PIN_SLOTS = 900_000
TABLE_BYTES = PIN_SLOTS // 4


def pin_index(pin: str) -> int | None:
    """The slot of a six-digit Indian PIN, None for anything else."""
    if len(pin) != 6 or not pin.isdigit() or pin[0] == "0":
        return None
    return int(pin) - FIRST_PIN


def set_flags(bits: bytearray, pin: str, flags: int) -> None:
    """Raises: ValueError when `pin` is not a six-digit PIN."""
    idx = pin_index(pin)
    if idx is None:
        raise ValueError(f"{pin!r} is not a six-digit PIN")
    shift = (idx & 3) * 2
    bits[idx >> 2] = (bits[idx >> 2] & ~(3 << shift) & 0xFF) | (flags << shift)


@dataclass(frozen=True, slots=True)
class CarrierTable:
    """One carrier's loaded table; `flags` is the hot-path lookup."""

    bits: bytes
    countries: Mapping[str, int] = field(default_factory=dict)
    rows: int = 0

    def flags(self, country: str, postcode: str) -> int:
        return self.slot_flags(country, pin_index(postcode) if country == "IN" else None)

    def slot_flags(self, country: str, slot: int | None) -> int:
        if country != "IN":
            return self.countries.get(country, 0)
        if slot is None or not self.bits:
            return 0
        return (self.bits[slot >> 2] >> ((slot & 3) * 2)) & 3


@dataclass(frozen=True, slots=True)
class ServiceabilitySnapshot:
    """The tables as one process last read them; a carrier without a table answers None."""

    tables: Mapping[str, CarrierTable] = field(default_factory=dict)
    version: int = -1

    def serves(self, carrier: str, pickup: tuple[str, str], drop: tuple[str, str]) -> bool | None:
        """Whether `carrier` picks up at `pickup` and delivers to `drop` ((country, postcode) pairs)."""
        table = self.tables.get(carrier)
        if table is None:
            return None
        return bool(table.flags(*pickup) & PICKUP) and bool(table.flags(*drop) & DELIVERY)

    def serves_slots(self, carrier: str, pickup_country: str, pickup_slot: int | None, drop_country: str,
                     drop_slot: int | None) -> bool | None:
        """`serves` for PINs already turned into bitmap slots (the allocator's hot path)."""
        table = self.tables.get(carrier)
        if table is None:
            return None
        return bool(table.slot_flags(pickup_country, pickup_slot) & PICKUP) and bool(
            table.slot_flags(drop_country, drop_slot) & DELIVERY)


async def store_table(redis: aioredis.Redis, keys: Keys, carrier: str, bits: bytes,
                      countries: Mapping[str, int], rows: int, loaded_at: str) -> int:
    """Replace `carrier`'s table atomically; returns the new tables version."""
    meta = json.dumps({"rows": rows, "countries": dict(countries), "loaded_at": loaded_at})
    await redis.set(keys.serviceability_staging(carrier), bits)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rename(keys.serviceability_staging(carrier), keys.serviceability(carrier))
        pipe.hset(keys.serviceability_meta(), carrier, meta)
        pipe.incr(keys.serviceability_version())
        result = await pipe.execute()
    return int(result[-1])


async def drop_table(redis: aioredis.Redis, keys: Keys, carrier: str) -> None:
    """Forget `carrier`'s table: the booker falls back to asking the carrier live."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.serviceability(carrier))
        pipe.hdel(keys.serviceability_meta(), carrier)
        pipe.incr(keys.serviceability_version())
        await pipe.execute()


async def read_snapshot(redis: aioredis.Redis, keys: Keys) -> ServiceabilitySnapshot:
    version = int(text(await redis.get(keys.serviceability_version())) or 0)
    metas = cast(dict[Any, Any], await redis.hgetall(keys.serviceability_meta()))
    tables = {}
    for raw_code, raw_meta in metas.items():
        code, meta = text(raw_code), json.loads(text(raw_meta))
        # The gateway's client decodes replies as UTF-8; a bitmap must come back as bytes.
        bits = await redis.execute_command("GET", keys.serviceability(code), NEVER_DECODE=True)
        tables[code] = CarrierTable(bytes(bits or b""), dict(meta.get("countries", {})), int(meta.get("rows", 0)))
    return ServiceabilitySnapshot(tables, version)


class ServiceabilityTables:
    """A process's view of the tables, re-read only after a load bumped the version."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, check_every_s: float = 2.0) -> None:
        self.redis = redis
        self.keys = keys
        self.check_every_s = check_every_s
        self.snapshot = ServiceabilitySnapshot()
        self._checked_at = float("-inf")

    async def current(self) -> ServiceabilitySnapshot:
        """The snapshot, refreshed first when the last version check is older than `check_every_s`."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_every_s:
            self._checked_at = now
            version = int(text(await self.redis.get(self.keys.serviceability_version())) or 0)
            if version != self.snapshot.version:
                self.snapshot = await read_snapshot(self.redis, self.keys)
        return self.snapshot

