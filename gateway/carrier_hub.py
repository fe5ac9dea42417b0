"""The configured carrier adapters, each call timed and counted."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

from carriers.base import CarrierAdapter, make_adapter
from carriers.clock import Clock
from carriers.errors import CarrierError, ConfigError
from carriers.registry import adapter_class
from gateway.metrics import Metrics
from gateway.settings import Settings, carrier_settings

T = TypeVar("T")


class CarrierHub:
    """Adapters for every enabled carrier, built once per process from settings."""

    def __init__(self, settings: Settings, session: aiohttp.ClientSession, clock: Clock,
                 metrics: Metrics) -> None:
        self.metrics = metrics
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
        """Run one adapter call, recording its latency and outcome."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await fn()
        except CarrierError as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self.metrics.carrier_call_seconds.labels(code, operation, outcome).observe(
                time.perf_counter() - started)
