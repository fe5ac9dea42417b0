"""Pickup success rate and turnaround learned from Backhaul's own tracked outcomes.

Per carrier and pickup area (3-digit PIN prefix; the country abroad) Redis keeps decayed
counts: every number halves each `half_life_days`, so last quarter's outcomes count and last
year's fade. Estimates are smoothed twice, Beta-binomial style: the area's rate towards the
carrier's own rate, and that towards the configured prior, each with `prior_strength` pseudo
attempts; so three attempts in an area move its estimate a little, three hundred decide it.

    carrier_rate = (s_c + m * prior) / (n_c + m)
    area_rate    = (s_a + m * carrier_rate) / (n_a + m)

Turnaround (booking to pickup) is the same with `turnaround_strength` pseudo pickups.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

import redis.asyncio as aioredis

from gateway.rules.config import Learning
from gateway.rules.zones import area_of
from gateway.store.keys import Keys
from gateway.store.server import text
from normalizers.taxonomy import Reason, Status, TrackingEvent

if TYPE_CHECKING:
    from gateway.models import Return

_RECORD = resources.files("gateway.rules").joinpath("record_outcome.lua").read_text(encoding="utf-8")
_DAY_S = 86_400.0
_MEMO_MAX = 200_000

# [successes, attempts, turnaround_sum_s, turnaround_count, as_of_epoch_s]
Stat = tuple[float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class Estimate:
    success_rate: float
    turnaround_h: float
    attempts: float


@dataclass(frozen=True, slots=True)
class OutcomeSnapshot:
    """Every carrier's stats as one process last read them; `estimate` is pure."""

    stats: Mapping[str, Mapping[str, Stat]] = field(default_factory=dict)
    version: int = -1
    _memo: dict[tuple[str, str, int, int], Estimate] = field(default_factory=dict, compare=False, repr=False)

    def estimate(self, carrier: str, area: str, now_s: float, cfg: Learning) -> Estimate:
        """The smoothed estimate as of the start of `now_s`'s minute (memoised: decay within a minute is noise)."""
        key = (carrier, area, int(now_s // 60), id(cfg))  # configs live as long as the process
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) > _MEMO_MAX:
                self._memo.clear()
            found = self._memo[key] = self._estimate(carrier, area, key[2] * 60.0, cfg)
        return found

    def _estimate(self, carrier: str, area: str, now_s: float, cfg: Learning) -> Estimate:
        by_area = self.stats.get(carrier, {})
        half_life_s = cfg.half_life_days * _DAY_S
        rate, turnaround_s = cfg.prior_success, cfg.prior_turnaround_h * 3600
        attempts = 0.0
        for key in ("*", area):
            stat = by_area.get(key)
            if stat is None:
                continue
            s, n, t, tn, as_of = stat
            d = 0.5 ** (max(0.0, now_s - as_of) / half_life_s)
            rate = (s * d + cfg.prior_strength * rate) / (n * d + cfg.prior_strength)
            turnaround_s = (t * d + cfg.turnaround_strength * turnaround_s) / (tn * d + cfg.turnaround_strength)
            attempts = n * d
        if area not in by_area:
            attempts = 0.0
        return Estimate(rate, turnaround_s / 3600, attempts)


async def read_outcomes(redis: aioredis.Redis, keys: Keys, carriers: Sequence[str]) -> OutcomeSnapshot:
    version = int(text(await redis.get(keys.outcomes_version())) or 0)
    stats: dict[str, dict[str, Stat]] = {}
    for code in carriers:
        raw = cast(dict[Any, Any], await redis.hgetall(keys.outcomes(code)))
        stats[code] = {text(k): cast(Stat, tuple(float(x) for x in json.loads(text(v)))) for k, v in raw.items()}
    return OutcomeSnapshot(stats, version)


class OutcomeLog:
    """Records pickup outcomes and serves this process a snapshot of them."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, cfg: Learning, carriers: Sequence[str],
                 check_every_s: float = 30.0) -> None:
        self.redis = redis
        self.keys = keys
        self.cfg = cfg
        self.carriers = list(carriers)
        self.check_every_s = check_every_s
        self.snapshot = OutcomeSnapshot()
        self._checked_at = float("-inf")
        self._record = redis.register_script(_RECORD)

    async def record_outcome(self, carrier: str, pickup_pin: str, succeeded: bool, turnaround_s: float | None,
                             at: datetime, country: str = "IN") -> None:
        """Count one pickup attempt of `carrier` at `pickup_pin`; `turnaround_s` is booking to pickup."""
        args: list[str | float] = [area_of(country, pickup_pin), int(succeeded),
                                   "" if turnaround_s is None else turnaround_s, at.timestamp(),
                                   self.cfg.half_life_days * _DAY_S]
        await self._record(keys=[self.keys.outcomes(carrier), self.keys.outcomes_version()], args=args)

    async def observe(self, ret: Return, new_events: Sequence[TrackingEvent]) -> int:
        """Record the pickup outcomes among a return's newly applied events; returns how many."""
        if ret.shipment is None or ret.request is None:
            return 0
        pickup = ret.request.pickup_address
        count = 0
        for ev in new_events:
            if ev.status is Status.PICKED_UP:
                turnaround = max(0.0, (ev.occurred_at - ret.shipment.booked_at).total_seconds())
                await self.record_outcome(ret.shipment.carrier, pickup.postcode, True, turnaround,
                                          ev.occurred_at, pickup.country)
            elif ev.status is Status.PICKUP_FAILED or (
                    ev.status is Status.CANCELLED and ev.reason is Reason.NOT_SERVICEABLE):
                await self.record_outcome(ret.shipment.carrier, pickup.postcode, False, None,
                                          ev.occurred_at, pickup.country)
            else:
                continue
            count += 1
        return count

    async def current(self) -> OutcomeSnapshot:
        """The snapshot, re-read when the version moved and the last check is `check_every_s` old."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_every_s:
            self._checked_at = now
            version = int(text(await self.redis.get(self.keys.outcomes_version())) or 0)
            if version != self.snapshot.version:
                self.snapshot = await read_outcomes(self.redis, self.keys, self.carriers)
        return self.snapshot
