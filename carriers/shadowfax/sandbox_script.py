"""The status ids Shadowfax's sandbox reveals for a reverse pickup as its clock moves (carriers.md §5.7)."""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

# Display texts for the pickup-failure status ids; any other id gets a generic text.
FAILURE_TEXTS = {
    "seller_not_contactable": "Customer Not Contactable",
    "pickup_not_attempted": "Pickup Not Attempted",
    "seller_initiated_delay": "Customer Initiated Delay",
}
# No documented id says "customer not available" for a pickup; not contactable is the closest.
DEFAULT_FAILURE = "seller_not_contactable"
CANCELLABLE = frozenset({"new", "assigned_for_pickup", "ofp", *FAILURE_TEXTS})
CANCELLED = frozenset({"cancelled_by_seller", "cancelled_by_customer"})


def scan(status_id: str, status: str, location: str, remarks: str = "") -> dict[str, str]:
    """A tracking detail in Shadowfax's words, without its time."""
    return {"status_id": status_id, "status": status, "location": location, "remarks": remarks}


def cancelled(location: str, remarks: str) -> dict[str, str]:
    return scan("cancelled_by_seller", "Cancelled By Seller", location, remarks)


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """From out-for-pickup to delivered at the seller, offsets from the booking."""
    return [
        Step(_hours(24), scan("ofp", "Out For Pickup", pickup_at)),
        Step(_hours(26), scan("picked", "Picked", pickup_at)),
        Step(_hours(30), scan("sent_to_rev", "Sent To Reverse Hub", pickup_at)),
        Step(_hours(36), scan("recd_at_rev_hub", "Received At Reverse Hub", hub_at)),
        Step(_hours(44), scan("bag_in_transit", "Bag In Transit", hub_at)),
        Step(_hours(60), scan("bag_received", "Bag Received", drop_at)),
        Step(_hours(66), scan("assigned_for_delivery", "Assigned For Delivery", drop_at)),
        Step(_hours(70), scan("ofd", "Out For Delivery", drop_at)),
        Step(_hours(74), scan("delivered", "Delivered", drop_at, "Delivered to seller")),
    ]


def lifecycle(scenario: Scenario | None, pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """The whole script of one request: happy, or `pickup_failed` (one failed attempt, then the rest)."""
    steps = [
        Step(_hours(0), scan("new", "New", pickup_at)),
        Step(_hours(1), scan("assigned_for_pickup", "Assigned For Pickup", pickup_at)),
    ]
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        status_id = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [
            Step(_hours(24), scan("ofp", "Out For Pickup", pickup_at)),
            Step(_hours(26), scan(status_id, FAILURE_TEXTS.get(status_id, "Pickup Failed"), pickup_at,
                                  "Will re-attempt tomorrow")),
        ]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt(pickup_at, hub_at, drop_at)]
