"""`backhaul normalize` (one raw payload in, unified events out) and `backhaul renormalize`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp

from carriers.base import CarrierAdapter, CarrierEvent, make_adapter
from carriers.clock import SystemClock
from carriers.errors import BackhaulError, CarrierError
from carriers.registry import adapter_class
from gateway.settings import Settings, carrier_settings
from gateway.store.keys import Keys
from gateway.store.returns import ReturnStore
from gateway.store.server import client_for, text
from normalizers.engine import normalize, renormalize
from normalizers.maps import StatusMap, load_maps
from normalizers.taxonomy import TrackingEvent


def parse_any(adapter: CarrierAdapter, raw: bytes) -> list[CarrierEvent]:
    """Events of a tracking response or, failing that, of a webhook body.

    Raises: CarrierError when the payload is neither.
    """
    try:
        events = adapter.parse_tracking(raw)
        if events:
            return events
    except CarrierError as first:
        try:
            return adapter.parse_webhook({}, raw)
        except CarrierError:
            raise first from None
    try:
        return adapter.parse_webhook({}, raw)
    except CarrierError:
        return []


def event_line(event: TrackingEvent) -> str:
    return json.dumps({
        "awb": event.awb, "carrier": event.carrier, "status": event.status.value,
        "reason": event.reason.value if event.reason else None, "raw_code": event.raw_code,
        "raw_description": event.raw_description,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"), "location": event.location,
    }, ensure_ascii=False)


async def _normalize(settings: Settings, code: str, raw: bytes) -> list[str]:
    status_map = load_maps(required=[code])[code]
    async with aiohttp.ClientSession() as session:
        adapter = make_adapter(adapter_class(code), carrier_settings(settings, code), session, SystemClock())
        return [event_line(normalize(e, status_map)) for e in parse_any(adapter, raw)]


def run_normalize(settings: Settings, code: str, path: str) -> int:
    """Print one JSON line per event; exit status 2 with a one-line reason when it cannot parse."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        print(f"backhaul normalize: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        lines = asyncio.run(_normalize(settings, code, raw))
    except BackhaulError as exc:
        print(f"backhaul normalize: {code} payload not understood: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


async def _returns(store: ReturnStore, keys: Keys) -> AsyncIterator[tuple[str, str]]:
    pattern = f"{keys.prefix}{{*}}:returns"
    async for key in store.redis.scan_iter(match=pattern, count=500):
        mid = text(key)[len(keys.prefix) + 1:].split("}", 1)[0]
        for rid in cast(list[str], await store.redis.zrange(text(key), 0, -1)):
            yield mid, rid


async def renormalize_all(settings: Settings, url: str, carrier: str | None,
                          maps: dict[str, StatusMap] | None = None) -> dict[str, Any]:
    """Re-read every stored event with today's maps and re-fold each return's state."""
    keys = Keys(settings.key_prefix)
    maps = maps if maps is not None else load_maps()
    client = client_for(url)
    store = ReturnStore(client, keys, SystemClock(), settings.raw_payloads_kept, settings.feed_maxlen)
    seen = changed = 0
    try:
        async for mid, rid in _returns(store, keys):
            events = await store.events(mid, rid)
            if carrier and not any(e.carrier == carrier for e in events):
                continue
            fresh = [renormalize(e, maps[e.carrier]) if e.carrier in maps else e for e in events]
            seen += 1
            changed += await store.replace_events(mid, rid, fresh)
    finally:
        await client.aclose()
    return {"returns": seen, "changed": changed}
