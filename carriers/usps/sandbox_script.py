"""The events USPS's sandbox reveals for a return label as its clock moves (Pub 199 codes, carriers.md §4C).

USPS documents no pickup-leg events; the sandbox uses OF (carrier on the route) and the attempt/notice
codes before the first acceptance (03) for the pickup attempt, as `wire_tracking.py` reads them [U].
"""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

EVENT_TYPES = {
    "GX": "Shipping Label Created, USPS Awaiting Item",
    "OF": "Out for Delivery",
    "03": "USPS picked up item",
    "10": "Arrived at USPS Regional Origin Facility",
    "T1": "Departed USPS Regional Facility",
    "A1": "Arrived at USPS Regional Facility",
    "07": "Arrived at Post Office",
    "01": "Delivered",
    "02": "Notice Left",
    "52": "Notice Left",
    "56": "No Authorized Recipient Available",
    "51": "Business Closed",
    "53": "Receptacle Blocked",
    "54": "Receptacle Full / Item Oversized",
    "55": "No Secure Location Available",
    "30": "Delivery Attempted - No Access to Delivery Location",
    "04": "Refused",
    "05": "Undeliverable as Addressed",
    "44": "Customer Recall",
}
DEFAULT_FAILURE = "56"


def scan(code: str, where: str) -> dict[str, str]:
    """An event in USPS words, without its time; `where` is origin (consumer) or destination (warehouse)."""
    return {"eventCode": code, "eventType": EVENT_TYPES.get(code, "Pickup attempted"), "where": where}


def cancelled() -> dict[str, str]:
    return scan("44", "origin")


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt() -> list[Step]:
    """From the carrier on the route to delivered at the warehouse, offsets from the booking."""
    return [
        Step(_hours(24), scan("OF", "origin")),
        Step(_hours(26), scan("03", "origin")),
        Step(_hours(30), scan("10", "origin")),
        Step(_hours(40), scan("T1", "origin")),
        Step(_hours(56), scan("A1", "destination")),
        Step(_hours(62), scan("07", "destination")),
        Step(_hours(70), scan("OF", "destination")),
        Step(_hours(74), scan("01", "destination")),
    ]


def dropped_off(steps: list[Step]) -> list[Step]:
    """The script of a label without a Carrier Pickup: no carrier on the route at the customer's end;
    the Post Office's acceptance (03, "Accept or Pickup", carriers.md §4C) comes where the pickup was."""
    return [s for s in steps if not (s.scan["eventCode"] == "OF" and s.scan["where"] == "origin")]


def lifecycle(scenario: Scenario | None) -> list[Step]:
    """The script of one return: happy, or `pickup_failed` (one failed attempt, then the rest a day later)."""
    steps = [Step(_hours(0), scan("GX", "origin"))]
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        code = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [Step(_hours(24), scan("OF", "origin")), Step(_hours(26), scan(code, "origin"))]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt()]
