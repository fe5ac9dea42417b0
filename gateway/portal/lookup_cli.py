"""`backhaul order-lookup set|show|off`: a merchant's order-lookup webhook, from the command line.

The same store and checks as `PUT /v1/order-lookup`; the secret is printed once, when made.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from gateway.settings import Settings


async def _run(settings: Settings, url: str, args: argparse.Namespace) -> int:
    from carriers.clock import SystemClock
    from gateway.portal.lookup_endpoint import LookupEndpointIn, LookupEndpoints
    from gateway.store.keys import Keys
    from gateway.store.merchants import MerchantStore
    from gateway.store.server import client_for
    from gateway.webhooks_out.api import is_private_host

    redis, keys = client_for(url), Keys(settings.key_prefix)
    try:
        if await MerchantStore(redis, keys, SystemClock()).get(args.merchant) is None:
            print(f"backhaul: no merchant {args.merchant}", file=sys.stderr)
            return 2
        store = LookupEndpoints(redis, keys)
        if args.action == "off":
            print("order lookup removed" if await store.delete(args.merchant) else "no order lookup was set")
            return 0
        if args.action == "show":
            endpoint = await store.get(args.merchant)
            print(f"{endpoint.url} (secret {endpoint.secret_hint})" if endpoint else "no order lookup is set")
            return 0
        body = LookupEndpointIn(url=args.url, rotate_secret=args.rotate_secret)
        if not settings.webhook_allow_private_urls and is_private_host(body.url.host or ""):
            print("backhaul: url: points at a private, loopback or link-local address", file=sys.stderr)
            return 2
        endpoint, is_new_secret = await store.put(args.merchant, body, SystemClock().now())
    finally:
        await redis.aclose()
    print(f"order lookup for {args.merchant}: {endpoint.url}")
    if is_new_secret:
        print(f"signing secret (shown once, store it now): {endpoint.secret}")
    else:
        print(f"signing secret unchanged ({endpoint.secret_hint}); --rotate-secret makes a new one")
    return 0


def _command(args: argparse.Namespace, settings: Settings) -> None:
    from gateway.runtime import redis_url

    with redis_url(settings) as url:
        raise SystemExit(asyncio.run(_run(settings, url, args)))


def register(sub: Any) -> None:
    lookup = sub.add_parser("order-lookup", help="a merchant's order-lookup webhook (portal)").add_subparsers(
        dest="action", required=True)
    put = lookup.add_parser("set", help="set the URL Backhaul asks for orders it was not sent")
    put.add_argument("merchant", help="the merchant id (mer_...)")
    put.add_argument("url")
    put.add_argument("--rotate-secret", action="store_true", help="make a new signing secret")
    put.set_defaults(func=_command)
    for name, text in (("show", "show the URL and a hint of the secret"), ("off", "stop asking the merchant")):
        other = lookup.add_parser(name, help=text)
        other.add_argument("merchant", help="the merchant id (mer_...)")
        other.set_defaults(func=_command)
