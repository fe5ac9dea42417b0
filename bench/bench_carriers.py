"""Parse + normalize throughput of every registered carrier on one core, from its recorded fixtures.

For each carrier, the fixtures that are tracking answers or webhook bodies (files named `*track*`,
`*webhook*`, `*push*`, `*callback*` that yield events) are parsed with the adapter's own
`parse_tracking` / `parse_webhook` and every event is normalized with the carrier's status map,
over and over for a fixed time. The figure is events per second.
Run: .venv/bin/python bench/bench_carriers.py
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from carriers.base import CarrierAdapter, CarrierEvent, make_adapter
from carriers.clock import ManualClock
from carriers.errors import CarrierError
from carriers.registry import adapter_class, registered_codes
from normalizers.engine import normalize
from normalizers.maps import MAPS_DIR, load_map

SECONDS_PER_CARRIER = 0.5
_WEBHOOK_WORDS = ("webhook", "push", "callback")
Parse = Callable[[bytes], list[CarrierEvent]]


async def _adapters(codes: list[str]) -> dict[str, CarrierAdapter]:
    """Adapters built as the gateway builds them; their session is closed, parsing never uses it."""
    async with aiohttp.ClientSession() as session:
        built = {}
        for code in codes:
            cls = adapter_class(code)
            sandbox = importlib.import_module(cls.__module__.rsplit(".", 1)[0] + ".sandbox")
            settings = cls.settings_model(**sandbox.adapter_settings("http://127.0.0.1:9"))
            built[code] = make_adapter(cls, settings, session, ManualClock())
        return built


def _parser(adapter: CarrierAdapter, name: str) -> Parse | None:
    if any(word in name for word in _WEBHOOK_WORDS):
        return lambda body: adapter.parse_webhook({}, body)
    if "track" in name:
        return adapter.parse_tracking
    return None


def payloads(adapter: CarrierAdapter) -> list[tuple[Parse, bytes]]:
    """(parser, body) for every fixture of `adapter` that is a tracking answer or webhook with events."""
    folder = Path(importlib.import_module(type(adapter).__module__).__file__ or "").parent / "fixtures"
    found = []
    for path in sorted(folder.iterdir()):
        parse = _parser(adapter, path.name)
        if parse is None:
            continue
        body = path.read_bytes()
        try:
            if parse(body):
                found.append((parse, body))
        except CarrierError:
            continue  # an error answer recorded on purpose (not found, bad key)
    return found


def measure(code: str, adapter: CarrierAdapter, duration_s: float = SECONDS_PER_CARRIER) -> tuple[int, float]:
    """(fixtures used, events parsed and normalized per second)."""
    status_map, work = load_map(MAPS_DIR / f"{code}.yaml"), payloads(adapter)
    if not work:
        return 0, 0.0
    events, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < duration_s:
        for parse, body in work:
            for event in parse(body):
                normalize(event, status_map)
                events += 1
    return len(work), events / elapsed


def run() -> dict[str, float]:
    """`<slug>_events_per_s` for every registered carrier; prints one line per carrier."""
    adapters = asyncio.run(_adapters(registered_codes()))
    figures: dict[str, float] = {}
    print(f"{'carrier':<14} {'fixtures':>8} {'events/s':>12}")
    for code, adapter in adapters.items():
        used, rate = measure(code, adapter)
        figures[f"{code}_events_per_s"] = rate
        print(f"{code:<14} {used:>8} {rate:>12,.0f}", flush=True)
    return figures


def main() -> None:
    run()


if __name__ == "__main__":
    main()

