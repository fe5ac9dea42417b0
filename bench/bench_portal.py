"""The returns portal: server render time and size of its pages, and CSV order import speed.

Pages are rendered by the real app over HTTP on embedded Redis (a 4-item order, branding
with a logo); the size budget is the tracking page's, 60 KB without images. The import reads
a generated CSV of 20,000 rows (10,000 orders of two lines) with the real importer.
"""

from __future__ import annotations

import asyncio
import csv
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bench.bench_ingest import redis_server
from carriers.clock import ManualClock
from gateway import keys
from gateway.app import create_app
from gateway.portal.orders import OrderIn
from gateway.portal.orders_import import import_orders
from gateway.store.keys import Keys
from gateway.store.server import client_for
from tests.integration.conftest import sandbox_settings, seed_merchant

RENDERS = 300
IMPORT_ROWS = 20_000
NOW = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)


def _order() -> OrderIn:
    items = [{"sku": f"SKU-{n}", "name": f"Item number {n}", "quantity": 2, "price": "999.00", "category": "apparel",
              "variants": [f"SKU-{n}-L", f"SKU-{n}-S"]} for n in range(4)]
    return OrderIn.model_validate({"order_id": "B-1", "customer_name": "Asha Rao", "customer_email": "a@example.com",
                                   "customer_phone": "9800000000", "delivered_at": "2026-10-30T10:00:00+05:30",
                                   "address": {"line1": "12 MG Road", "city": "Bengaluru", "postcode": "560001"},
                                   "items": items})


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * len(values))]


async def _renders(url: str) -> dict[str, float]:
    prefix, clock = "bhbench:portal:", ManualClock(NOW)
    redis = client_for(url)
    merchant, _ = await seed_merchant(redis, prefix, clock)
    app = create_app(sandbox_settings("http://127.0.0.1:9", prefix), url, clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    figures: dict[str, float] = {}
    try:
        await app[keys.ORDERS].save_many(merchant.id, [_order()], NOW)
        await redis.set(Keys(prefix).portal_session(merchant.id, "s" * 32), json.dumps({"order_id": "B-1"}), ex=600)
        pages = {"identify": f"/r/{merchant.id}?lang=hi", "return_form": f"/r/{merchant.id}/s/{'s' * 32}?lang=hi"}
        async with aiohttp.ClientSession() as http:
            for name, path in pages.items():
                took, size = [], 0
                for _ in range(RENDERS):
                    started = time.perf_counter()
                    async with http.get(server.make_url(path)) as resp:
                        body = await resp.read()
                    took.append((time.perf_counter() - started) * 1000)
                    size = len(body)
                figures[f"{name} render p95 (ms)"] = _p95(took)
                figures[f"{name} size (KB)"] = size / 1024
        figures["import rows per s"] = await _import(app[keys.ORDERS], merchant.id)
    finally:
        await server.close()
        keys_ = [k async for k in redis.scan_iter(match=f"{prefix}*", count=5000)]
        for n in range(0, len(keys_), 5000):
            await redis.delete(*keys_[n:n + 5000])
        await redis.aclose()
    return figures


async def _import(store: Any, mid: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["order_id", "customer_name", "customer_email", "delivered_at", "sku", "name", "quantity",
                             "price", "category"])
            for row in range(IMPORT_ROWS):
                writer.writerow([f"IMP-{row // 2}", "Asha Rao", "a@example.com", "2026-10-30T10:00:00+05:30",
                                 f"SKU-{row % 2}", "Item", 1, "499.00", "apparel"])
        started = time.perf_counter()
        report = await import_orders(store, mid, path, NOW)
        took = time.perf_counter() - started
    assert report.orders_saved == IMPORT_ROWS // 2 and not report.errors
    return IMPORT_ROWS / took


def run() -> dict[str, float]:
    with redis_server() as url:
        return asyncio.run(_renders(url))


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:,.2f}")
