"""A merchant's daily returns digest, composed from the analytics counters (never a scan of returns).

The counters are kept per UTC day (`counters.py`), so the digest's day is a UTC calendar day: the
one whose date is the merchant's local "yesterday". `digest_schedule.py` sends it once that day is
over in UTC and the merchant's local digest hour has passed. Reads: the `all` hashes of the day and
the 7 before it, the day's `reason` and `carrier` hashes, and `sku_window_days` of `sku` hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import redis.asyncio as aioredis

from gateway.analytics.query import RESOLUTIONS, DayCounters, group, read_days
from gateway.models import Merchant
from gateway.store.keys import Keys

TOP = 5
TRAILING_DAYS = 7


@dataclass(frozen=True)
class DigestOptions:
    """What `DigestSettings` decides about the figures, and where the analytics page lives."""

    base_url: str
    sku_window_days: int = 30
    sku_min_ordered: int = 20


@dataclass(frozen=True)
class ReasonLine:
    reason: str
    returns: int
    units: int
    share: float  # of the day's returned units; each unit has exactly one reason, so shares sum to 1


@dataclass(frozen=True)
class SkuLine:
    sku: str
    returned: int
    ordered: int

    @property
    def rate(self) -> float:
        return self.returned / self.ordered


@dataclass(frozen=True)
class CarrierLine:
    carrier: str
    booked: int
    pickups: int
    failed: int
    avg_hours_to_pickup: float | None
    cost: float

    @property
    def attempts(self) -> int:
        return self.pickups + self.failed

    @property
    def success_rate(self) -> float | None:
        return self.pickups / self.attempts if self.attempts else None


@dataclass(frozen=True)
class Digest:
    merchant_id: str
    merchant_name: str
    day: date
    returns: int
    units: int
    trailing_avg: float  # returns a day over the 7 days before `day`
    reasons: list[ReasonLine]
    skus: list[SkuLine]
    sku_window: tuple[date, date]
    sku_min_ordered: int
    carriers: list[CarrierLine]
    resolutions: list[tuple[str, int, float]]  # (resolution, units, share of units)
    booked: int
    cost: float
    cost_n: int
    link: str

    @property
    def change(self) -> float | None:
        """The day against the trailing average, as a fraction (+0.5 is half again as many)."""
        return (self.returns - self.trailing_avg) / self.trailing_avg if self.trailing_avg else None

    @property
    def cost_per_return(self) -> float | None:
        return self.cost / self.cost_n if self.cost_n else None


def _get(day: DayCounters, value: str, metric: str) -> float:
    return day.fields.get(f"{value}|{metric}", 0.0)


def reason_lines(day: DayCounters, units: int) -> list[ReasonLine]:
    rows = group([day], "reason")
    ranked = sorted(rows, key=lambda r: (-r["quantity"], -r["returns"], r["key"]))[:TOP]
    return [ReasonLine(r["key"], r["returns"], r["quantity"], r["quantity"] / units if units else 0.0)
            for r in ranked]


def worst_skus(days: list[DayCounters], min_ordered: int) -> list[SkuLine]:
    """Highest return rate first, among SKUs with at least `min_ordered` units ordered in the window."""
    lines = [SkuLine(r["key"], r["quantity"], r["ordered"]) for r in group(days, "sku")
             if r["ordered"] >= min_ordered and r["quantity"] > 0]
    return sorted(lines, key=lambda s: (-s.rate, -s.returned, s.sku))[:TOP]


def carrier_lines(day: DayCounters) -> list[CarrierLine]:
    lines = [CarrierLine(r["key"], r["booked"], r["pickups"], r["failed_attempts"], r["avg_hours_to_pickup"],
                         _get(day, r["key"], "cost")) for r in group([day], "carrier")]
    active = [c for c in lines if c.booked or c.attempts]
    return sorted(active, key=lambda c: (-c.attempts, -c.booked, c.carrier))


def resolution_mix(day: DayCounters) -> list[tuple[str, int, float]]:
    units = {r: int(_get(day, "", f"res:{r}")) for r in RESOLUTIONS}
    total = sum(units.values())
    return [(r, n, n / total) for r, n in units.items() if n]


def page_link(base_url: str, day: date) -> str:
    query = urlencode({"from": (day - timedelta(days=TRAILING_DAYS - 1)).isoformat(), "to": day.isoformat()})
    return f"{base_url.rstrip('/')}/v1/analytics/returns.html?{query}"


async def compose(redis: aioredis.Redis, keys: Keys, merchant: Merchant, day: date,
                  options: DigestOptions) -> Digest:
    """The digest of `merchant` for the UTC day `day`, from the counters alone."""
    mid = merchant.id
    alls = await read_days(redis, keys, mid, day - timedelta(days=TRAILING_DAYS), day, "all")
    today, before = alls[-1], alls[:-1]
    reasons = await read_days(redis, keys, mid, day, day, "reason")
    carriers = await read_days(redis, keys, mid, day, day, "carrier")
    window = (day - timedelta(days=options.sku_window_days - 1), day)
    skus = await read_days(redis, keys, mid, *window, "sku")
    returns, units = int(_get(today, "", "returns")), int(_get(today, "", "quantity"))
    return Digest(
        merchant_id=mid, merchant_name=merchant.display_name or merchant.name, day=day,
        returns=returns, units=units,
        trailing_avg=sum(_get(d, "", "returns") for d in before) / TRAILING_DAYS,
        reasons=reason_lines(reasons[0], units),
        skus=worst_skus(skus, options.sku_min_ordered), sku_window=window, sku_min_ordered=options.sku_min_ordered,
        carriers=carrier_lines(carriers[0]), resolutions=resolution_mix(today),
        booked=int(_get(today, "", "booked")), cost=_get(today, "", "cost"), cost_n=int(_get(today, "", "cost_n")),
        link=page_link(merchant.public_base(options.base_url), day))
