"""The actions DTDC's sandbox reveals for a reverse pickup as its clock moves (codes per carriers.md §6.5).

Forward codes (BKD, OBMD, CDOUT, CDIN, inscan, OUTDLV, DLV) are DTDC's documented ones; the
pickup codes are the guessed ones kept in `wire.py` (see README.md).
"""

from __future__ import annotations

from datetime import timedelta

from carriers.dtdc import wire
from carriers.sandbox import Scenario, Step

# DTDC's customer-unavailable remark, written as DTDC writes it (with its CIR suffix).
DEFAULT_FAILURE = "PARTY NOT AVAILABLE-(CIR)"
# Before any of these the consignment is still with the customer and may be cancelled.
CANCELLABLE = frozenset({"BKD", wire.PICKUP_SCHEDULED, wire.OUT_FOR_PICKUP, wire.PICKUP_NOT_DONE})


def action(code: str, text: str, origin: str, destination: str = "", remarks: str = "") -> dict[str, str]:
    """One trackDetails entry in DTDC's words, without its date and time."""
    return {"strCode": code, "strAction": text, "strManifestNo": "", "strOrigin": origin,
            "strDestination": destination, "sTrRemarks": remarks}


def cancelled(origin: str) -> dict[str, str]:
    return action(wire.CANCELLED, "Cancelled", origin, remarks="CANCELLED AS PER CUSTOMER REQUEST")


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """From out-for-pickup to delivered at the merchant, offsets from the booking."""
    return [
        Step(_hours(24), action(wire.OUT_FOR_PICKUP, "Out For Pickup", pickup_at)),
        Step(_hours(26), action(wire.PICKED_UP, "Picked Up", pickup_at)),
        Step(_hours(30), action("OBMD", "In Transit", pickup_at, hub_at)),
        Step(_hours(36), action("CDOUT", "In Transit", pickup_at, hub_at)),
        Step(_hours(48), action("CDIN", "In Transit", hub_at, drop_at)),
        Step(_hours(60), action("inscan", "Recieved At Destination", drop_at, drop_at)),
        Step(_hours(70), action("OUTDLV", "Out For Delivery", drop_at)),
        Step(_hours(74), action("DLV", "Delivered", drop_at, remarks="SIGN")),
    ]


def lifecycle(scenario: Scenario | None, pickup_at: str, hub_at: str, drop_at: str) -> list[Step]:
    """The whole script of one booking: happy, or `pickup_failed` (one failed attempt, then the rest)."""
    steps = [
        Step(_hours(0), action("BKD", "Booked", pickup_at)),
        Step(_hours(1), action(wire.PICKUP_SCHEDULED, "Pickup Scheduled", pickup_at)),
    ]
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        remark = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [
            Step(_hours(24), action(wire.OUT_FOR_PICKUP, "Out For Pickup", pickup_at)),
            Step(_hours(26), action(wire.PICKUP_NOT_DONE, "Pickup Not Done", pickup_at, remarks=remark)),
        ]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt(pickup_at, hub_at, drop_at)]
