"""The scans Xpressbees' sandbox reveals for a reverse pickup as its clock moves (codes per carriers.md §4.C)."""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

# Status texts of a pickup not done (PND); the scenario's reason_code is one of these texts.
DEFAULT_FAILURE = "Customer Not Available"
# Codes after which an RTO-notify still cancels the pickup.
CANCELLABLE = frozenset({"DRC", "PUC", "OFP", "PND"})
# Our assumption: XB documents no cancel code for reverse pickups (see README.md).
CANCEL_CODE = "CAN"


def scan(code: str, status: str, location: str, comment: str = "") -> dict[str, str]:
    """A summary scan in Xpressbees' words, without its time."""
    return {"StatusCode": code, "Status": status, "Location": location, "Comment": comment}


def cancelled(location: str) -> dict[str, str]:
    return scan(CANCEL_CODE, "Cancelled", location, "Cancelled by client")


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """From out-for-pickup to delivered at the merchant, offsets from the booking."""
    return [
        Step(_hours(24), scan("OFP", "Out for Pickup", pickup_at)),
        Step(_hours(26), scan("PUD", "Pickup Done", pickup_at)),
        Step(_hours(30), scan("PKD", "Picked", pickup_at)),
        Step(_hours(36), scan("IT", "In Transit", hub_at)),
        Step(_hours(60), scan("RAD", "Reached at Destination", drop_at)),
        Step(_hours(70), scan("OFD", "Out for Delivery", drop_at)),
        Step(_hours(74), scan("DLVD", "Delivered", drop_at)),
    ]


def lifecycle(scenario: Scenario | None, pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """The whole script of one booking: happy, or `pickup_failed` (one failed attempt, then the rest)."""
    steps = [
        Step(_hours(0), scan("DRC", "Data Received", pickup_at)),
        Step(_hours(1), scan("PUC", "Pickup Created", pickup_at)),
    ]
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        reason = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [
            Step(_hours(24), scan("OFP", "Out for Pickup", pickup_at)),
            Step(_hours(26), scan("PND", reason, pickup_at, "Re-attempt scheduled")),
        ]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt(pickup_at, hub_at, drop_at)]
