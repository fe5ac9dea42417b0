"""Returns with booked AWBs written straight into Redis, and Delhivery scan pushes for them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis.asyncio as aioredis

from carriers.base import Address, Contact, Item, Parcel
from carriers.clock import SystemClock
from gateway.models import Return, ReturnCreate, Shipment
from gateway.store.keys import Keys
from gateway.store.returns import ReturnStore
from normalizers.machine import ShipmentState

MERCHANT = "mer_bench"
SCANS = [("PP", "Open", "X-UCI"), ("PP", "Scheduled", "FMPUR-101"), ("PP", "Dispatched", "FMOFP-101"),
         ("PU", "In Transit", "EOD-77"), ("PU", "In Transit", "X-IBD3F"), ("PU", "Pending", "X-IBD3F"),
         ("PU", "Dispatched", "X-DDD3FD"), ("DL", "DTO", "EOD-38")]


def awb_of(n: int) -> str:
    return f"149{n:011d}"


async def seed_returns(redis: aioredis.Redis, prefix: str, count: int) -> list[str]:
    store = ReturnStore(redis, Keys(prefix), SystemClock())
    address = Address(line1="12 MG Road", city="Bengaluru", postcode="560001")
    contact = Contact(name="Asha", phone="9800000000")
    body = ReturnCreate(order_id="BENCH-1", customer=contact, pickup_address=address, parcel=Parcel(weight_g=500),
                        items=[Item(sku="S", name="Shoes", price=Decimal(1))])
    now = datetime.now(UTC)
    awbs = []
    for n in range(count):
        awb = awb_of(n)
        ret = Return(id=f"ret_bench{n:07d}", merchant_id=MERCHANT, order_id="BENCH-1", created_at=now,
                     updated_at=now, request=body, drop_address=address, drop_contact=contact,
                     state=ShipmentState.initial(), tracking_token=f"tok{n:029d}",
                     shipment=Shipment(carrier="delhivery", awb=awb, booked_at=now))
        await store.insert(ret)
        await store.index_awb(ret)
        awbs.append(awb)
    return awbs


def scan_push(awb: str, index: int) -> bytes:
    kind, status, nsl = SCANS[index]
    # Delhivery writes IST wall-clock time without an offset.
    at = datetime(2026, 11, 2, 10, 0, tzinfo=UTC).replace(tzinfo=None) + timedelta(hours=6 * index)
    return json.dumps({"Shipment": {"AWB": awb, "NSLCode": nsl, "Status": {
        "Status": status, "StatusType": kind, "StatusDateTime": at.strftime("%Y-%m-%dT%H:%M:%S.000"),
        "StatusLocation": "Bengaluru_Hub (Karnataka)", "Instructions": status}}}).encode()
