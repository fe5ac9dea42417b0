"""DTDC's wire: pure request builders and response parsers, bytes in and out.

Formats come from DTDC's Order Upload v2.0, Cancellation v2.0, Shipping Label WS v2.0 and
REST Tracking v2.2 documents; see README.md for sources and confidence. No I/O, no clock.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import Address, Booking, CarrierEvent, Contact, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.retry import retry_after_s as _seconds

CARRIER = "dtdc"
_load_object = partial(wire_json.load_object, CARRIER)
_object = partial(wire_json.as_object, CARRIER)
_text = partial(wire_json.required_text, CARRIER)
IST = timezone(timedelta(hours=5, minutes=30), "IST")

SOFTDATA_PATH = "/api/customer/integration/consignment/softdata"
CANCEL_PATH = "/api/customer/integration/consignment/cancel"
LABEL_PATH = "/api/customer/integration/consignment/shippinglabel/stream"
# Relative to the tracking prefix (`…/dtdc-api`).
AUTH_PATH = "/api/dtdc/authenticate"
TRACK_PATH = "/rest/JSONCnTrk/getTrackDetails"

# DTDC's First Mile order-upload doc names `consignment_type: "REVERSE"` for reverse shipments [MED].
CONSIGNMENT_TYPE_REVERSE = "REVERSE"
# Order upload takes at most 20 consignments per request; we send one.
MAX_CONSIGNMENTS = 20

# Reverse-pickup action codes. DTDC's public tracking doc lists only forward codes (BKD…DLV,
# NONDLV, RTO*); these five are our guess in DTDC's style [U]. Change them here and in the map.
PICKUP_SCHEDULED = "PKPSCH"
OUT_FOR_PICKUP = "OUTPKP"
PICKUP_NOT_DONE = "NONPKP"
PICKED_UP = "PKPDONE"
CANCELLED = "CNCL"

# Codes whose remark is a reason (non-delivery / non-pickup): the remark becomes `detail_code`.
_REASON_BEARING = frozenset({"NONDLV", "RTONONDLV", PICKUP_NOT_DONE})
# A header-only event (no trackDetails) is told apart from an action code by this code_type.
STATUS_TYPE = "status"
# "-(CIR)" customer-induced, "-(DIR)" DTDC-induced, "-(OTR)" other: dropped from the reason key.
_REMARK_SUFFIX = re.compile(r"\s*-?\s*\((?:CIR|DIR|OTR)\)\s*$")
_NO_DATA = "no data found"
# Per-consignment failure texts, lower-cased (LOW: DTDC documents only "an error message reason").
_DUPLICATE_MARKERS = ("already exists", "duplicate")
_NOT_SERVICEABLE_MARKERS = ("not serviceable", "non serviceable", "non-serviceable")
_AUTH_MARKERS = ("customer code", "api key", "api-key", "unauthori")
_ALREADY_CANCELLED = "already cancel"


class DuplicateConsignment(CarrierRejected):
    """DTDC already holds a consignment with this customer reference: look it up, never re-book."""

    def __init__(self, reference: str) -> None:
        super().__init__(CARRIER, f"consignment with customer reference {reference} already exists")
        self.reference = reference


# -- requests -------------------------------------------------------------------------------


def build_softdata(request: PickupRequest, *, customer_code: str, service_type_id: str) -> dict[str, Any]:
    """The order-upload body booking one reverse pickup: origin = the customer, destination = us."""
    parcel = request.parcel
    consignment = {
        "customer_code": customer_code, "service_type_id": service_type_id, "load_type": "NON-DOCUMENT",
        "consignment_type": CONSIGNMENT_TYPE_REVERSE,
        "description": ", ".join(i.name for i in request.items)[:200],
        "dimension_unit": "cm", "length": f"{parcel.length_cm:g}", "width": f"{parcel.width_cm:g}",
        "height": f"{parcel.height_cm:g}", "weight_unit": "kg", "weight": f"{parcel.weight_g / 1000:.3f}",
        "declared_value": str(request.total_value), "num_pieces": "1",
        "origin_details": _party(request.pickup_contact, request.pickup_address),
        "destination_details": _party(request.drop_contact, request.drop_address),
        "return_details": _return_party(request.drop_contact, request.drop_address),
        "customer_reference_number": request.reference,
        "cod_collection_mode": "", "cod_amount": "",
        # The doc accepts a commodity id or its name; we send the item category's name.
        "commodity_id": request.items[0].category,
        "is_risk_surcharge_applicable": False,
        "reference_number": "",
    }
    return {"consignments": [consignment]}


def _party(contact: Contact, address: Address) -> dict[str, str]:
    return {"name": contact.name, "phone": contact.national_phone, "alternate_phone": "",
            "address_line_1": address.line1, "address_line_2": address.line2, "email": contact.email or "",
            "pincode": address.postcode, "city": address.city, "state": address.state}


def _return_party(contact: Contact, address: Address) -> dict[str, str]:
    # return_details spells city and state differently from origin/destination details.
    return {"name": contact.name, "phone": contact.national_phone, "alternate_phone": "",
            "address_line_1": address.line1, "address_line_2": address.line2, "email": contact.email or "",
            "pincode": address.postcode, "city_name": address.city, "state_name": address.state}


def build_cancel(awbs: Sequence[str], *, customer_code: str) -> dict[str, Any]:
    return {"AWBNo": list(awbs), "customerCode": customer_code}


def build_track(number: str, *, by_reference: bool = False) -> dict[str, str]:
    """One consignment per call: by AWB (`cnno`) or by our customer reference (`reference`)."""
    return {"trkType": "reference" if by_reference else "cnno", "strcnno": number, "addtnlDtl": "Y"}


def label_params(awb: str, label_code: str) -> dict[str, str]:
    return {"reference_number": awb, "label_code": label_code, "label_format": "pdf"}


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for an HTTP status that says something before the body does.

    Raises: CarrierAuthError (401, 403), CarrierUnavailable (429, 5xx), CarrierRejected (other 4xx).
    """
    text = raw[:300].decode("utf-8", "replace")
    if status in (401, 403):
        raise CarrierAuthError(CARRIER, f"HTTP {status}: {text}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    if status >= 400:
        raise CarrierRejected(CARRIER, f"HTTP {status}: {text}")


def parse_softdata(raw: bytes) -> Booking:
    """The booking in an order-upload answer.

    Raises: DuplicateConsignment, NotServiceable, CarrierRejected, CarrierAuthError, CarrierResponseInvalid.
    """
    body = _load_object(raw, "order upload response")
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise CarrierResponseInvalid(CARRIER, "order upload response without data")
    item = _object(data[0], "order upload data[0]")
    awb = item.get("reference_number")
    if item.get("success") is True and awb:
        pieces = item.get("pieces") or []
        fields = {"chargeable_weight": str(item.get("chargeable_weight", ""))}
        if isinstance(pieces, list) and pieces:
            fields["piece_number"] = str(_object(pieces[0], "piece").get("reference_number", ""))
        return Booking(carrier=CARRIER, awb=str(awb), carrier_reference=str(item.get("customer_reference_number", "")),
                       label_fields={k: v for k, v in fields.items() if v})
    message = _failure_text(item)
    raise _failure_error(message, str(item.get("customer_reference_number", "")))


def _failure_text(item: dict[str, Any]) -> str:
    parts = [str(item[k]) for k in ("reason", "message") if item.get(k)]
    return "; ".join(parts) or "consignment refused without a reason"


def _failure_error(message: str, reference: str) -> CarrierError:
    lowered = message.lower()
    if _has(lowered, _DUPLICATE_MARKERS):
        return DuplicateConsignment(reference)
    if _has(lowered, _NOT_SERVICEABLE_MARKERS):
        return NotServiceable(CARRIER, message)
    if _has(lowered, _AUTH_MARKERS):
        return CarrierAuthError(CARRIER, message)
    return CarrierRejected(CARRIER, message)


def parse_cancel(raw: bytes) -> None:
    """Accept a cancellation, or one already done. Raises: CarrierRejected, CarrierResponseInvalid."""
    body = _load_object(raw, "cancel response")
    if body.get("success") is True:
        return
    failures = body.get("failures")
    if not isinstance(failures, list) or not failures:
        if "success" not in body:
            raise CarrierResponseInvalid(CARRIER, "cancel response has no success flag")
        raise CarrierRejected(CARRIER, str(body.get("message") or "cancellation refused"))
    texts = [_failure_text(_object(f, "cancel failure")) for f in failures]
    if all(_ALREADY_CANCELLED in t.lower() for t in texts):
        return
    raise CarrierRejected(CARRIER, "; ".join(texts))


def parse_label(raw: bytes) -> bytes | None:
    """The label PDF (raw or base64 in JSON), None when DTDC has no label for the AWB."""
    if raw.startswith(b"%PDF"):
        return raw
    body = _load_object(raw, "label response")
    label = body.get("label")
    if not label:
        return None
    try:
        pdf = base64.b64decode(str(label), validate=True)
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, "label is not base64") from exc
    if not pdf.startswith(b"%PDF"):
        raise CarrierResponseInvalid(CARRIER, "label is not a PDF")
    return pdf


def parse_token(raw: bytes) -> str:
    """The plain-text token the authenticate call answers with. Raises: CarrierResponseInvalid."""
    token = raw.decode("utf-8", "replace").strip()
    if not token or token[0] in "{[<" or any(c.isspace() for c in token):
        raise CarrierResponseInvalid(CARRIER, f"authenticate answered {raw[:60]!r}, not a token")
    return token


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every action of the consignment, oldest first; an unknown AWB yields no events."""
    body = _load_object(raw, "tracking response")
    if _is_no_data(body):
        return []
    header = _object(body.get("trackHeader"), "trackHeader")
    awb = _text(header, "strShipmentNo")
    details = body.get("trackDetails") or []
    if not isinstance(details, list):
        raise CarrierResponseInvalid(CARRIER, f"tracking {awb}: trackDetails is not a list")
    if not details:
        # Without additional details only the header's status is known.
        return [_header_event(awb, header)]
    events = [_action_event(awb, _object(d, "trackDetails entry")) for d in details]
    return sorted(events, key=lambda e: e.occurred_at)


def parse_reference_lookup(raw: bytes) -> str | None:
    """The AWB in a tracking-by-reference answer, None when DTDC holds none."""
    body = _load_object(raw, "tracking response")
    if _is_no_data(body):
        return None
    awb = _object(body.get("trackHeader"), "trackHeader").get("strShipmentNo")
    return str(awb) if awb else None


def remark_code(remark: str) -> str:
    """A non-delivery remark as a map key: upper case, spaces collapsed, the -(CIR) suffix dropped."""
    return _REMARK_SUFFIX.sub("", " ".join(remark.upper().split()))


def parse_ist(day: object, time_of_day: object) -> datetime:
    """DTDC's DDMMYYYY date and HHMM (or HH:MM[:SS]) time, which are IST, as an aware datetime."""
    digits = str(time_of_day or "").replace(":", "")
    try:
        parsed = datetime.strptime(f"{day}{digits[:4]:0<4}+0530", "%d%m%Y%H%M%z")
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad date/time {day!r} {time_of_day!r}") from exc
    return parsed.astimezone(IST)


def _is_no_data(body: dict[str, Any]) -> bool:
    details = body.get("errorDetails") or []
    texts = [str(d.get("value", "")) for d in details if isinstance(d, dict)] if isinstance(details, list) else []
    return any(_NO_DATA in t.lower() for t in texts) or (body.get("status") == "FAILED" and not body.get("trackHeader"))


def _action_event(awb: str, action: dict[str, Any]) -> CarrierEvent:
    code = _text(action, "strCode")
    remark = str(action.get("sTrRemarks") or action.get("strRemarks") or "")
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=code, detail_code=remark_code(remark) if code in _REASON_BEARING else "",
        description=str(action.get("strAction") or ""), location=str(action.get("strOrigin") or ""),
        occurred_at=parse_ist(action.get("strActionDate"), action.get("strActionTime")), remarks=remark,
    )


def _header_event(awb: str, header: dict[str, Any]) -> CarrierEvent:
    status = " ".join(_text(header, "strStatus").upper().split())
    remark = str(header.get("strRemarks") or "")
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=status, code_type=STATUS_TYPE, detail_code="",
        description=str(header.get("strStatus")), location=str(header.get("strDestination") or ""),
        occurred_at=parse_ist(header.get("strStatusTransOn") or header.get("strBookedDate"),
                              header.get("strStatusTransTime") or header.get("strBookedTime")),
        remarks=remark,
    )


# -- helpers --------------------------------------------------------------------------------


def _has(text: str, markers: Sequence[str]) -> bool:
    return any(m in text for m in markers)
