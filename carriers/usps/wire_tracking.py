"""USPS's tracking wire: `GET /tracking/v3/tracking/{n}?expand=DETAIL` answers into events.

Which fields fill a `CarrierEvent` (the status map matches on them): `code` = `trackingEvents[].eventCode`
(Pub 199 App. G-4); `code_type` = "pickup" for events before the item was accepted (see
`PICKUP_LEG_CODES`), "" after. An event without an eventCode gets `code_type` "event" and its
`eventType` text as code, so it stays unknown and alerts. Pure: bytes in, events out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from carriers.base import CarrierEvent
from carriers.errors import CarrierResponseInvalid
from carriers.usps.wire import CARRIER, load_object

PICKUP_LEG = "pickup"
NO_CODE = "event"
# Codes that can show while the carrier is still trying to collect a return: label created, the carrier
# on the route, and the attempt/notice codes. USPS documents no pickup-leg codes, so until the first
# other event (an acceptance such as 03) these read as the pickup attempt [U].
PICKUP_LEG_CODES = frozenset({"GX", "MA", "OF", "02", "04", "05", "21", "22", "23", "25", "26", "30", "44", "51",
                              "52", "53", "54", "55", "56"})


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every event of one tracked item, oldest first; an unknown number (error envelope) yields []."""
    body = load_object(raw, "tracking response")
    if "trackingNumber" not in body and isinstance(body.get("error"), dict):
        return []
    awb = body.get("trackingNumber")
    if not awb:
        raise CarrierResponseInvalid(CARRIER, "tracking response without trackingNumber")
    events = body.get("trackingEvents") or []
    if not isinstance(events, list):
        raise CarrierResponseInvalid(CARRIER, "trackingEvents is not a list")
    # USPS lists newest first; put them in the order they happened.
    found = sorted((_event(str(awb), _object(e)) for e in events), key=lambda e: e.occurred_at)
    return _with_legs(found)


def parse_event_time(local: object, offset: object, gmt: object) -> datetime:
    """`eventTimestamp` (local) with `GMTOffset`, else `GMTTimestamp` (UTC), as an aware datetime."""
    try:
        if isinstance(local, str) and local and isinstance(offset, str) and offset:
            return datetime.fromisoformat(local + offset)
        if isinstance(gmt, str) and gmt:
            moment = datetime.fromisoformat(gmt.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad event time {local!r}{offset!r}/{gmt!r}") from exc
    raise CarrierResponseInvalid(CARRIER, f"event time without an offset: {local!r}")


def _event(awb: str, event: dict[str, Any]) -> CarrierEvent:
    code = str(event.get("eventCode") or "")
    place = ", ".join(str(event[k]) for k in ("eventCity", "eventState", "eventZIP") if event.get(k))
    detail = " ".join(f"{k}={event[k]}" for k in ("actionCode", "reasonCode") if event.get(k))
    return CarrierEvent(carrier=CARRIER, awb=awb, code=code or str(event.get("eventType") or "?"),
                        code_type="" if code else NO_CODE, description=str(event.get("eventType") or ""),
                        location=place,
                        occurred_at=parse_event_time(event.get("eventTimestamp"), event.get("GMTOffset"),
                                                     event.get("GMTTimestamp")),
                        remarks=" ".join(p for p in (detail, str(event.get("name") or "")) if p))


def _with_legs(events: list[CarrierEvent]) -> list[CarrierEvent]:
    """Mark the events before the first one outside `PICKUP_LEG_CODES` as the pickup leg."""
    out: list[CarrierEvent] = []
    is_pickup_leg = True
    for event in events:
        if event.code_type == NO_CODE:
            out.append(event)
            continue
        is_pickup_leg = is_pickup_leg and event.code in PICKUP_LEG_CODES
        out.append(event.model_copy(update={"code_type": PICKUP_LEG}) if is_pickup_leg else event)
    return out


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CarrierResponseInvalid(CARRIER, "tracking event is not a JSON object")
    return value
