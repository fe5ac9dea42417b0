"""What the rules look at about one return, computed once per decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from carriers.base import Address, Item, Parcel
from gateway.rules.serviceability import pin_index
from gateway.rules.zones import area_of, zone_of


@dataclass(frozen=True, slots=True)
class Facts:
    pickup_country: str
    pickup_pin: str
    drop_country: str
    drop_pin: str
    zone: str
    area: str
    weight_g: int
    longest_side_cm: float
    order_value: float
    categories: frozenset[str]
    skus: frozenset[str]
    customer_tier: str
    weekday: int
    minute: int
    needs_qc: bool
    now_s: float
    pickup_slot: int | None = None  # the PINs' places in the serviceability bitmaps
    drop_slot: int | None = None


def facts_of(pickup: Address, drop: Address, parcel: Parcel, items: list[Item] | tuple[Item, ...],
             customer_tier: str | None, now: datetime, tz: tzinfo, needs_qc: bool = False) -> Facts:
    """The facts of one return; `now` is read in the merchant's time zone for day and time rules."""
    local = now.astimezone(tz)
    return Facts(
        pickup_country=pickup.country, pickup_pin=pickup.postcode, drop_country=drop.country,
        drop_pin=drop.postcode, zone=zone_of(pickup.country, pickup.postcode, drop.country, drop.postcode),
        area=area_of(pickup.country, pickup.postcode), weight_g=parcel.chargeable_weight_g,
        longest_side_cm=max(parcel.length_cm, parcel.width_cm, parcel.height_cm),
        order_value=float(sum(i.price * i.quantity for i in items)),
        categories=frozenset(i.category for i in items), skus=frozenset(i.sku for i in items),
        customer_tier=customer_tier or "", weekday=local.weekday(), minute=local.hour * 60 + local.minute,
        needs_qc=needs_qc or any(i.qc is not None for i in items), now_s=now.timestamp(),
        pickup_slot=pin_index(pickup.postcode) if pickup.country == "IN" else None,
        drop_slot=pin_index(drop.postcode) if drop.country == "IN" else None)
