"""Returns analytics against a seeded history whose true figures this test computes on its own.

The counters are bumped as returns are created and events applied; the truths here come from
the seeded specification and from each return's own event history, read through the API.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import pytest

from tests.integration.conftest import System, return_body
from tests.integration.test_orders import order_body

# (order, sku, category, ordered units)
ORDERED = [("H-1", "SH-42", "footwear", 2), ("H-1", "TS-M", "apparel", 4), ("H-2", "SH-42", "footwear", 1),
           ("H-2", "CAP", "accessories", 3), ("H-3", "TS-M", "apparel", 5), ("H-4", "SH-42", "footwear", 1)]
# (order, [(sku, category, units, reason, resolution)], pickup fails first)
RETURNS = [
    ("H-1", [("SH-42", "footwear", 2, "size_too_small", "exchange"), ("TS-M", "apparel", 1, "not_as_described",
                                                                        "refund")], False),
    ("H-2", [("CAP", "accessories", 2, "damaged", "credit")], True),
    ("H-3", [("TS-M", "apparel", 3, "size_too_small", "refund")], False),
    ("H-4", [("SH-42", "footwear", 1, "changed_mind", "refund")], True),
]
PRICES = {"SH-42": "2499.00", "TS-M": "499.00", "CAP": "199.00"}


async def seed(system: System) -> list[dict[str, Any]]:
    orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for oid, sku, category, units in ORDERED:
        orders[oid].append({"sku": sku, "name": sku, "quantity": units, "price": PRICES[sku], "category": category})
    bulk = {"orders": [order_body(oid, items=items) for oid, items in orders.items()]}
    resp = await system.client.post("/v1/orders", json=bulk, headers=system.auth)
    assert resp.status == 200, await resp.text()
    created = []
    for oid, lines, fails in RETURNS:
        if fails:
            system.control.set_scenario("pickup_failed", reason_code="EOD-11")
        items = [{"sku": s, "name": s, "quantity": n, "price": PRICES[s], "category": c} for s, c, n, _, _ in lines]
        choices = [{"sku": s, "reason": r, "resolution": res} for s, _, _, r, res in lines]
        created.append(await system.create(**return_body(order_id=oid, items=items, lines=choices)))
    for _ in range(5):
        await system.advance(hours=24)
    return created


async def query(system: System, group_by: str) -> dict[str, dict[str, Any]]:
    resp = await system.client.get(f"/v1/analytics/returns?group_by={group_by}&from=2026-10-25&to=2026-11-30",
                                   headers=system.auth)
    assert resp.status == 200, await resp.text()
    return {row["key"]: row for row in (await resp.json())["data"]}


async def test_figures_match_the_seeded_history(system: System) -> None:
    created = await seed(system)
    lines = [(s, c, n, r, res) for _, ls, _ in RETURNS for s, c, n, r, res in ls]

    by_reason = await query(system, "reason")
    truth_returns = Counter(r for _, ls, _ in RETURNS for r in {line[3] for line in ls})
    truth_units = Counter()
    for _, _, n, r, _ in lines:
        truth_units[r] += n
    assert {k: v["returns"] for k, v in by_reason.items()} == dict(truth_returns)
    assert {k: v["quantity"] for k, v in by_reason.items()} == dict(truth_units)

    by_sku = await query(system, "sku")
    ordered = Counter()
    for _, sku, _, units in ORDERED:
        ordered[sku] += units
    returned = Counter()
    for sku, _, n, _, _ in lines:
        returned[sku] += n
    for sku in ordered:
        assert by_sku[sku]["return_rate"] == pytest.approx(returned[sku] / ordered[sku], abs=1e-4)

    by_category = await query(system, "category")
    assert by_category["apparel"]["return_rate"] == pytest.approx(4 / 9, abs=1e-4)

    mix = await query(system, "resolution")
    truth_mix = Counter()
    for _, _, n, _, res in lines:
        truth_mix[res] += n
    assert {k: v["quantity"] for k, v in mix.items()} == dict(truth_mix)

    carrier = (await query(system, "carrier"))["delhivery"]
    failures = sum(1 for _, _, fails in RETURNS if fails)
    assert carrier["booked"] == len(RETURNS) and carrier["pickups"] == len(RETURNS)
    assert carrier["failed_attempts"] == failures
    assert carrier["pickup_success_rate"] == pytest.approx(len(RETURNS) / (len(RETURNS) + failures), abs=1e-4)
    to_pickup, to_arrival = [], []
    for ret in created:
        events = {e["status"]: e for e in reversed(await system_events(system, ret["id"]))}
        picked = datetime.fromisoformat(events["picked_up"]["occurred_at"])
        arrived = datetime.fromisoformat(events["delivered"]["occurred_at"])
        to_pickup.append((picked - datetime.fromisoformat(ret["created_at"])).total_seconds() / 3600)
        to_arrival.append((arrived - picked).total_seconds() / 3600)
    assert carrier["avg_hours_to_pickup"] == pytest.approx(sum(to_pickup) / len(to_pickup), abs=0.01)
    assert carrier["avg_hours_to_arrival"] == pytest.approx(sum(to_arrival) / len(to_arrival), abs=0.01)
    assert carrier["cost_per_return"] is not None and carrier["cost_per_return"] > 0

    days = await query(system, "day")
    assert days["2026-11-02"]["returns"] == len(RETURNS)
    assert sum(d["pickups"] for d in days.values()) == len(RETURNS)


async def system_events(system: System, rid: str) -> list[dict[str, Any]]:
    resp = await system.client.get(f"/v1/returns/{rid}/events", headers=system.auth)
    return list((await resp.json())["data"])


async def test_replayed_events_do_not_count_twice(system: System) -> None:
    await seed(system)
    before = await query(system, "carrier")
    await system.advance(hours=24)  # a poll that finds nothing new
    assert await query(system, "carrier") == before


async def test_csv_and_bad_queries(system: System) -> None:
    await seed(system)
    resp = await system.client.get("/v1/analytics/returns?group_by=sku&from=2026-10-25&to=2026-11-30&format=csv",
                                   headers=system.auth)
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert {r["key"] for r in rows} >= {"SH-42", "TS-M", "CAP"}
    for bad in ("group_by=colour", "from=yesterday", "from=2026-12-01&to=2026-11-01", "from=2020-01-01&to=2026-01-01"):
        resp = await system.client.get(f"/v1/analytics/returns?{bad}", headers=system.auth)
        assert resp.status == 422, bad
    assert (await system.client.get("/v1/analytics/returns")).status == 401
