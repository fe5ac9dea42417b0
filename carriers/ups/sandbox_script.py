"""The activities UPS's sandbox reveals for a return as its clock moves (codes per carriers.md §2.8).

An activity is kept in UPS's words: status type, 2-character code, 3-digit status description
code and description; `leg` says whether it happens at the customer's or the warehouse's end,
which decides the local time zone the sandbox writes it in.
"""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

# A failed pickup: an X activity with statusCode 065 "Pickup Attempted" and an exception code.
PICKUP_ATTEMPTED = "065"
FAILURE_TEXTS = {
    "48": "The receiver was not available for pickup. A second attempt will be made the next business day.",
    "55": "The business was closed at the time of the pickup attempt.",
    "G4": "The package was not ready for pickup. A second attempt will be made the next business day.",
    "KT": "The customer refused to release the package.",
    "AG": "The address is incomplete.",
    "95": "Security access is required.",
    "VI": "Unable to contact the customer at the primary number.",
}
DEFAULT_FAILURE = "48"
# Types after which UPS still voids a shipment: nothing has been picked up yet.
PRE_PICKUP = frozenset({("M", "MP"), ("I", "SP")})


def activity(kind: str, code: str, status_code: str, description: str, city: str, state: str,
             *, leg: str = "origin") -> dict[str, str]:
    """One activity without its time."""
    return {"type": kind, "code": code, "statusCode": status_code, "description": description,
            "city": city, "state": state, "leg": leg}


def voided(city: str, state: str) -> dict[str, str]:
    return activity("MV", "VP", "007", "Shipment Information Voided", city, state)


def is_pre_pickup(scan: dict[str, str]) -> bool:
    """Whether UPS still holds nothing: label made, pickup due, or a pickup attempt failed."""
    is_failed_attempt = scan["type"] == "X" and scan["statusCode"] == PICKUP_ATTEMPTED
    return (scan["type"], scan["code"]) in PRE_PICKUP or is_failed_attempt


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(origin: tuple[str, str], dest: tuple[str, str]) -> list[Step]:
    """From the day of pickup to delivered at the warehouse, offsets from the booking."""
    return [
        Step(_hours(24), activity("I", "SP", "077", "Scheduled for Pickup Today", *origin)),
        Step(_hours(26), activity("I", "PU", "038", "Pickup Scan", *origin)),
        Step(_hours(30), activity("I", "AR", "005", "Arrived at Facility", "Secaucus", "NJ")),
        Step(_hours(34), activity("I", "DP", "005", "Departed from Facility", "Secaucus", "NJ")),
        Step(_hours(60), activity("I", "AR", "005", "Arrived at Facility", *dest, leg="destination")),
        Step(_hours(68), activity("I", "DS", "005", "Destination Scan", *dest, leg="destination")),
        Step(_hours(70), activity("I", "OT", "021", "Out For Delivery Today", *dest, leg="destination")),
        Step(_hours(74), activity("D", "FS", "011", "Delivered", *dest, leg="destination")),
    ]


def dropped_off(steps: list[Step]) -> list[Step]:
    """The script of a shipment no pickup was asked for: no courier scans, the customer drops it off.

    The parcel shows up where the pickup scan would have been, as "Dropped off at Access Point"
    (type I, code XD, statusCode 169; carriers.md §2.8).
    """
    out = []
    for step in steps:
        kind, code = step.scan["type"], step.scan["code"]
        if (kind, code) == ("I", "SP"):
            continue
        if (kind, code) == ("I", "PU"):
            step = Step(step.after, activity("I", "XD", "169", "Dropped off at Access Point",
                                             step.scan["city"], step.scan["state"]))
        out.append(step)
    return out


def lifecycle(scenario: Scenario | None, origin: tuple[str, str], dest: tuple[str, str]) -> list[Step]:
    """The whole script of one booking: happy, or `pickup_failed` (one failed attempt, then the rest)."""
    label_made = "Shipper created a label, UPS has not received the package yet."
    steps = [Step(_hours(0), activity("M", "MP", "003", label_made, *origin))]
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        code = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [
            Step(_hours(24), activity("I", "SP", "077", "Scheduled for Pickup Today", *origin)),
            Step(_hours(26), activity("X", code, PICKUP_ATTEMPTED, FAILURE_TEXTS.get(code, "Pickup Attempted"),
                                      *origin)),
        ]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt(origin, dest)]
