"""The checkpoints DHL's sandbox reveals for a return as its clock moves (Express typeCodes, carriers.md §3C).

DHL documents no pickup-leg checkpoints; the sandbox uses WC (courier on the way) and the
delivery-exception codes before the first PU for the pickup attempt, as `wire_tracking.py` reads them [U].
"""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

DESCRIPTIONS = {
    "WC": "With delivering courier",
    "PU": "Shipment picked up",
    "PL": "Processed at location",
    "DF": "Departed Facility",
    "AF": "Arrived at DHL Sort Facility",
    "AR": "Arrived at DHL Delivery Facility",
    "OK": "Delivered",
    "NH": "Not home - customer not available",
    "CA": "Closed on arrival",
    "BA": "Bad address",
    "CM": "Customer moved",
    "RD": "Refused by customer",
    "ND": "Not delivered",
    "SS": "Shipment stopped",
}
DEFAULT_FAILURE = "NH"
# The Unified API's coarse statusCode for each checkpoint, as the push carries it.
UNIFIED_STATUS = {"WC": "transit", "PU": "transit", "PL": "transit", "DF": "transit", "AF": "transit",
                  "AR": "transit", "OK": "delivered"}
PICKUP_UNIFIED_STATUS = "pre-transit"


def scan(code: str, where: str, area: str) -> dict[str, str]:
    """A checkpoint in MyDHL words, without its time; `where` picks the time zone (origin/destination)."""
    return {"typeCode": code, "description": DESCRIPTIONS.get(code, "Pickup attempt failed"), "where": where,
            "area": area}


def cancelled() -> dict[str, str]:
    return scan("SS", "origin", "")


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(origin: str, destination: str) -> list[Step]:
    """From the courier on the way to delivered at the warehouse, offsets from the booking."""
    return [
        Step(_hours(24), scan("WC", "origin", origin)),
        Step(_hours(26), scan("PU", "origin", origin)),
        Step(_hours(30), scan("PL", "origin", origin)),
        Step(_hours(32), scan("DF", "origin", origin)),
        Step(_hours(48), scan("AF", "destination", destination)),
        Step(_hours(60), scan("AR", "destination", destination)),
        Step(_hours(70), scan("WC", "destination", destination)),
        Step(_hours(74), scan("OK", "destination", destination)),
    ]


def lifecycle(scenario: Scenario | None, origin: str, destination: str, is_drop_off: bool = False) -> list[Step]:
    """The script of one return: happy, or `pickup_failed` (one failed attempt, then the rest a day later).

    A drop-off (no `pickup.isRequested`) has no courier on the way: its first checkpoint is the PU of the
    parcel handed in at a Service Point (DHL documents no separate drop-off code [U]).
    """
    if is_drop_off:
        return _attempt(origin, destination)[1:]
    steps: list[Step] = []
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        code = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [Step(_hours(24), scan("WC", "origin", origin)), Step(_hours(26), scan(code, "origin", origin))]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt(origin, destination)]


def rescheduled(origin: str, destination: str) -> list[Step]:
    """The script after a pickup is moved, offsets from the moment it was moved."""
    return [Step(s.after - _hours(20), s.scan) for s in _attempt(origin, destination)]
