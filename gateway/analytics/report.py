"""The analytics pages' figures and charts: one merchant's counters, or several merchants' summed.

Built only from `query.read_days` and `query.group`, the functions behind the JSON API, so a page
and its CSV links always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import redis.asyncio as aioredis

from gateway.analytics.query import RESOLUTIONS, DayCounters, dimension_of, group, read_days
from gateway.ops_pages.charts import Chart, bar_chart
from gateway.store.keys import Keys

TOP_SKUS = 10
CSV_GROUPS = ("reason", "carrier", "day", "sku", "resolution")
Row = dict[str, Any]


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    totals: Row
    by_reason: list[Row]
    by_carrier: list[Row]
    by_day: list[Row]
    by_sku: list[Row]


async def days_for(redis: aioredis.Redis, keys: Keys, mids: Sequence[str], start: date, end: date,
                group_by: str) -> list[DayCounters]:
    """Every merchant's hashes of one dimension; `group` sums them as it sums days."""
    found: list[DayCounters] = []
    for mid in mids:
        found += await read_days(redis, keys, mid, start, end, dimension_of(group_by))
    return found


async def build(redis: aioredis.Redis, keys: Keys, mids: Sequence[str], start: date, end: date) -> Report:
    """The figures for `mids` from `start` to `end` inclusive. Raises: BadQuery (range)."""
    everything = await days_for(redis, keys, mids, start, end, "day")
    totals = group(everything, "all") or group([DayCounters(start, {"|returns": 0})], "all")  # all zero
    return Report(start, end, totals[0],
                  group(await days_for(redis, keys, mids, start, end, "reason"), "reason"),
                  group(await days_for(redis, keys, mids, start, end, "carrier"), "carrier"),
                  group(everything, "day"),
                  group(await days_for(redis, keys, mids, start, end, "sku"), "sku"))


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def top_skus(rows: Sequence[Row]) -> list[Row]:
    """SKUs with units ordered, highest return rate first."""
    rated = [r for r in rows if r["return_rate"] is not None]
    return sorted(rated, key=lambda r: (-r["return_rate"], -r["quantity"], r["key"]))[:TOP_SKUS]


def charts(report: Report) -> list[Chart]:
    mix = {r: report.totals[f"res_{r}"] for r in RESOLUTIONS if report.totals[f"res_{r}"]}
    units = sum(mix.values())
    carriers = [r for r in report.by_carrier if r["pickups"] + r["failed_attempts"]]
    return [
        bar_chart("Returns by reason", [(r["key"].replace("_", " "), [r["returns"]],
                                         [f"{count(r['returns'], 'return')} · {count(r['quantity'], 'unit')}"])
                                        for r in report.by_reason]),
        bar_chart("Pickup success rate by carrier", [
            (r["key"], [r["pickup_success_rate"]],
             [f"{pct(r['pickup_success_rate'])} of {count(r['pickups'] + r['failed_attempts'], 'attempt')}"])
            for r in carriers], scale=1.0),
        bar_chart("Returns by day", [(r["key"], [r["returns"]], [count(r["returns"], "return")])
                                     for r in report.by_day if r["returns"]]),
        bar_chart("Top SKUs by return rate", [
            (r["key"], [r["return_rate"]], [f"{pct(r['return_rate'])} · {r['quantity']} of {r['ordered']} units"])
            for r in top_skus(report.by_sku)]),
        bar_chart("Resolution mix (units)", [(name, [n], [f"{count(n, 'unit')} · {pct(n / units)}"])
                                             for name, n in mix.items()]),
    ]
