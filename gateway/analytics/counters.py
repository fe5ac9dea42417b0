"""Counters bumped as returns are created, booked and their events applied: never a scan of all returns.

Each merchant has one Redis hash per UTC day and dimension, `{<mid>}:an:<yyyy-mm-dd>:<dimension>`,
whose fields are `<value>|<metric>` (the dimension `all` has the empty value). A query reads one
hash per day of its range, so its cost grows with the days and distinct values, not the returns.

=============  ==========================================================================
metric         meaning (the day it is counted on)
=============  ==========================================================================
returns        returns (a return counts once per reason, sku, category it holds) (created)
quantity       units returned (created)
ordered        units ordered, from the orders API and import (the order's delivery day)
res:<kind>     units by resolution: refund, exchange, credit, keep (created)
booked         returns booked with the carrier (created)
cost           summed allocation cost of booked returns (created)
pickups        successful pickups (pickup day)
failed         failed pickup attempts (attempt day)
to_pickup_s    summed seconds from the request to the pickup (pickup day)
to_arrival_s   summed seconds from the pickup to the merchant (arrival day)
arrivals       returns that reached the merchant (arrival day)
=============  ==========================================================================

A milestone (picked up, arrived) is counted once per return, guarded by `{<mid>}:an:r:<rid>`;
apply() hands over each event once, so failed attempts need no guard. A crash between apply()
and the counters loses that one count: analytics are figures, not the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import redis.asyncio as aioredis

from gateway.models import LineChoice, Return
from gateway.store.keys import Keys
from normalizers.taxonomy import Status, TrackingEvent

UNSPECIFIED = "unspecified"
# Sums that may carry fractions; HINCRBY would refuse a field HINCRBYFLOAT wrote.
_FLOAT_METRICS = ("|cost", "|to_pickup_s", "|to_arrival_s")
Bumps = dict[tuple[str, str, str], float]


def field_name(value: str, metric: str) -> str:
    return f"{value.replace('|', '/')}|{metric}"


def day_of(moment: datetime | date) -> str:
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


@dataclass
class Batch:
    """Increments gathered for one pipeline: (day, dimension, field) -> amount, per merchant."""

    bumps: dict[str, Bumps] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))

    def add(self, mid: str, day: str, dims: Iterable[tuple[str, str]], metric: str, amount: float = 1) -> None:
        target = self.bumps[mid]
        for dimension, value in dims:
            target[(day, dimension, field_name(value, metric))] += amount


def area_of(ret: Return) -> str:
    if ret.allocation is not None and ret.allocation.area:
        return ret.allocation.area
    return ret.request.pickup_address.postcode[:3] if ret.request else "unknown"


def _cost(ret: Return) -> float | None:
    if ret.allocation is None or ret.shipment is None:
        return None
    for scored in ret.allocation.ranked:
        if scored.carrier == ret.shipment.carrier:
            return scored.price if scored.price is not None else scored.cost
    return None


def add_created(batch: Batch, ret: Return) -> None:
    """A new return: its reasons, skus, categories and resolutions."""
    body, mid, day = ret.request, ret.merchant_id, day_of(ret.created_at)
    if body is None:
        return
    choices = {c.sku: c for c in body.lines}
    lines = [(i.sku, i.category, i.quantity, choices.get(i.sku)) for i in body.items]
    lines += [(c.sku, c.category or "general", c.quantity, c) for c in body.lines
              if c.resolution == "keep" and c.quantity > 0]
    add_lines(batch, mid, day, lines, body.resolution or "refund")


def add_lines(batch: Batch, mid: str, day: str, lines: Sequence[tuple[str, str, int, LineChoice | None]],
              default: str) -> None:
    """One return's lines (sku, category, units, the customer's choice): reasons, skus, resolutions."""
    seen: set[tuple[str, str]] = set()
    for sku, category, quantity, choice in lines:
        reason = (choice.reason if choice else "") or UNSPECIFIED
        resolution = choice.resolution if choice else default
        dims = [("reason", reason), ("sku", sku), ("category", category), ("resolution", resolution),
                ("all", "")]
        batch.add(mid, day, dims, "quantity", quantity)
        batch.add(mid, day, dims, f"res:{resolution}", quantity)
        fresh = [d for d in dims if d not in seen]
        seen.update(fresh)
        batch.add(mid, day, fresh, "returns")


def add_ordered(batch: Batch, mid: str, day: str, lines: Iterable[tuple[str, str, int]]) -> None:
    """Units ordered (sku, category, quantity), the denominator of the return rate."""
    for sku, category, quantity in lines:
        if quantity:
            batch.add(mid, day, [("sku", sku), ("category", category), ("all", "")], "ordered", quantity)


class Counters:
    """Writes the counters; the booker and the ingestor call it, the orders store too."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def flush(self, batch: Batch) -> None:
        if not batch.bumps:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for mid, bumps in batch.bumps.items():
                pipe.sadd(self.keys.analytics_merchants(), mid)
                for (day, dimension, name), amount in bumps.items():
                    key = self.keys.analytics_day(mid, day, dimension)
                    if not name.endswith(_FLOAT_METRICS) and float(amount).is_integer():
                        pipe.hincrby(key, name, int(amount))
                    else:
                        pipe.hincrbyfloat(key, name, amount)
            await pipe.execute()

    async def created(self, ret: Return) -> None:
        batch = Batch()
        add_created(batch, ret)
        await self.flush(batch)

    async def booked(self, ret: Return) -> None:
        """A return booked with its carrier (at creation, after review or on a retry)."""
        if ret.shipment is None:
            return
        batch = Batch()
        dims = [("carrier", ret.shipment.carrier), ("area", area_of(ret)), ("all", "")]
        day = day_of(ret.created_at)
        batch.add(ret.merchant_id, day, dims, "booked")
        cost = _cost(ret)
        if cost is not None:
            batch.add(ret.merchant_id, day, dims, "cost", cost)
            batch.add(ret.merchant_id, day, dims, "cost_n")
        await self.flush(batch)

    async def observe(self, ret: Return, new_events: Sequence[TrackingEvent]) -> None:
        """Pickup attempts and milestones among the events apply() just recorded."""
        if ret.shipment is None:
            return
        dims = [("carrier", ret.shipment.carrier), ("area", area_of(ret)), ("all", "")]
        batch = Batch()
        for event in new_events:
            if event.status is Status.PICKUP_FAILED:
                batch.add(ret.merchant_id, day_of(event.occurred_at), dims, "failed")
        statuses = {e.status for e in new_events}
        if statuses & {Status.PICKED_UP, Status.DELIVERED}:
            await self._milestones(batch, ret, dims)
        await self.flush(batch)

    async def _milestones(self, batch: Batch, ret: Return, dims: list[tuple[str, str]]) -> None:
        state, mid, guard = ret.state, ret.merchant_id, self.keys.analytics_seen(ret.merchant_id, ret.id)
        picked, arrived = state.picked_up_at, state.delivered_at
        reached = [name for name, at in (("picked", picked), ("arrived", arrived)) if at is not None]
        async with self.redis.pipeline(transaction=True) as pipe:
            for name in reached:
                pipe.hsetnx(guard, name, "1")
            first = dict(zip(reached, await pipe.execute(), strict=True))
        if picked is not None and first.get("picked"):
            batch.add(mid, day_of(picked), dims, "pickups")
            batch.add(mid, day_of(picked), dims, "to_pickup_s", (picked - ret.created_at).total_seconds())
        if arrived is not None and picked is not None and first.get("arrived"):
            batch.add(mid, day_of(arrived), dims, "arrivals")
            batch.add(mid, day_of(arrived), dims, "to_arrival_s", (arrived - picked).total_seconds())
