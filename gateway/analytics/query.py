"""Reading the counters back: one hash per day of the range, grouped by one dimension."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import redis.asyncio as aioredis

from gateway.store.keys import Keys
from gateway.store.server import text

GROUPS = ("reason", "sku", "category", "carrier", "area", "resolution", "day")
RESOLUTIONS = ("refund", "exchange", "credit", "keep")
MAX_DAYS = 366
COLUMNS = ("key", "returns", "quantity", "ordered", "return_rate", *(f"res_{r}" for r in RESOLUTIONS),
           "booked", "pickups", "failed_attempts", "pickup_success_rate", "attempts_per_pickup",
           "avg_hours_to_pickup", "avg_hours_to_arrival", "cost_per_return")


class BadQuery(ValueError):
    """The range or grouping is not one this query answers."""


@dataclass(frozen=True)
class DayCounters:
    day: date
    fields: dict[str, float]


async def read_days(redis: aioredis.Redis, keys: Keys, mid: str, start: date, end: date,
                    dimension: str) -> list[DayCounters]:
    """One dimension's hash per day from `start` to `end` inclusive. Raises: BadQuery (reversed, too long)."""
    if end < start:
        raise BadQuery("to is before from")
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    if len(days) > MAX_DAYS:
        raise BadQuery(f"at most {MAX_DAYS} days at a time")
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.hgetall(keys.analytics_day(mid, day.isoformat(), dimension))
        found = await pipe.execute()
    return [DayCounters(day, {text(k): float(v) for k, v in raw.items()}) for day, raw in zip(days, found, strict=True)]


def _ratio(top: float, bottom: float, digits: int = 4) -> float | None:
    return round(top / bottom, digits) if bottom else None


def _row(key: str, m: dict[str, float]) -> dict[str, Any]:
    pickups, failed, booked = m.get("pickups", 0), m.get("failed", 0), m.get("booked", 0)
    row: dict[str, Any] = {"key": key, "returns": int(m.get("returns", 0)), "quantity": int(m.get("quantity", 0)),
                           "ordered": int(m.get("ordered", 0))}
    row["return_rate"] = _ratio(m.get("quantity", 0), m.get("ordered", 0))
    row.update({f"res_{r}": int(m.get(f"res:{r}", 0)) for r in RESOLUTIONS})
    row.update({
        "booked": int(booked), "pickups": int(pickups), "failed_attempts": int(failed),
        "pickup_success_rate": _ratio(pickups, pickups + failed),
        "attempts_per_pickup": _ratio(pickups + failed, pickups),
        "avg_hours_to_pickup": _ratio(m.get("to_pickup_s", 0) / 3600, pickups, 2),
        "avg_hours_to_arrival": _ratio(m.get("to_arrival_s", 0) / 3600, m.get("arrivals", 0), 2),
        "cost_per_return": _ratio(m.get("cost", 0), m.get("cost_n", 0), 2),
    })
    return row


def dimension_of(group_by: str) -> str:
    """The counters' dimension a grouping reads (`day` reads `all`, day by day). Raises: BadQuery."""
    if group_by not in GROUPS:
        raise BadQuery(f"group_by must be one of {', '.join(GROUPS)}")
    return "all" if group_by == "day" else group_by


def group(days: Sequence[DayCounters], group_by: str) -> list[dict[str, Any]]:
    """One row per value of `group_by` from that dimension's hashes, biggest first (days in order)."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for day in days:
        for name, value in day.fields.items():
            key, metric = name.rsplit("|", 1)
            totals[day.day.isoformat() if group_by == "day" else key][metric] += value
    rows = [_row(key, metrics) for key, metrics in totals.items()]
    if group_by == "day":
        return sorted(rows, key=lambda r: r["key"])
    return sorted(rows, key=lambda r: (-r["returns"], -r["booked"], r["key"]))


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    return out.getvalue()
