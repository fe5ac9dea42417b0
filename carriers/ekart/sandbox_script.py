"""The statuses Ekart's sandbox reveals for a reverse pickup as its clock moves (swift_status, carriers.md §7.4)."""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

# Ekart's customer-unavailable non-pickup reason (a swift_ndr_status).
DEFAULT_FAILURE = "Customer Unavailable"
# Still with the customer: Ekart may cancel the pickup.
CANCELLABLE = frozenset({"Order Placed", "Pickup Pending", "Pickup Scheduled", "Out for Pickup", "Not Picked"})
# Statuses after which Ekart offers the NDR actions (Re-Attempt, RTO).
NDR_STATUSES = frozenset({"Not Picked", "Undelivered"})
CANCELLED = "Pickup Cancelled"


def scan(status: str, desc: str, location: str, ndr_status: str = "") -> dict[str, str]:
    """One `track.details` entry in Ekart's words, without its time."""
    return {"status": status, "desc": desc, "location": location, "ndrStatus": ndr_status}


def cancelled(location: str) -> dict[str, str]:
    return scan(CANCELLED, "Pickup cancelled by seller", location)


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(pickup_at: str, hub_at: str, drop_at: str, start_h: float = 24) -> list[Step]:
    """From out-for-pickup to delivered at the merchant, offsets from `start_h` hours after booking."""
    offsets = [
        (0, scan("Out for Pickup", "Field executive is out for pickup", pickup_at)),
        (2, scan("Picked Up", "Shipment picked up from customer", pickup_at)),
        (12, scan("In Transit", "Shipment received at hub", hub_at)),
        (36, scan("In Transit", "Shipment received at destination hub", drop_at)),
        (46, scan("Out for Delivery", "Shipment out for delivery to seller", drop_at)),
        (50, scan("Delivered", "Delivered to seller", drop_at)),
    ]
    return [Step(_hours(start_h + h), s) for h, s in offsets]


def lifecycle(scenario: Scenario | None, pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """The whole script of one booking: happy, or `pickup_failed` (one failed attempt, then the rest)."""
    steps = [
        Step(_hours(0), scan("Order Placed", "Shipment created", pickup_at)),
        Step(_hours(1), scan("Pickup Scheduled", "Pickup scheduled", pickup_at)),
    ]
    start_h = 24.0
    if scenario is not None and scenario.name == "pickup_failed":
        reason = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [
            Step(_hours(24), scan("Out for Pickup", "Field executive is out for pickup", pickup_at)),
            Step(_hours(26), scan("Not Picked", "Pickup attempt failed", pickup_at, reason)),
        ]
        start_h = 48.0
    return steps + _attempt(pickup_at, hub_at, drop_at, start_h)


def reattempt(pickup_at: str, hub_at: str, drop_at: str, hours_ahead: float) -> list[Step]:
    """The script after an accepted Re-Attempt, offsets from the moment it was accepted."""
    return [Step(_hours(0), scan("Pickup Scheduled", "Pickup rescheduled", pickup_at)),
            *_attempt(pickup_at, hub_at, drop_at, hours_ahead)]
