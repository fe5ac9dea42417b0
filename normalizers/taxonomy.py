"""Backhaul's unified tracking taxonomy: one set of statuses and reasons for every carrier."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Status(StrEnum):
    """Where a return is, in words every carrier's codes are mapped onto."""

    CREATED = "created"
    PICKUP_SCHEDULED = "pickup_scheduled"
    OUT_FOR_PICKUP = "out_for_pickup"
    PICKUP_FAILED = "pickup_failed"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    ON_HOLD = "on_hold"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"
    UNKNOWN = "unknown"


class Reason(StrEnum):
    """Why a pickup or delivery failed, was held, cancelled or went wrong."""

    CUSTOMER_UNAVAILABLE = "customer_unavailable"
    CUSTOMER_REFUSED = "customer_refused"
    ADDRESS_ISSUE = "address_issue"
    CONTACT_UNREACHABLE = "contact_unreachable"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    ITEM_NOT_READY = "item_not_ready"
    QC_FAILED = "qc_failed"
    NOT_SERVICEABLE = "not_serviceable"
    CARRIER_DELAY = "carrier_delay"
    ENTRY_RESTRICTED = "entry_restricted"
    DAMAGED = "damaged"
    LOST = "lost"
    CANCELLED_BY_MERCHANT = "cancelled_by_merchant"
    OTHER = "other"


TERMINAL: frozenset[Status] = frozenset({Status.DELIVERED, Status.RETURNED_TO_SENDER, Status.CANCELLED})

# Statuses that happen before the parcel leaves the customer's hands.
PRE_PICKUP: frozenset[Status] = frozenset(
    {Status.CREATED, Status.PICKUP_SCHEDULED, Status.OUT_FOR_PICKUP, Status.PICKUP_FAILED}
)


class TrackingEvent(BaseModel):
    """One carrier event with its unified meaning; `occurred_at` is UTC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    carrier: str
    awb: str
    status: Status
    reason: Reason | None = None
    description: str = ""
    raw_code: str
    raw_description: str = ""
    occurred_at: datetime
    local_offset_min: int = 0
    location: str = ""
    remarks: str = ""
    fingerprint: str
    is_correction: bool = False
    # The carrier's own fields, kept so that history can be re-normalized after a map is fixed.
    code: str = ""
    code_type: str = ""
    detail_code: str = ""
    raw_location: str = ""
