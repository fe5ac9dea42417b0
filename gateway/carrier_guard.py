"""A per-carrier circuit breaker and rate limit shared through Redis, and the shared call stats.

Every process of a deployment asks the same Redis, so they agree on whether a carrier is
failing and how fast it may be called. Two scripts per adapter call, one round trip each:

* `guard_admit.lua` before the call: an open circuit refuses at once (`CircuitOpen`); after the
  cooldown exactly one caller, in whatever process, wins the half-open probe; then the rate limit
  (GCRA on Redis's clock) grants a slot now, or within `max_wait_s` (the caller sleeps), or refuses
  (`RateLimited`). Both errors are `CarrierNotCalled`, a `CarrierUnavailable`: callers fail over or
  retry later, as for any outage.
* `guard_record.lua` after the call: per-minute call stats (calls, failures, latency buckets) for
  ops health and the carrier alerts, the breaker's rolling window, and its verdict. Only
  carrier-side failures count (`is_carrier_failure`); a 4xx refusal of our input is a working
  carrier. The probe's outcome closes or re-opens the circuit.

The process whose script made a transition calls `on_change` (ops: `OpsCore.circuit_changed`),
so an alert fires once, not once per process.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from carriers.base import Capabilities
from carriers.clock import Clock
from carriers.errors import CarrierNotCalled, CarrierUnavailable, CircuitOpen, RateLimited
from gateway.metrics import LATENCY_BUCKETS_S, Metrics
from gateway.settings import CarrierGuardSettings
from gateway.store.keys import Keys
from gateway.store.server import text

log = logging.getLogger(__name__)
_ADMIT = resources.files("gateway").joinpath("guard_admit.lua").read_text(encoding="utf-8")
_RECORD = resources.files("gateway").joinpath("guard_record.lua").read_text(encoding="utf-8")
_BUCKETS_PER_WINDOW = 10
STATES = ("closed", "half_open", "open")

# Calls per second and burst from what the carriers publish (/work/shared/carriers.md, "Batch / rate
# limit summary" and each carrier's "Limits"). One bucket covers every operation of a carrier, so the
# tightest published limit of an endpoint we call is taken. Carriers missing here use the adapter's
# `Capabilities.rate_limit_per_min`, else `carrier_guard.default_rate_per_s`.
DOCUMENTED_LIMITS: Mapping[str, tuple[float, int]] = {
    "delhivery": (750 / 300, 50),  # tracking: 750 requests / 5 min / IP (pincode 4500, label 3000 / 5 min)
    "fedex": (1400 / 10, 140),  # 1,400 transactions / 10 s / project
    "dhl": (1.0, 1),  # unified tracking, starter level: 1 call/s (250/day)
    "usps": (60 / 3600, 5),  # new v3 apps: 60 requests / hour, about 5 / min burst
}

OnChange = Callable[[str, bool], Awaitable[None]]


def is_carrier_failure(exc: BaseException) -> bool:
    """Whether an error counts against the carrier: timeouts, 5xx, 429, resets (not our refusals)."""
    if isinstance(exc, CarrierNotCalled):
        return False
    return isinstance(exc, CarrierUnavailable | TimeoutError | aiohttp.ClientError)


@dataclass(frozen=True)
class Limits:
    """The guard's numbers for one carrier, defaults merged with its override."""

    error_rate: float
    min_calls: int
    window_s: int
    cooldown_s: float
    rate_per_s: float
    burst: int

    @property
    def bucket_s(self) -> float:
        return self.window_s / _BUCKETS_PER_WINDOW


def limits_for(settings: CarrierGuardSettings, carrier: str, capabilities: Capabilities | None = None) -> Limits:
    """Override, then the global setting, then the documented limit, then the adapter's, then the default."""
    over = settings.carriers.get(carrier)
    documented = DOCUMENTED_LIMITS.get(carrier)
    per_min = capabilities.rate_limit_per_min if capabilities else None
    rate = ((over.rate_per_s if over else None) or settings.rate_per_s
            or (documented[0] if documented else None) or (per_min / 60 if per_min else None)
            or settings.default_rate_per_s)
    burst = ((over.burst if over else None) or settings.burst or (documented[1] if documented else None)
             or max(1, math.ceil(rate * 2)))
    pick = over.model_dump(exclude_none=True) if over else {}
    return Limits(error_rate=pick.get("error_rate", settings.error_rate),
                  min_calls=pick.get("min_calls", settings.min_calls),
                  window_s=pick.get("window_s", settings.window_s),
                  cooldown_s=pick.get("cooldown_s", settings.cooldown_s), rate_per_s=rate, burst=burst)


def latency_field(seconds: float) -> str:
    """The stats hash field of the latency bucket a call falls in (the Prometheus histogram's bounds)."""
    le = next((b for b in LATENCY_BUCKETS_S if seconds <= b), math.inf)
    return f"le:{le:g}"


@dataclass(frozen=True)
class Ticket:
    """An admitted call; `probe_id` is set when this call is the half-open probe."""

    carrier: str
    probe_id: str = ""


class CarrierGuard:
    """Admit and record carrier calls against the Redis-shared breaker, rate limit and stats."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, clock: Clock, metrics: Metrics,
                 settings: CarrierGuardSettings, on_change: OnChange | None = None) -> None:
        self.redis, self.keys, self.clock, self.metrics, self.settings = redis, keys, clock, metrics, settings
        self.on_change = on_change
        self._admit = redis.register_script(_ADMIT)
        self._record = redis.register_script(_RECORD)
        self._limits: dict[str, Limits] = {}

    def limits(self, carrier: str, capabilities: Capabilities | None = None) -> Limits:
        if carrier not in self._limits:
            self._limits[carrier] = limits_for(self.settings, carrier, capabilities)
        return self._limits[carrier]

    async def admit(self, carrier: str, capabilities: Capabilities | None = None) -> Ticket:
        """Wait for room if it comes soon. Raises: CircuitOpen, RateLimited; never a Redis error (fails open)."""
        if not self.settings.enabled:
            return Ticket(carrier)
        lim, probe_id = self.limits(carrier, capabilities), secrets.token_hex(8)
        try:
            verdict, state, wait_us = await self._admit(
                keys=[self.keys.circuit(carrier), self.keys.rate_limit(carrier)],
                args=[self.clock.now().timestamp(), lim.cooldown_s, self.settings.probe_timeout_s, probe_id,
                      1000 / lim.rate_per_s, 1000 / lim.rate_per_s * (lim.burst - 1),
                      self.settings.max_wait_s * 1000])
        except Exception:
            log.exception("carrier guard unavailable; calling without it", extra={"carrier": carrier})
            return Ticket(carrier)
        verdict, wait_s = text(verdict), int(wait_us) / 1e6
        self.metrics.circuit_state.labels(carrier).set(int(state))
        if verdict == "open":
            self.metrics.short_circuited.labels(carrier).inc()
            raise CircuitOpen(carrier, "circuit open: recent calls failed, not calling", retry_after_s=wait_s)
        if verdict == "limited":
            self.metrics.rate_limited.labels(carrier, "refused").inc()
            raise RateLimited(carrier, f"rate limit of {lim.rate_per_s:g}/s reached", retry_after_s=wait_s)
        if wait_s > 0:
            self.metrics.rate_limited.labels(carrier, "waited").inc()
            await asyncio.sleep(wait_s)
        return Ticket(carrier, probe_id if verdict == "probe" else "")

    async def record(self, ticket: Ticket, is_failure: bool, latency_s: float) -> None:
        """Count the call's outcome; never raises, so bookkeeping cannot lose a booking that happened."""
        carrier = ticket.carrier
        lim, now = self.limits(carrier), self.clock.now().timestamp()
        try:
            transition, state = await self._record(
                keys=[self.keys.circuit(carrier), self.keys.circuit_window(carrier),
                      self.keys.carrier_calls(carrier, int(now // 60))],
                args=[now, int(is_failure), latency_s, latency_field(latency_s), self.settings.stats_kept_s + 60,
                      lim.bucket_s, _BUCKETS_PER_WINDOW, lim.error_rate, lim.min_calls, ticket.probe_id,
                      int(self.settings.enabled)])
        except Exception:
            log.exception("carrier call not recorded", extra={"carrier": carrier})
            return
        self.metrics.circuit_state.labels(carrier).set(int(state))
        if text(transition):
            await self._changed(carrier, text(transition) == "opened")

    async def _changed(self, carrier: str, is_open: bool) -> None:
        log.warning("carrier circuit %s", "opened" if is_open else "closed", extra={"carrier": carrier})
        if self.on_change is None:
            return
        try:
            await self.on_change(carrier, is_open)
        except Exception:
            log.exception("circuit change hook failed", extra={"carrier": carrier})

    async def state(self, carrier: str) -> str:
        """closed, half_open or open, as Redis holds it now."""
        raw: Any = await self.redis.hget(self.keys.circuit(carrier), "state")
        return text(raw) if raw else "closed"

    async def publish(self, carriers: Sequence[str]) -> None:
        """The state gauge from Redis (ops worker, each tick): a process that stopped calling shows no stale state."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for carrier in carriers:
                pipe.hget(self.keys.circuit(carrier), "state")
            states: list[Any] = await pipe.execute()
        for carrier, raw in zip(carriers, states, strict=True):
            self.metrics.circuit_state.labels(carrier).set(STATES.index(text(raw) or "closed"))
