"""Allocation decisions per second on one core: 10 carriers x 30,000 PINs, 50 merchant rules.

Each decision is what the booker does per return without I/O: the facts of the request (zone
from the PIN list, chargeable weight, order value, local day and time) and `Allocator.rank`
over in-process snapshots of the serviceability tables and learned outcomes. The tables are
first loaded into a real (embedded) Redis, their MEMORY USAGE measured, and read back the way
a gateway process reads them.
Run: .venv/bin/python bench/bench_allocation.py
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import indian_pincode

from carriers.base import Address, Item, Parcel
from gateway.rules.allocation import Allocator, CarrierProfile
from gateway.rules.config import AllocationConfig, load_rates
from gateway.rules.facts import facts_of
from gateway.rules.learning import OutcomeSnapshot
from gateway.rules.merchant_rules import RuleSet, RulesFile, compile_rules
from gateway.rules.serviceability import DELIVERY, PICKUP, TABLE_BYTES, read_snapshot, set_flags, store_table
from gateway.store.keys import Keys
from gateway.store.server import EmbeddedRedis, client_for

CARRIERS = ("bluedart", "delhivery", "dhl", "dtdc", "ecom_express", "ekart", "fedex", "shadowfax", "ups",
            "xpressbees")
PINS_PER_CARRIER = 30_000
RULES = 50
DECISIONS = 50_000
CONFIG = Path(__file__).parents[1] / "config"
NOW = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


def pins_for(carrier: str, real: list[str], rng: random.Random) -> list[str]:
    """Every real PIN plus synthetic PIN-like keys up to 30,000 (the real list has 19,586)."""
    known = set(real)
    extra: set[str] = set()
    while len(known) + len(extra) < PINS_PER_CARRIER:
        candidate = str(rng.randint(100_000, 999_999))
        if candidate not in known:
            extra.add(candidate)
    return [*real, *sorted(extra)]


def merchant_rules(rng: random.Random) -> RuleSet:
    """50 rules of every condition kind; most do not fire for a given return, as in real files."""
    conditions: list[dict[str, Any]] = [
        {"pickup_pin": [str(rng.randint(11, 85))]}, {"zone": [rng.choice(["special", "local", "metro"])]},
        {"weight_g": {"min": rng.randint(2_000, 20_000)}}, {"order_value": {"min": rng.randint(5_000, 50_000)}},
        {"category": [rng.choice(["electronics", "apparel", "mobiles", "footwear"])]},
        {"sku": [f"SKU-{rng.randint(1, 500)}"]}, {"customer_tier": [rng.choice(["gold", "platinum"])]},
        {"day_of_week": [rng.choice(["sat", "sun"])]}, {"time_of_day": {"from": "20:00", "to": "06:00"}},
    ]
    rules = []
    for i in range(RULES):
        when = {k: v for c in rng.sample(conditions, 2) for k, v in c.items()}
        action = rng.choice([{"prefer": [rng.choice(CARRIERS)]}, {"exclude": [rng.choice(CARRIERS)]},
                             {"weights": {"cost": 0.6, "reliability": 0.3, "speed": 0.1}}])
        rules.append({"name": f"rule-{i}", "when": when, "then": action})
    return compile_rules(RulesFile.model_validate({"merchant": "bench", "rules": rules}))


async def load_tables(url: str, real: list[str], rng: random.Random) -> tuple[Any, int]:
    client = client_for(url)
    keys = Keys("bench:")
    try:
        memory = 0
        for code in CARRIERS:
            bits = bytearray(TABLE_BYTES)
            for pin in pins_for(code, real, rng):
                if rng.random() < 0.93:
                    set_flags(bits, pin, PICKUP | DELIVERY)
            await store_table(client, keys, code, bytes(bits), {"US": 3} if code in ("dhl", "fedex", "ups") else {},
                              PINS_PER_CARRIER, NOW.isoformat())
            memory += int(await client.memory_usage(keys.serviceability(code)) or 0)
        snapshot = await read_snapshot(client, keys)
    finally:
        await client.aclose()
    return snapshot, memory


def requests(real: list[str], rng: random.Random, count: int = 2_000) -> list[tuple[Any, ...]]:
    drops = [Address(line1="WH", city="c", postcode=p) for p in ("421302", "110037", "560067", "700091")]
    out = []
    for i in range(count):
        pickup = Address(line1="1", city="c", postcode=rng.choice(real))
        parcel = Parcel(weight_g=rng.randint(200, 12_000), length_cm=rng.randint(10, 60), width_cm=20, height_cm=10)
        items = [Item(sku=f"SKU-{rng.randint(1, 500)}", name="x", price=Decimal(rng.randint(300, 40_000)),
                      category=rng.choice(["electronics", "apparel", "mobiles", "footwear", "home"]))]
        out.append((pickup, rng.choice(drops), parcel, items, rng.choice([None, "gold", "silver"]),
                    NOW + timedelta(minutes=37 * i)))
    return out


def run(decisions: int = DECISIONS) -> dict[str, float]:
    rng = random.Random(7)
    real = indian_pincode.get_pincodes()
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedRedis(Path(tmp))
        try:
            tables, memory = asyncio.run(load_tables(embedded.start(), real, rng))
        finally:
            embedded.stop()
    rates = load_rates(CONFIG)
    profiles = {c: CarrierProfile(c, doorstep_qc=i % 2 == 0, countries=frozenset({"IN", "US"}),
                                  max_weight_g=20_000 if i % 3 else 10_000, rate_card=rates.carriers.get(c))
                for i, c in enumerate(CARRIERS)}
    allocator = Allocator(profiles, AllocationConfig())
    outcomes = OutcomeSnapshot({c: {f"{a}": (rng.randint(50, 90), 100, 36 * 3600 * 80, 80, NOW.timestamp())
                                    for a in range(110, 860)} | {"*": (800, 1000, 1.0e8, 900, NOW.timestamp())}
                                for c in CARRIERS})
    ruleset, inputs = merchant_rules(rng), requests(real, rng)
    latencies_ns = []
    for pickup, drop, parcel, items, tier, now in inputs:  # warm the PIN and zone caches
        facts_of(pickup, drop, parcel, items, tier, now, ruleset.timezone)
    started = time.perf_counter()
    for i in range(decisions):
        pickup, drop, parcel, items, tier, now = inputs[i % len(inputs)]
        t0 = time.perf_counter_ns()
        facts = facts_of(pickup, drop, parcel, items, tier, now, ruleset.timezone)
        allocator.rank(facts, ruleset, tables, outcomes)
        latencies_ns.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies_ns, n=100)
    return {"allocation_decisions_per_s": decisions / elapsed, "allocation_p50_us": cuts[49] / 1000,
            "allocation_p99_us": cuts[98] / 1000, "serviceability_redis_bytes_10_carriers": float(memory),
            "serviceability_redis_bytes_per_carrier": memory / len(CARRIERS)}


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:45s} {value:14,.1f}")
