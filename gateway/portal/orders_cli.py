"""The `backhaul orders` commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway.settings import Settings


async def _run(settings: Settings, url: str, mid: str, path: Path) -> int:
    from carriers.clock import SystemClock
    from gateway.analytics.counters import Counters
    from gateway.portal.orders import OrderStore
    from gateway.portal.orders_import import import_orders, progress_bar
    from gateway.store.keys import Keys
    from gateway.store.merchants import MerchantStore
    from gateway.store.server import client_for

    redis, keys = client_for(url), Keys(settings.key_prefix)
    try:
        if await MerchantStore(redis, keys, SystemClock()).get(mid) is None:
            print(f"backhaul: no merchant {mid}", file=sys.stderr)
            return 2
        store = OrderStore(redis, keys, Counters(redis, keys))
        report = await import_orders(store, mid, path, SystemClock().now(), progress_bar())
    finally:
        await redis.aclose()
    for line, message in report.errors:
        print(f"{path}:{line}: {message}", file=sys.stderr)
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(report.outcomes.items())) or "nothing saved"
    print(f"{report.rows} rows, {report.orders_saved} orders ({outcomes}), {len(report.errors)} rows refused")
    return 1 if report.errors else 0


def _import(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.runtime import redis_url

    with redis_url(settings) as url:
        raise SystemExit(asyncio.run(_run(settings, url, args.merchant, Path(args.file))))


def register(sub: Any) -> None:
    orders = sub.add_parser("orders", help="orders customers may return").add_subparsers(dest="action", required=True)
    imp = orders.add_parser("import", help="import orders from a CSV file (one row per order line)")
    imp.add_argument("file")
    imp.add_argument("--merchant", required=True, help="the merchant id (mer_...)")
    imp.set_defaults(func=_import)
