"""Orders a merchant pushes (API or CSV import): what each customer bought and may return.

Stored per merchant and order id as one JSON document; pushing the same order again
replaces it (idempotent by the merchant's order id), and the ordered units it adds or
removes go to the analytics counters, the denominator of the return rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import redis.asyncio as aioredis
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from redis.exceptions import WatchError

from carriers.base import Address, Contact
from gateway.analytics.counters import Batch, Counters, add_ordered, day_of
from gateway.store.keys import Keys
from gateway.store.server import text

ORDER_ID = r"^[A-Za-z0-9._\-/]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderItem(_Strict):
    """One order line the customer may return."""

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    image_url: str = Field(default="", max_length=500, pattern=r"^(https://[^\s\"'<>]+)?$")
    quantity: int = Field(ge=1, le=1000)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    category: str = Field(default="general", min_length=1, max_length=64)
    weight_g: int = Field(default=500, gt=0, le=70_000)
    # Skus the customer may exchange this line for (other sizes, colours).
    variants: list[str] = Field(default_factory=list, max_length=20)


class OrderIn(_Strict):
    """The body of `POST /v1/orders` (or one element of its `orders`)."""

    order_id: str = Field(min_length=1, max_length=40, pattern=ORDER_ID)
    customer_name: str = Field(min_length=1, max_length=100)
    customer_email: str = Field(default="", max_length=200, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")
    customer_phone: str = Field(default="", max_length=32)
    delivered_at: AwareDatetime | None = None
    order_date: date | None = None
    customer_tier: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    currency: str = Field(default="INR", pattern=r"^[A-Z]{3}$")
    address: Address | None = None
    items: list[OrderItem] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _contact(self) -> OrderIn:
        if not self.customer_email and not self.customer_phone:
            raise ValueError("customer_email or customer_phone is required")
        if self.customer_phone:
            region = self.address.country if self.address else "IN"
            self.customer_phone = Contact(name=self.customer_name, phone=self.customer_phone,
                                          phone_region=region).phone
        self.customer_email = self.customer_email.lower()
        skus = [i.sku for i in self.items]
        if len(skus) != len(set(skus)):
            raise ValueError("each sku appears once per order; add up the quantities")
        return self

    @property
    def day(self) -> str:
        moment: datetime | date | None = self.delivered_at or self.order_date
        return day_of(moment) if moment is not None else ""


class Order(OrderIn):
    merchant_id: str
    updated_at: datetime
    source: Literal["api", "import", "lookup"] = "api"

    def item(self, sku: str) -> OrderItem | None:
        return next((i for i in self.items if i.sku == sku), None)


Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Saved:
    order: Order
    outcome: Outcome


def _units(order: OrderIn | None) -> dict[tuple[str, str], int]:
    return {(i.sku, i.category): i.quantity for i in order.items} if order else {}


class OrderStore:
    """Orders in Redis, and the units of each already in returns."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, counters: Counters) -> None:
        self.redis = redis
        self.keys = keys
        self.counters = counters

    async def get(self, mid: str, oid: str) -> Order | None:
        """The pushed order, else the copy the merchant's lookup webhook answered while it is kept (lookup.py)."""
        pushed, looked_up = await self.redis.mget([self.keys.order_doc(mid, oid), self.keys.order_lookup(mid, oid)])
        raw = pushed or looked_up
        return Order.model_validate_json(raw) if raw else None

    async def save_many(self, mid: str, bodies: Sequence[OrderIn], now: datetime,
                        source: Literal["api", "import", "lookup"] = "api") -> list[Saved]:
        """Create or replace orders in one round trip each way; ordered units go to analytics."""
        if not bodies:
            return []
        found = await self.redis.mget([self.keys.order_doc(mid, b.order_id) for b in bodies])
        batch, out = Batch(), []
        async with self.redis.pipeline(transaction=False) as pipe:
            for body, raw in zip(bodies, found, strict=True):
                before = Order.model_validate_json(raw) if raw else None
                order = Order(**dict(body), merchant_id=mid, updated_at=now, source=source)
                if before is not None and before.model_dump(exclude={"updated_at", "source"}) == order.model_dump(
                        exclude={"updated_at", "source"}):
                    out.append(Saved(before, "unchanged"))
                    continue
                pipe.set(self.keys.order_doc(mid, body.order_id), order.model_dump_json())
                self._count(batch, mid, before, order, now)
                out.append(Saved(order, "created" if before is None else "updated"))
            await pipe.execute()
        await self.counters.flush(batch)
        return out

    @staticmethod
    def _count(batch: Batch, mid: str, before: Order | None, after: Order, now: datetime) -> None:
        old, new = _units(before), _units(after)
        if before is not None:
            add_ordered(batch, mid, before.day or day_of(before.updated_at),
                        [(s, c, -q) for (s, c), q in old.items()])
        add_ordered(batch, mid, after.day or day_of(now), [(s, c, q) for (s, c), q in new.items()])

    async def returned(self, mid: str, oid: str) -> dict[str, int]:
        raw = await self.redis.hgetall(self.keys.order_returned(mid, oid))
        return {text(k): int(v) for k, v in raw.items()}

    async def reserve(self, mid: str, order: Order, wanted: dict[str, int]) -> bool:
        """Count `wanted` units (sku -> quantity) as returned, all or none, never past what was ordered."""
        key = self.keys.order_returned(mid, order.order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    done = {text(k): int(v) for k, v in (await pipe.hgetall(key)).items()}
                    for sku, qty in wanted.items():
                        item = order.item(sku)
                        if item is None or done.get(sku, 0) + qty > item.quantity:
                            await pipe.reset()
                            return False
                    pipe.multi()
                    for sku, qty in wanted.items():
                        pipe.hincrby(key, sku, qty)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue  # another submit changed the counts: read them again

    async def release(self, mid: str, oid: str, wanted: dict[str, int]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for sku, qty in wanted.items():
                pipe.hincrby(self.keys.order_returned(mid, oid), sku, -qty)
            await pipe.execute()
