"""How a return reaches the carrier: a pickup on a day the carrier serves, or a drop-off.

The booker asks here before it books. A drop-off return may only go to carriers whose
capabilities say `drop_off` (they book a return label without a courier); a pickup date is
moved to the carrier's next valid day when the carrier that books it (after a failover, or for
an address the customer edited) does not pick up on the day asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime

from carriers.base import CarrierAdapter
from gateway.models import Merchant, ReturnCreate
from gateway.pages.i18n import choose_time_zone
from gateway.problems import Problem
from gateway.rules.decision import Decision, Excluded
from gateway.rules.pickup_calendar import PickupCalendar

NO_DROP_OFF = "no_drop_off"


def is_drop_off(body: ReturnCreate) -> bool:
    return body.fulfilment == "drop_off"


def offers_drop_off(adapters: Mapping[str, CarrierAdapter], code: str | None) -> bool:
    adapter = adapters.get(code or "")
    return adapter is not None and adapter.capabilities.drop_off


def check(body: ReturnCreate, adapters: Mapping[str, CarrierAdapter]) -> None:
    """Refuse a drop-off the request itself rules out. Raises: Problem 422 naming the field."""
    if not is_drop_off(body):
        return
    if body.pickup_date is not None:
        raise _invalid("pickup_date", "not used with fulfilment drop_off (nobody comes to pick up)", "extra")
    if body.carrier is not None and body.carrier in adapters and not offers_drop_off(adapters, body.carrier):
        raise _invalid("fulfilment", f"{body.carrier} does not offer drop-off; use pickup or another carrier",
                       "enum")


def only_drop_off(decision: Decision, adapters: Mapping[str, CarrierAdapter]) -> Decision:
    """The decision without the ranked carriers that cannot book a drop-off."""
    unable = [s.carrier for s in decision.ranked if not offers_drop_off(adapters, s.carrier)]
    if not unable:
        return decision
    ranked = tuple(s for s in decision.ranked if s.carrier not in unable)
    excluded = decision.excluded + tuple(Excluded(c, NO_DROP_OFF, "does not book drop-off return labels")
                                         for c in unable)
    return dataclasses.replace(decision, ranked=ranked, excluded=excluded)


def drop_off_unavailable(decision: Decision) -> Problem:
    """No carrier that serves this lane takes drop-offs (carriers that serve it only by pickup were left out)."""
    return Problem(422, "drop-off-unavailable", "No carrier serving this address offers drop-off",
                   "fulfilment: none of the carriers serving this pickup address books drop-off returns",
                   [{"field": "fulfilment", "message": "drop-off not offered here", "type": "lane"}],
                   excluded=[{"carrier": e.carrier, "reason": e.reason, "detail": e.detail}
                             for e in decision.excluded])


def pickup_day(calendar: PickupCalendar, code: str, body: ReturnCreate, merchant: Merchant,
               now: datetime) -> date | None:
    """The day to ask `code` for: none for a drop-off, else the asked day if `code` serves it, else its next."""
    if is_drop_off(body):
        return None
    country = body.pickup_address.country
    local = now.astimezone(choose_time_zone(None, country, merchant.time_zone))
    return calendar.fit(code, body.pickup_date, local, country) if body.pickup_date else None


def _invalid(field: str, message: str, kind: str) -> Problem:
    return Problem(422, "validation-error", "The request body is not valid", f"{field}: {message}",
                   [{"field": field, "message": message, "type": kind}])
