"""DHL's wire for tracking: MyDHL `GET /tracking` checkpoints and Shipment Tracking – Unified push bodies.

Which fields fill a `CarrierEvent` (the status map matches on them):

- MyDHL checkpoint: `code` = `events[].typeCode` (PU, WC, OK...), `code_type` = the leg, "pickup"
  for checkpoints before the parcel left the consumer (see `PICKUP_LEG_CODES`), "express" after.
- Unified push: `code` = `events[].statusCode` (pre-transit, transit, delivered, failure, unknown),
  `code_type` = "unified".

Pure: bytes in, events out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import CarrierEvent
from carriers.dhl.wire import CARRIER, load_object
from carriers.errors import CarrierResponseInvalid

_object = partial(wire_json.as_object, CARRIER)
_text = partial(wire_json.required_text, CARRIER)

EXPRESS = "express"
PICKUP_LEG = "pickup"
UNIFIED = "unified"
# Checkpoints that can happen while the courier is still trying to collect a return. DHL documents
# no pickup-leg codes, so until the first other checkpoint these read as pickup attempts [U].
PICKUP_LEG_CODES = frozenset({"WC", "NH", "CA", "BA", "CM", "RD", "ND", "SS"})
# How the push is authenticated is not in the sources read [U]: an HMAC-SHA256 of the raw body
# with the subscription's `secret`, hex, in this header. Change it here only.
SIGNATURE_HEADER = "DHL-Signature"


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every checkpoint of every shipment in a MyDHL tracking answer; no shipment found yields []."""
    body = load_object(raw, "tracking response")
    if "shipments" not in body and str(body.get("status")) == "404":
        return []
    events: list[CarrierEvent] = []
    for shipment in _list(body.get("shipments"), "shipments"):
        shipment = _object(shipment, "shipment")
        awb = _text(shipment, "shipmentTrackingNumber")
        found = sorted((_checkpoint(awb, _object(e, "event")) for e in _list(shipment.get("events") or [], "events")),
                       key=lambda e: e.occurred_at)
        events += _with_legs(found)
    return events


def parse_reference_lookup(raw: bytes, reference: str) -> str | None:
    """The AWB DHL holds under our customer reference, None when it holds none."""
    body = load_object(raw, "reference lookup")
    for shipment in body.get("shipments") or []:
        if not isinstance(shipment, dict):
            continue
        refs = shipment.get("shipperReferences") or []
        if any(isinstance(r, dict) and r.get("value") == reference for r in refs):
            return _text(shipment, "shipmentTrackingNumber")
    return None


def parse_push(raw: bytes) -> list[CarrierEvent]:
    """Every event in a Shipment Tracking – Unified push body (the shape of its GET /shipments answer)."""
    body = load_object(raw, "push body")
    events: list[CarrierEvent] = []
    for shipment in _list(body.get("shipments"), "shipments"):
        shipment = _object(shipment, "shipment")
        awb = _text(shipment, "id")
        events += [_unified(awb, _object(e, "event")) for e in _list(shipment.get("events") or [], "events")]
    return events


def sign_push(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_signed_push(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether the push carries our subscription secret's signature of this exact body."""
    if not secret:
        return False
    offered = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
    return hmac.compare_digest(offered.strip().lower().encode(), sign_push(body, secret).encode())


def parse_checkpoint_time(day: object, time: object, offset: object) -> datetime:
    """A MyDHL checkpoint's local date, time and `GMTOffset` as an aware datetime."""
    text = f"{day}T{time}{offset if offset else ''}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad checkpoint time {text!r}") from exc
    if moment.tzinfo is None:
        raise CarrierResponseInvalid(CARRIER, f"checkpoint time {text!r} has no GMTOffset")
    return moment


def parse_unified_time(value: object) -> datetime:
    """A Unified timestamp; one without an offset is read as UTC [U: Express sends local times]."""
    if not isinstance(value, str) or not value:
        raise CarrierResponseInvalid(CARRIER, f"timestamp missing: {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad timestamp {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _checkpoint(awb: str, event: dict[str, Any]) -> CarrierEvent:
    areas = event.get("serviceArea") or []
    area = areas[0] if isinstance(areas, list) and areas and isinstance(areas[0], dict) else {}
    remarks = event.get("remarks") or []
    remark = "; ".join(str(r.get("value", "")) for r in remarks if isinstance(r, dict)) if isinstance(
        remarks, list) else ""
    return CarrierEvent(carrier=CARRIER, awb=awb, code=_text(event, "typeCode"), code_type=EXPRESS,
                        description=str(event.get("description") or ""),
                        location=str(area.get("description") or area.get("code") or ""),
                        occurred_at=parse_checkpoint_time(event.get("date"), event.get("time"),
                                                          event.get("GMTOffset")),
                        remarks=remark or str(event.get("signedBy") or ""))


def _with_legs(events: list[CarrierEvent]) -> list[CarrierEvent]:
    """Mark the checkpoints before the first non-pickup-leg checkpoint as the pickup leg."""
    out: list[CarrierEvent] = []
    is_pickup_leg = True
    for event in events:
        is_pickup_leg = is_pickup_leg and event.code in PICKUP_LEG_CODES
        out.append(event.model_copy(update={"code_type": PICKUP_LEG}) if is_pickup_leg else event)
    return out


def _unified(awb: str, event: dict[str, Any]) -> CarrierEvent:
    address = ((event.get("location") or {}).get("address") or {}) if isinstance(event.get("location"), dict) else {}
    return CarrierEvent(carrier=CARRIER, awb=awb, code=_text(event, "statusCode"), code_type=UNIFIED,
                        description=str(event.get("description") or event.get("status") or ""),
                        location=str(address.get("addressLocality") or "") if isinstance(address, dict) else "",
                        occurred_at=parse_unified_time(event.get("timestamp")),
                        remarks=str(event.get("remark") or ""))


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise CarrierResponseInvalid(CARRIER, f"{what} is not a list")
    return value
