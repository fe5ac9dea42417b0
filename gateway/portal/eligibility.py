"""What the return policy allows for each order line: pure, so the page and the submit agree.

The booker checks the policy again when the return is created; this is what the customer is
shown before choosing: eligible until a date, not returnable and why, how many are left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from gateway.portal.config import PortalConfig
from gateway.portal.orders import Order, OrderItem
from gateway.rules.policy import Policy

Why = Literal["", "window", "category", "sku", "all_returned"]


@dataclass(frozen=True)
class Eligibility:
    item: OrderItem
    left: int
    until: date | None
    why: Why
    resolutions: tuple[str, ...]

    @property
    def is_eligible(self) -> bool:
        return not self.why


def window_end(policy: Policy, order: Order) -> datetime | None:
    start = order.delivered_at or (datetime.combine(order.order_date, time(0), UTC) if order.order_date else None)
    if start is None:
        return None
    return start + timedelta(days=policy.window_days + policy.tier_extension_days.get(order.customer_tier or "", 0))


def resolutions_for(item: OrderItem, config: PortalConfig) -> tuple[str, ...]:
    """Keep alone when the item is not worth shipping back; otherwise what the merchant offers."""
    offer = config.resolutions
    if item.category in offer.keep_categories or (
            offer.keep_below_value is not None and item.price <= offer.keep_below_value):
        return ("keep",)
    return tuple(r for r in offer.offered if r != "exchange" or item.variants)


def eligibility(order: Order, returned: dict[str, int], policy: Policy, config: PortalConfig,
                now: datetime) -> list[Eligibility]:
    end = window_end(policy, order)
    out = []
    for item in order.items:
        left = max(0, item.quantity - returned.get(item.sku, 0))
        why: Why = ""
        if item.category in policy.non_returnable_categories:
            why = "category"
        elif item.sku in policy.non_returnable_skus:
            why = "sku"
        elif end is not None and now > end:
            why = "window"
        elif left == 0:
            why = "all_returned"
        out.append(Eligibility(item, left, end.date() if end else None, why, resolutions_for(item, config)))
    return out
