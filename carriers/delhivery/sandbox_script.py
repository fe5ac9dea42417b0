"""The scans Delhivery's sandbox reveals for an RVP as its clock moves (codes per carriers.md §1.8/1.9)."""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

# Texts the sandbox writes for a failed pickup attempt; any other code gets a generic text.
FAILURE_TEXTS = {
    "EOD-11": "Consignee Unavailable",
    "EOD-74": "Bad/Incomplete Address and contact details",
    "EOD-43": "Customer not reachable",
    "EOD-6": "Consignee refused to hand over the shipment",
    "FMEOD-103": "Shipper closed",
    "FMEOD-106": "Pickup not attempted",
    "FMEOD-118": "Customer cancelled the order",
    "FMEOD-152": "Shipment not ready - partial pickup",
}
DEFAULT_FAILURE = "EOD-11"
# NSLs after which Delhivery accepts PICKUP_RESCHEDULE on a Canceled RVP.
RESCHEDULABLE_CANCELS = frozenset({"EOD-777", "EOD-21"})


def scan(status: str, scan_type: str, nsl: str, instructions: str, location: str = "") -> dict[str, str]:
    """A scan in Delhivery's ScanDetail words, without its time."""
    return {"Scan": status, "ScanType": scan_type, "StatusCode": nsl, "Instructions": instructions,
            "ScannedLocation": location}


def cancelled(location: str) -> dict[str, str]:
    return scan("Canceled", "CN", "CL-102", "Cancelled as per client instructions", location)


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """From out-for-pickup to delivered at the merchant, offsets from the booking."""
    return [
        Step(_hours(24), scan("Dispatched", "PP", "FMOFP-101", "Out for Pickup", pickup_at)),
        Step(_hours(26), scan("In Transit", "PU", "EOD-77", "Pickup completed", pickup_at)),
        Step(_hours(36), scan("In Transit", "PU", "X-IBD3F", "Shipment received at facility", hub_at)),
        Step(_hours(60), scan("Pending", "PU", "X-IBD3F", "Shipment received at return centre", drop_at)),
        Step(_hours(70), scan("Dispatched", "PU", "X-DDD3FD", "Out for delivery to client", drop_at)),
        Step(_hours(74), scan("DTO", "DL", "EOD-38", "Delivered to client", drop_at)),
    ]


def lifecycle(scenario: Scenario | None, pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """The whole script of one booking: happy, or `pickup_failed` (one failed attempt, then the rest)."""
    steps = [
        Step(_hours(0), scan("Open", "PP", "X-UCI", "Manifest uploaded", pickup_at)),
        Step(_hours(1), scan("Scheduled", "PP", "FMPUR-101", "Pickup scheduled", pickup_at)),
    ]
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        code = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [
            Step(_hours(24), scan("Dispatched", "PP", "FMOFP-101", "Out for Pickup", pickup_at)),
            Step(_hours(26), scan("Scheduled", "PP", code, FAILURE_TEXTS.get(code, "Pickup attempt failed"),
                                  pickup_at)),
        ]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt(pickup_at, hub_at, drop_at)]


def rescheduled(pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """The script after PICKUP_RESCHEDULE, offsets from the moment it was accepted."""
    return [Step(_hours(0), scan("Scheduled", "PP", "FMPUR-101", "Pickup scheduled", pickup_at)),
            *_attempt(pickup_at, hub_at, drop_at)]
