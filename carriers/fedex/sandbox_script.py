"""The scans FedEx's sandbox reveals for a return as its clock moves (codes per carriers.md §1.9).

A scan is kept in FedEx's words: eventType, derivedStatusCode, exceptionCode and the city; `leg`
says whether it happens at the origin (customer) or the destination (warehouse) end, which
decides the local time zone the sandbox writes it in.
"""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

# A failed pickup is a Pickup Delay (PD) scan carrying an exceptionCode from the delivery-exception
# table: FedEx publishes no separate pickup-exception table [U], so this is our reading (README.md).
FAILED_PICKUP_EVENT = "PD"
FAILURE_TEXTS = {
    "08": "Customer not available or business closed",
    "007": "Customer not available or business closed",
    "07": "Refused by recipient",
    "03": "Incorrect address",
    "083": "Local delivery restriction",
    "17": "A request was made to change this delivery date",
}
DEFAULT_FAILURE = "08"
# Scans after which FedEx still cancels a return shipment (nothing has been picked up).
PRE_PICKUP_EVENTS = frozenset({"OC", "EP", "DS", FAILED_PICKUP_EVENT})


def scan(event: str, description: str, derived: str, city: str, state: str, *, leg: str = "origin",
         exception: str = "", location_type: str = "") -> dict[str, str]:
    """One scanEvent without its time."""
    derived_text = {"IN": "Label created", "PU": "Picked up", "IT": "In transit", "DL": "Delivered",
                    "DY": "Delay", "CA": "Cancelled"}.get(derived, derived)
    return {"eventType": event, "eventDescription": description, "derivedStatusCode": derived,
            "derivedStatus": derived_text, "exceptionCode": exception,
            "exceptionDescription": FAILURE_TEXTS.get(exception, "Pickup not completed") if exception else "",
            "city": city, "state": state, "leg": leg, "locationType": location_type}


def cancelled(city: str, state: str) -> dict[str, str]:
    return scan("CA", "Shipment cancelled by sender", "CA", city, state)


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _attempt(origin: tuple[str, str], dest: tuple[str, str]) -> list[Step]:
    """From enroute-to-pickup to delivered at the warehouse, offsets from the booking."""
    return [
        Step(_hours(24), scan("EP", "Enroute to Pickup", "IN", *origin, location_type="VEHICLE")),
        Step(_hours(26), scan("PU", "Picked up", "PU", *origin, location_type="PICKUP_LOCATION")),
        Step(_hours(30), scan("AR", "Arrived at FedEx location", "IT", "NEWARK", "NJ",
                              location_type="ORIGIN_FEDEX_FACILITY")),
        Step(_hours(34), scan("DP", "Left FedEx origin facility", "IT", "NEWARK", "NJ",
                              location_type="ORIGIN_FEDEX_FACILITY")),
        Step(_hours(48), scan("IT", "On the way", "IT", "HARRISBURG", "PA", location_type="FEDEX_FACILITY")),
        Step(_hours(60), scan("AR", "Arrived at FedEx location", "IT", *dest, leg="destination",
                              location_type="DESTINATION_FEDEX_FACILITY")),
        Step(_hours(70), scan("OD", "On FedEx vehicle for delivery", "IT", *dest, leg="destination",
                              location_type="VEHICLE")),
        Step(_hours(74), scan("DL", "Delivered", "DL", *dest, leg="destination",
                              location_type="DELIVERY_LOCATION")),
    ]


def lifecycle(scenario: Scenario | None, origin: tuple[str, str], dest: tuple[str, str],
              is_drop_off: bool = False) -> list[Step]:
    """The whole script of one booking: happy, or `pickup_failed` (one failed attempt, then the rest).

    A drop-off return (pickupType DROPOFF_AT_FEDEX_LOCATION) has no courier: the customer drops the
    parcel off ("DO") instead of the enroute and pickup scans.
    """
    steps = [Step(_hours(0), scan("OC", "Shipment information sent to FedEx", "IN", *origin))]
    if is_drop_off:
        dropped = Step(_hours(26), scan("DO", "Dropped off", "PU", *origin, location_type="FEDEX_OFFICE"))
        return [*steps, dropped, *_attempt(origin, dest)[2:]]
    delay = _hours(0)
    if scenario is not None and scenario.name == "pickup_failed":
        code = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [
            Step(_hours(24), scan("EP", "Enroute to Pickup", "IN", *origin, location_type="VEHICLE")),
            Step(_hours(26), scan(FAILED_PICKUP_EVENT, "Pickup delay", "DY", *origin, exception=code,
                                  location_type="PICKUP_LOCATION")),
        ]
        delay = _hours(24)
    return steps + [Step(s.after + delay, s.scan) for s in _attempt(origin, dest)]
