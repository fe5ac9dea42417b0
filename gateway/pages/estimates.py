"""Expected pickup and arrival dates, as the page promises them (estimates, said to be so).

Indian couriers pick up and deliver Monday to Saturday, so Sundays are skipped. A pickup
the customer asked for is read back from Backhaul's own reschedule event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.models import Return
from normalizers.taxonomy import Status, TrackingEvent

CUSTOMER_RESCHEDULE = "backhaul/customer_reschedule"
CUSTOMER_CONTACT = "backhaul/customer_contact_update"
CUSTOMER_CANCEL = "backhaul/customer_cancel"
TRANSIT_WORKING_DAYS = 4
RESCHEDULE_CHOICES = 5
_SUNDAY = 6


def working_days_after(start: date, count: int) -> list[date]:
    """The next `count` working days after `start` (not counting `start`)."""
    days: list[date] = []
    current = start
    while len(days) < count:
        current += timedelta(days=1)
        if current.weekday() != _SUNDAY:
            days.append(current)
    return days


def requested_pickup(events: Sequence[TrackingEvent]) -> date | None:
    """The date of the customer's latest reschedule request, if any."""
    for event in sorted(events, key=lambda e: e.occurred_at, reverse=True):
        if event.raw_code == CUSTOMER_RESCHEDULE and event.remarks:
            try:
                return date.fromisoformat(event.remarks)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class Expected:
    """What the page shows as expected (or actual) pickup and arrival days."""

    pickup: date | None
    arrival: date | None
    has_arrived: bool


def expected(ret: Return, events: Sequence[TrackingEvent], today: date) -> Expected:
    """Estimates from the state; `today` is in the customer's time zone."""
    state = ret.state
    if state.status is Status.CANCELLED or state.status is Status.RETURNED_TO_SENDER:
        return Expected(None, None, False)
    if state.delivered_at is not None:
        return Expected(None, state.delivered_at.date(), True)
    pickup: date | None = None
    if state.picked_up_at is not None:
        base = state.picked_up_at.date()
    else:
        booked = ret.shipment.pickup_date if ret.shipment else None
        pickup = requested_pickup(events) or booked or (ret.request.pickup_date if ret.request else None)
        if state.status is Status.OUT_FOR_PICKUP:
            pickup = today
        elif pickup is None or pickup < today:
            pickup = working_days_after(today, 1)[0]
        base = pickup
    return Expected(pickup, working_days_after(base, TRANSIT_WORKING_DAYS)[-1], False)
