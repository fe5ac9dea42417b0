"""Merchant-facing documents: merchants, return requests, returns and their shipments."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from carriers.base import Address, Contact, Item, Parcel
from gateway.rules.decision import Decision
from normalizers.machine import ShipmentState
from normalizers.taxonomy import Status


def new_id(prefix: str) -> str:
    """A random id such as ``ret_k3f9...``; 70 bits of entropy, unique enough for ids (not a secret)."""
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    # 14 characters (70 random bits) keep "ret_..." within the 20-character references some
    # carriers take (Blue Dart), with room for a "-N" suffix when a pickup is booked again.
    return prefix + "_" + "".join(secrets.choice(alphabet) for _ in range(14))


def new_token() -> str:
    """An unguessable tracking-page token (192 bits)."""
    return secrets.token_urlsafe(24)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


FontChoice = Literal["system", "humanist", "geometric", "serif", "rounded", "mono"]
_HTTPS_URL = r"^https://[^\s\"'<>]+$"
_COLOR = r"^#[0-9a-fA-F]{6}$"
DigestEmail = Annotated[str, Field(min_length=3, max_length=200, pattern=r"^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$")]


class FooterLink(_Strict):
    """A link in the tracking page's footer (returns policy, size guide, ...)."""

    label: str = Field(min_length=1, max_length=60)
    url: str = Field(max_length=500, pattern=_HTTPS_URL)


class Recommendation(_Strict):
    """A product the merchant suggests on the tracking page; clicks are counted by `id`."""

    id: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")
    title: str = Field(min_length=1, max_length=80)
    url: str = Field(max_length=500, pattern=_HTTPS_URL)
    image_url: str = Field(default="", max_length=500, pattern=r"^(https://[^\s\"'<>]+)?$")
    price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="INR", pattern=r"^[A-Z]{3}$")


class Merchant(_Strict):
    """A merchant account; its API keys are stored only as hashes, elsewhere."""

    id: str
    name: str
    created_at: datetime
    warehouse: str = ""
    return_address: Address | None = None
    return_contact: Contact | None = None
    display_name: str = ""
    primary_color: str = "#1f4b99"
    support_email: str = ""
    # Branding of the customer's tracking page (see docs/tracking-page.md).
    logo_url: str = Field(default="", max_length=16_000,
                          pattern=r"^(https://[^\s\"'<>]+|data:image/(png|jpeg|webp|svg\+xml)[;,][^\s\"'<>]+)?$")
    accent_color: str = Field(default="#0f766e", pattern=_COLOR)
    font: FontChoice = "system"
    support_phone: str = Field(default="", max_length=32)
    footer_links: list[FooterLink] = Field(default_factory=list, max_length=8)
    public_url: str = Field(default="", max_length=200, pattern=r"^(https?://[^\s/\"'<>]+)?$")
    time_zone: str = Field(default="", max_length=64)
    recommendations: list[Recommendation] = Field(default_factory=list, max_length=6)
    # The daily returns digest (gateway/analytics/digest.py): no recipients means no digest.
    digest_emails: list[DigestEmail] = Field(default_factory=list, max_length=10)
    digest_hour: int = Field(default=8, ge=0, le=23)

    def public_base(self, platform_url: str) -> str:
        """Where this merchant's customers reach Backhaul's pages: its own domain when it has one."""
        return (self.public_url or platform_url).rstrip("/")


Resolution = Literal["refund", "exchange", "credit", "keep"]
Fulfilment = Literal["pickup", "drop_off"]


class LineChoice(_Strict):
    """What the customer chose for one returned line (the portal sends these; the API may)."""

    sku: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=40, pattern=r"^[a-z0-9_]*$")
    resolution: Resolution = "refund"
    # Only for a line kept by the customer (not in `items`): how many and of what category.
    quantity: int = Field(default=0, ge=0, le=1000)
    category: str = Field(default="", max_length=64)
    exchange_for: str = Field(default="", max_length=64)
    comment: str = Field(default="", max_length=500)
    photos: list[str] = Field(default_factory=list, max_length=5)


class ReturnCreate(_Strict):
    """The body of `POST /v1/returns`."""

    order_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._\-/]+$")
    customer: Contact
    pickup_address: Address
    drop_address: Address | None = None
    drop_contact: Contact | None = None
    items: list[Item] = Field(min_length=1, max_length=100)
    parcel: Parcel
    reason: str = Field(default="", max_length=500)
    pickup_date: date | None = None
    carrier: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20)
    # Return policy inputs (gateway/rules/policy.py); all optional.
    delivered_at: AwareDatetime | None = None
    order_date: date | None = None
    customer_tier: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    override_policy: bool = False
    override_reason: str = Field(default="", max_length=500)
    # Per-line reason and resolution (returns analytics, the portal); optional for the API.
    resolution: Resolution | None = None
    lines: list[LineChoice] = Field(default_factory=list, max_length=100)
    # "drop_off": the carrier makes a return label and the customer takes the parcel to it;
    # only carriers whose capabilities say drop_off may take such a return (docs/portal.md).
    fulfilment: Fulfilment = "pickup"


class TrackingCreate(_Strict):
    """The body of `POST /v1/trackings`: follow an AWB booked outside Backhaul."""

    awb: str = Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9\-]+$")
    carrier: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    order_id: str = Field(default="", max_length=40, pattern=r"^[A-Za-z0-9._\-/]*$")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20)


class BookingAttempt(_Strict):
    """One try at booking with one carrier, kept so ops can see why a carrier was skipped."""

    carrier: str
    outcome: str
    detail: str = ""
    at: datetime


class AuditEntry(_Strict):
    """Something a person decided about a return (a policy override, an approval), kept for audit."""

    at: datetime
    action: str
    actor: str
    detail: str = ""
    rules: list[str] = Field(default_factory=list)


class Review(_Strict):
    """A return the policy sends to a person before its pickup is booked."""

    status: Literal["pending", "approved", "rejected"] = "pending"
    reasons: list[str] = Field(default_factory=list)
    decided_at: datetime | None = None
    note: str = ""


class Shipment(_Strict):
    """The carrier side of a return once it is booked."""

    carrier: str
    awb: str
    carrier_reference: str = ""
    booked_at: datetime
    label_fields: dict[str, str] = Field(default_factory=dict)
    # The pickup date the carrier was asked for: the customer's, or the carrier's next valid
    # day when its pickup calendar does not serve that date (None for a drop-off).
    pickup_date: date | None = None


class Return(_Strict):
    """A return as Backhaul keeps it; `state` is folded from the tracking events."""

    id: str
    merchant_id: str
    order_id: str
    created_at: datetime
    updated_at: datetime
    # A return Backhaul books has its request and drop-off; a tracking (an AWB booked
    # elsewhere and registered with POST /v1/trackings) has neither.
    kind: Literal["return", "tracking"] = "return"
    request: ReturnCreate | None = None
    drop_address: Address | None = None
    drop_contact: Contact | None = None
    state: ShipmentState
    shipment: Shipment | None = None
    booking_attempts: list[BookingAttempt] = Field(default_factory=list)
    tracking_token: str
    allocation: Decision | None = None
    audit: list[AuditEntry] = Field(default_factory=list)
    review: Review | None = None

    @property
    def status(self) -> Status:
        return self.state.status

    @property
    def requested(self) -> ReturnCreate:
        """The merchant's request. Raises: ValueError for a tracking, which has none."""
        if self.request is None:
            raise ValueError(f"{self.id} is a tracking, not a return Backhaul booked")
        return self.request

    @property
    def drop_to(self) -> tuple[Address, Contact]:
        """Where the parcel goes back to. Raises: ValueError for a tracking."""
        if self.drop_address is None or self.drop_contact is None:
            raise ValueError(f"{self.id} is a tracking, not a return Backhaul booked")
        return self.drop_address, self.drop_contact

    def public(self, base_url: str) -> dict[str, Any]:
        """The JSON a merchant sees."""
        doc = self.model_dump(mode="json", exclude={"tracking_token", "merchant_id"})
        doc["status"] = self.state.status.value
        doc["tracking_url"] = f"{base_url}/t/{self.tracking_token}"
        doc["label_url"] = f"{base_url}/v1/returns/{self.id}/label" if self.shipment and self.request else None
        return doc
