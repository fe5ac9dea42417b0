"""The configured carrier adapters, each call guarded (circuit breaker, rate limit), timed and counted."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

from carriers.base import CarrierAdapter, make_adapter
from carriers.clock import Clock
from carriers.errors import ConfigError
from carriers.registry import adapter_class
from gateway.carrier_guard import CarrierGuard, Ticket, is_carrier_failure
from gateway.metrics import Metrics
from gateway.settings import Settings, carrier_settings

T = TypeVar("T")


class CarrierHub:
    """Adapters for every enabled carrier, built once per process from settings."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession, clock: Clock,
                 metrics: Metrics, guard: CarrierGuard | None = None) -> None:
        self.metrics = metrics
        # Shared through Redis (gateway/carrier_guard.py); None calls carriers unguarded (tools, unit tests).
        self.guard = guard
        self.adapters: dict[str, CarrierAdapter] = {}
        for code in settings.carriers:
            cs = carrier_settings(settings, code)
            if cs.enabled:
                self.adapters[code] = make_adapter(adapter_class(code), cs, session, clock)
        self.order = [c for c in settings.carrier_order if c in self.adapters]

    def get(self, code: str) -> CarrierAdapter:
        """Raises: ConfigError when the carrier is not configured and enabled."""
        try:
            return self.adapters[code]
        except KeyError:
            raise ConfigError(f"carrier {code!r} is not configured or not enabled") from None

    async def call(self, code: str, operation: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run one adapter call through the guard, recording its latency and outcome.

        Raises: CircuitOpen or RateLimited (the carrier was not called), or what the adapter raises.
        """
        adapter = self.adapters.get(code)
        ticket = await self.guard.admit(code, adapter.capabilities if adapter else None) if self.guard else None
        started = time.perf_counter()
        try:
            result = await fn()
        except Exception as exc:
            await self._done(code, operation, ticket, started, exc)
            raise
        await self._done(code, operation, ticket, started, None)
        return result

    async def _done(self, code: str, operation: str, ticket: Ticket | None, started: float,
                    exc: Exception | None) -> None:
        elapsed_s = time.perf_counter() - started
        outcome = "ok" if exc is None else type(exc).__name__
        self.metrics.carrier_call_seconds.labels(code, operation, outcome).observe(elapsed_s)
        if self.guard is not None and ticket is not None:
            await self.guard.record(ticket, exc is not None and is_carrier_failure(exc), elapsed_s)
