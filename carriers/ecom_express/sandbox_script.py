"""The scans Ecom Express's sandbox reveals for a reverse pickup as its clock moves (carriers.md §3.7, §9.3).

Movement codes are Ecom's documented `reason_code_number`s. Ecom's reverse-pickup codes (out
for pickup, pickup not done, pickup cancelled) were not found in any source (carriers.md §10),
so the sandbox uses the placeholders in `PLACEHOLDER_CODES`, mapped in the status map's
"placeholders" block. Replace both with Ecom's real codes once an account's docs give them.
"""

from __future__ import annotations

from datetime import timedelta

from carriers.sandbox import Scenario, Step

OUT_FOR_PICKUP = "99001"
CANCELLED = "99020"
DEFAULT_FAILURE = "99011"
# Placeholder codes (numbers outside every documented range) and the reason text Ecom would print.
PLACEHOLDER_CODES = {
    OUT_FOR_PICKUP: "Out for pickup",
    "99011": "Pickup not done - customer not available",
    "99012": "Pickup not done - customer refused",
    "99013": "Pickup not done - address incorrect/unlocatable",
    "99014": "Pickup not done - customer asked for another date",
    "99015": "Pickup not done - shipment not ready",
    CANCELLED: "Pickup cancelled by client",
}
FAILURE_CODES = ("99011", "99012", "99013", "99014", "99015")
_TEXTS = {
    "0011": "Picked up", "002": "Shipment in-scan", "003": "Bag scanned at DC", "303": "In transit",
    "005": "Shipment in-scan at DC", "006": "Out for delivery", "999": "Delivered",
} | PLACEHOLDER_CODES


def scan(code: str, city: str, location_code: str) -> dict[str, str]:
    """A scan in Ecom's scan_stages words, without its time."""
    text = _TEXTS.get(code, "Pickup not done")
    return {"reason_code_number": code, "reason_code": f"{code} - {text}", "status": text,
            "location_city": city, "location": location_code}


def cancelled(city: str, location_code: str) -> dict[str, str]:
    return scan(CANCELLED, city, location_code)


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


Place = tuple[str, str]  # (city, location code)


def attempt(origin: Place, hub: Place, drop: Place) -> list[Step]:
    """From out for pickup to delivery at the merchant, offsets from the out-for-pickup scan."""
    return [
        Step(_hours(0), scan(OUT_FOR_PICKUP, *origin)),
        Step(_hours(2), scan("0011", *origin)),
        Step(_hours(6), scan("002", *origin)),
        Step(_hours(8), scan("003", *origin)),
        Step(_hours(20), scan("303", *hub)),
        Step(_hours(26), scan("005", *drop)),
        Step(_hours(46), scan("006", *drop)),
        Step(_hours(50), scan("999", *drop)),
    ]


def lifecycle(scenario: Scenario | None, origin: Place, hub: Place, drop: Place) -> list[Step]:
    """The whole script of one booking: the first attempt a day after booking; `pickup_failed`
    fails it with `reason_code` (default 99011, customer not available) and re-attempts the next day."""
    start = _hours(24)
    steps: list[Step] = []
    if scenario is not None and scenario.name == "pickup_failed":
        code = scenario.params.get("reason_code", DEFAULT_FAILURE)
        steps += [Step(start, scan(OUT_FOR_PICKUP, *origin)), Step(start + _hours(2), scan(code, *origin))]
        start += _hours(24)
    return steps + [Step(start + s.after, s.scan) for s in attempt(origin, hub, drop)]
