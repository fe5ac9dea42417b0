"""FedEx tracking on the wire: Track API answers and AIV webhook bodies into `CarrierEvent`s.

Which FedEx field fills which `CarrierEvent` field (the status map matches on these):
    code         scanEvents[].eventType ("PU", "DE", ...); the Track API and webhook codes share it
    detail_code  scanEvents[].exceptionCode ("08", "007", ...), empty when there is none
    code_type    "" for an eventType, "derived" when FedEx sent only derivedStatusCode
Times carry FedEx's own offset ("2026-11-03T14:10:00-05:00") and keep it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import CarrierEvent
from carriers.errors import CarrierResponseInvalid

CARRIER = "fedex"
_load = partial(wire_json.load, CARRIER)
SIGNATURE_HEADER = "fdx-signature"
CANCELLED_CODE = "CA"
DERIVED = "derived"


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every scan of every number in a Track API answer; a number FedEx does not know yields none."""
    return [e for result in _track_results(_load(raw, "track response")) for e in _result_events(result)]


def parse_reference_lookup(raw: bytes) -> str | None:
    """The tracking number a reference search found, skipping cancelled shipments; None for none."""
    for result in _track_results(_load(raw, "reference response")):
        latest = result.get("latestStatusDetail")
        if isinstance(latest, dict) and latest.get("code") == CANCELLED_CODE:
            continue
        number = _tracking_number(result)
        if number:
            return number
    return None


def parse_webhook(raw: bytes) -> list[CarrierEvent]:
    """The scans in an AIV push: `{trackingNumber, trackResults[]}` (our reading, see README.md)."""
    body = _load(raw, "webhook")
    if not isinstance(body, dict):
        raise CarrierResponseInvalid(CARRIER, "webhook body is not a JSON object")
    results = body.get("trackResults")
    if not isinstance(results, list):
        raise CarrierResponseInvalid(CARRIER, "webhook without trackResults")
    fallback = str(body.get("trackingNumber") or "")
    return [e for r in results if isinstance(r, dict) for e in _result_events(r, fallback)]


def signature(secret: str, body: bytes) -> str:
    """The `fdx-signature` FedEx sends: Base64(HMAC-SHA256(security token, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_signed(secret: str, signature_header: str, body: bytes) -> bool:
    return bool(secret) and hmac.compare_digest(signature(secret, body).encode(), signature_header.encode())


def parse_time(value: object) -> datetime:
    """A FedEx timestamp with its offset. Raises: CarrierResponseInvalid when it has none."""
    if not isinstance(value, str) or not value:
        raise CarrierResponseInvalid(CARRIER, f"scan time missing or not text: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad scan time {value!r}") from exc
    if parsed.tzinfo is None:
        raise CarrierResponseInvalid(CARRIER, f"scan time without offset {value!r}")
    return parsed


def _track_results(body: Any) -> Iterator[dict[str, Any]]:
    """Each trackResult that is not a per-number error (TRACKING.*.NOTFOUND and the like)."""
    output = body.get("output") if isinstance(body, dict) else None
    complete = output.get("completeTrackResults") if isinstance(output, dict) else None
    if not isinstance(complete, list):
        raise CarrierResponseInvalid(CARRIER, "track response without output.completeTrackResults")
    for entry in complete:
        results = entry.get("trackResults") if isinstance(entry, dict) else None
        if not isinstance(results, list):
            raise CarrierResponseInvalid(CARRIER, "completeTrackResults entry without trackResults")
        yield from (r for r in results if isinstance(r, dict) and not r.get("error"))


def _tracking_number(result: dict[str, Any]) -> str:
    info = result.get("trackingNumberInfo")
    return str(info.get("trackingNumber") or "") if isinstance(info, dict) else ""


def _result_events(result: dict[str, Any], fallback_awb: str = "") -> list[CarrierEvent]:
    awb = _tracking_number(result) or fallback_awb
    scans = result.get("scanEvents") or []
    if not awb or not isinstance(scans, list):
        raise CarrierResponseInvalid(CARRIER, "trackResult without a tracking number or scanEvents list")
    return [_scan_event(awb, s) for s in scans if isinstance(s, dict)]


def _scan_event(awb: str, scan: dict[str, Any]) -> CarrierEvent:
    code, code_type = str(scan.get("eventType") or ""), ""
    if not code:
        code, code_type = str(scan.get("derivedStatusCode") or ""), DERIVED
    if not code:
        raise CarrierResponseInvalid(CARRIER, f"scan of {awb} without eventType or derivedStatusCode")
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=code, code_type=code_type,
        detail_code=str(scan.get("exceptionCode") or ""),
        description=str(scan.get("eventDescription") or scan.get("derivedStatus") or ""),
        occurred_at=parse_time(scan.get("date")), location=_location(scan.get("scanLocation")),
        remarks=str(scan.get("exceptionDescription") or ""),
    )


def _location(value: object) -> str:
    if not isinstance(value, dict):
        return ""
    parts = (value.get("city"), value.get("stateOrProvinceCode"), value.get("countryCode"))
    return ", ".join(str(p) for p in parts if p)
