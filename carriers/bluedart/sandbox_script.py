"""The scans Blue Dart's sandbox reveals for a reverse pickup as its clock moves (carriers.md §2.6, §9.2).

Scan keys are Blue Dart's (ScanGroupType, ScanCode, ScanType). While the pickup is under way
the scan type is `PICKUP_LEG` ("PU"); after it, "UD" until delivery ("DL"). That the pickup
outscan (S-002) and failed attempts carry "PU" is our reading of a thin source: see README.md.
"""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

PICKUP_LEG = "PU"
IN_PROCESS = "UD"
CLOSED = "DL"
# Texts Blue Dart prints for the T-group codes the sandbox can use for a failed pickup attempt.
FAILURE_TEXTS = {
    "013": "CONSIGNEE NOT AVAILABLE",
    "175": "CONSIGNEE NOT AVAILABLE",
    "003": "RESIDENCE/OFFICE CLOSED;CANT DELIVER",
    "008": "ADDRESS UNLOCATABLE",
    "009": "ADDRESS INCOMPLETE",
    "011": "CONSIGNEE REFUSED TO ACCEPT",
    "001": "CUSTOMER ASKED FOR FUTURE DELIVERY",
    "020": "CONSIGNEE OUT OF STATION",
}
DEFAULT_FAILURE = "013"


def scan(group: str, code: str, scan_type: str, text: str, location: str, location_code: str) -> dict[str, str]:
    """A scan in Blue Dart's ScanDetail words, without its date and time."""
    return {"ScanGroupType": group, "ScanCode": code, "ScanType": scan_type, "Scan": text,
            "ScannedLocation": location, "ScannedLocationCode": location_code}


def cancelled(location: str, location_code: str) -> dict[str, str]:
    return scan("T", "098", CLOSED, "TCL PICKUP CANCELLED", location, location_code)


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def attempt(origin: tuple[str, str], hub: tuple[str, str], drop: tuple[str, str]) -> list[Step]:
    """From the pickup outscan to delivery at the merchant, offsets from the outscan."""
    return [
        Step(_hours(0), scan("S", "002", PICKUP_LEG, "SHIPMENT OUTSCAN", *origin)),
        Step(_hours(2), scan("S", "015", PICKUP_LEG, "PICK UP SCAN ON FIELD", *origin)),
        Step(_hours(6), scan("S", "001", IN_PROCESS, "SHIPMENT INSCAN", *origin)),
        Step(_hours(8), scan("S", "003", IN_PROCESS, "OUTSCANNED TO NETWORK", *origin)),
        Step(_hours(20), scan("S", "011", IN_PROCESS, "TRANSIT CONNECTION", *hub)),
        Step(_hours(26), scan("S", "027", IN_PROCESS, "LOAD ARRIVED AT DELIVERY LOC", *drop)),
        Step(_hours(27), scan("S", "001", IN_PROCESS, "SHIPMENT INSCAN", *drop)),
        Step(_hours(46), scan("S", "002", IN_PROCESS, "SHIPMENT OUTSCAN", *drop)),
        Step(_hours(50), scan("T", "000", CLOSED, "SHIPMENT DELIVERED", *drop)),
    ]


def failed_attempt(origin: tuple[str, str], code: str) -> list[Step]:
    """An outscan for pickup and the T-group code the courier came back with, offsets from the outscan."""
    return [
        Step(_hours(0), scan("S", "002", PICKUP_LEG, "SHIPMENT OUTSCAN", *origin)),
        Step(_hours(2), scan("T", code, PICKUP_LEG, FAILURE_TEXTS.get(code, "PICKUP NOT DONE"), *origin)),
    ]


def lifecycle(scenario: Scenario | None, origin: tuple[str, str], hub: tuple[str, str],
              drop: tuple[str, str]) -> list[Step]:
    """The whole script of one booking: the first attempt a day after booking; `pickup_failed`
    fails it with `reason_code` (default T-013) and re-attempts the next day."""
    start = _hours(24)
    steps: list[Step] = []
    if scenario is not None and scenario.name == "pickup_failed":
        code = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [Step(start + s.after, s.scan) for s in failed_attempt(origin, code)]
        start += _hours(24)
    return steps + [Step(start + s.after, s.scan) for s in attempt(origin, hub, drop)]


def rescheduled(delay: timedelta, origin: tuple[str, str], hub: tuple[str, str],
                drop: tuple[str, str]) -> list[Step]:
    """The script after RegisterPickup for a new date, `delay` after the registration."""
    return [Step(delay + s.after, s.scan) for s in attempt(origin, hub, drop)]
