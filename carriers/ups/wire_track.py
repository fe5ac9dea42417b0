"""UPS tracking on the wire: Track API answers and Track Alert pushes into `CarrierEvent`s.

Which UPS field fills which `CarrierEvent` field (the status map matches on these):
    code_type    activity.status.type ("I", "X", "D", "M", "MV", ...)
    detail_code  activity.status.code: the 2-character scan, exception or manifest code
    code         activity.status.statusCode: the 3-digit status description code ("065");
                 Track Alert pushes do not carry it, so their events leave it empty
Local date and time plus `gmtOffset` ("-05:00", or "-05.00" in Track Alert) give an aware time.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from carriers.base import CarrierEvent
from carriers.errors import CarrierResponseInvalid

CARRIER = "ups"
# Track Alert v1 sent the subscriber's credential back in this header; v2 manages it in the portal.
CREDENTIAL_HEADER = "credential"
USER_AGENT = "UPSPubSubTrackingService"
VOIDED_TYPES = frozenset({"MV"})
_OFFSET = re.compile(r"^([+-])(\d{2})[:.]?(\d{2})$")
_DAY_TIME = re.compile(r"^\d{14}$")


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every activity of every package in a Track API answer; "not found" (TW0001) yields none."""
    return [_activity_event(number, a) for number, package in _packages(raw, "track response")
            for a in package.get("activity") or [] if isinstance(a, dict)]


def parse_reference_lookup(raw: bytes) -> str | None:
    """The tracking number found for a reference, skipping voided shipments; None for none."""
    for number, package in _packages(raw, "reference response"):
        activities = [a for a in package.get("activity") or [] if isinstance(a, dict)]
        latest = max(activities, key=lambda a: (str(a.get("date")), str(a.get("time"))), default={})
        if str((latest.get("status") or {}).get("type", "")) not in VOIDED_TYPES:
            return number
    return None


def parse_webhook(raw: bytes) -> list[CarrierEvent]:
    """The one activity in a Track Alert `TrackingEventRequest`."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"webhook is not JSON: {raw[:80]!r}") from exc
    status = body.get("activityStatus") if isinstance(body, dict) else None
    if not isinstance(status, dict) or not body.get("trackingNumber"):
        raise CarrierResponseInvalid(CARRIER, "webhook without trackingNumber or activityStatus")
    location = body.get("activityLocation") or {}
    return [CarrierEvent(
        carrier=CARRIER, awb=str(body["trackingNumber"]), code_type=str(status.get("type") or ""),
        code="", detail_code=str(status.get("code") or ""), description=str(status.get("description") or ""),
        occurred_at=local_time(body.get("localActivityDate"), body.get("localActivityTime"), body.get("gmtOffset")),
        location=_place(location.get("city"), location.get("stateProvince"), location.get("country")),
    )]


def is_authentic(secret: str, offered: str) -> bool:
    """Track Alert has no signature: the agreed credential must come back unchanged."""
    return bool(secret) and hmac.compare_digest(offered.encode(), secret.encode())


def local_time(day: object, time: object, offset: object) -> datetime:
    """UPS's local "YYYYMMDD" + "HHMMSS" at its `gmtOffset`. Raises: CarrierResponseInvalid."""
    match = _OFFSET.match(str(offset or ""))
    if match is None:
        raise CarrierResponseInvalid(CARRIER, f"activity without a usable gmtOffset: {offset!r}")
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    stamp = f"{day}{time}"
    if not _DAY_TIME.match(stamp):
        raise CarrierResponseInvalid(CARRIER, f"bad activity time {day!r} {time!r}")
    try:
        naive = datetime.strptime(stamp, "%Y%m%d%H%M%S")  # noqa: DTZ007 - the offset is added next
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad activity time {day!r} {time!r}") from exc
    return naive.replace(tzinfo=timezone(-delta if sign == "-" else delta))


def _packages(raw: bytes, what: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"{what} is not JSON: {raw[:80]!r}") from exc
    response = body.get("trackResponse") if isinstance(body, dict) else None
    shipments = response.get("shipment") if isinstance(response, dict) else None
    if not isinstance(shipments, list):
        raise CarrierResponseInvalid(CARRIER, f"{what} without trackResponse.shipment")
    for shipment in shipments:
        for package in (shipment.get("package") or []) if isinstance(shipment, dict) else []:
            if isinstance(package, dict) and package.get("trackingNumber"):
                yield str(package["trackingNumber"]), package


def _activity_event(awb: str, activity: dict[str, Any]) -> CarrierEvent:
    status = activity.get("status")
    if not isinstance(status, dict):
        raise CarrierResponseInvalid(CARRIER, f"activity of {awb} without status")
    address = (activity.get("location") or {}).get("address") or {}
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code_type=str(status.get("type") or ""), code=str(status.get("statusCode") or ""),
        detail_code=str(status.get("code") or ""), description=str(status.get("description") or ""),
        occurred_at=local_time(activity.get("date"), activity.get("time"), activity.get("gmtOffset")),
        location=_place(address.get("city"), address.get("stateProvince"), address.get("countryCode")
                        or address.get("country")),
    )


def _place(*parts: object) -> str:
    return ", ".join(str(p) for p in parts if p)
