"""Typed keys for everything the aiohttp app shares; no module-level clients."""

from __future__ import annotations

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from carriers.clock import Clock
from gateway.analytics.counters import Counters
from gateway.booking import Booker
from gateway.carrier_hub import CarrierHub
from gateway.inbound_log import GroupCommit
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.ops.core import OpsCore
from gateway.portal.lookup import OrderLookup
from gateway.portal.orders import OrderStore
from gateway.rules.service import Rules
from gateway.settings import Settings
from gateway.store.idempotency import IdempotencyStore
from gateway.store.merchants import MerchantStore
from gateway.store.returns import ReturnStore
from gateway.webhooks_out.dispatcher import Dispatcher

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
REDIS = web.AppKey("redis", aioredis.Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RETURNS = web.AppKey("returns", ReturnStore)
MERCHANTS = web.AppKey("merchants", MerchantStore)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
CARRIERS = web.AppKey("carriers", CarrierHub)
BOOKER = web.AppKey("booker", Booker)
INGESTOR = web.AppKey("ingestor", Ingestor)
INBOUND = web.AppKey("inbound", GroupCommit)
WEBHOOK_DISPATCHER = web.AppKey("webhook_dispatcher", Dispatcher)
RULES = web.AppKey("rules", Rules)
ANALYTICS = web.AppKey("analytics", Counters)
ORDERS = web.AppKey("orders", OrderStore)
ORDER_LOOKUP = web.AppKey("order_lookup", OrderLookup)
OPS = web.AppKey("ops", OpsCore)
