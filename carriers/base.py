"""The value types every layer shares and the carrier adapter contract.

A carrier adapter knows its carrier's wire and nothing of Backhaul's taxonomy: it turns
our value types into the carrier's requests, and the carrier's bytes into `Booking`s
and `CarrierEvent`s. Normalizers give those events their unified meaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable

import aiohttp
import indian_pincode
import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from carriers.clock import Clock

# Postcode shapes for the countries cross-border returns go to most; any other country
# gets the loose check (2-10 letters, digits, spaces or dashes).
_POSTCODE_PATTERNS: dict[str, str] = {
    "US": r"\d{5}(-\d{4})?",
    "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
    "DE": r"\d{5}",
    "FR": r"\d{5}",
    "AU": r"\d{4}",
    "AE": r"\d{0,6}",
    "SG": r"\d{6}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "DK": r"\d{4}",
    "ID": r"\d{5}",
    "CN": r"\d{6}",
    "RU": r"\d{6}",
}
_LOOSE_POSTCODE = r"[A-Z0-9][A-Z0-9 \-]{1,9}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Address(_Model):
    """A postal address: an Indian PIN code is checked against the India Post list."""

    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(default="", max_length=100)
    country: str = Field(default="IN", pattern=r"^[A-Z]{2}$")
    postcode: str = Field(min_length=2, max_length=12)

    @field_validator("country", mode="before")
    @classmethod
    def _upper_country(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("postcode")
    @classmethod
    def _check_postcode(cls, value: str, info: ValidationInfo) -> str:
        code = value.upper()
        country = info.data.get("country", "IN")
        if country == "IN":
            if not re.fullmatch(r"[1-9]\d{5}", code):
                raise ValueError("an Indian PIN code has six digits and does not start with 0")
            if not indian_pincode.validate(code):
                raise ValueError(f"{code} is not a known Indian PIN code")
        else:
            pattern = _POSTCODE_PATTERNS.get(country, _LOOSE_POSTCODE)
            if not re.fullmatch(pattern, code):
                raise ValueError(f"{value!r} is not a valid {country} postcode")
        return code

    @property
    def one_line(self) -> str:
        parts = [self.line1, self.line2, self.city, self.state, self.postcode, self.country]
        return ", ".join(p for p in parts if p)


@lru_cache(maxsize=65536)
def _e164(value: str, region: str) -> str:
    """A phone number in E.164; cached, since every stored document is validated again on read.

    Raises: ValueError for a number that is not valid.
    """
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class Contact(_Model):
    """A person to reach; the phone is validated and kept in E.164."""

    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone_region: str = Field(default="IN", pattern=r"^[A-Z]{2}$", exclude=True)
    phone: str = Field(min_length=3, max_length=32)

    @field_validator("phone")
    @classmethod
    def _normalize_phone(cls, value: str, info: ValidationInfo) -> str:
        return _e164(value, info.data.get("phone_region", "IN"))

    @property
    def national_phone(self) -> str:
        """The number without country code, as Indian carriers expect it."""
        parsed = phonenumbers.parse(self.phone)
        return str(parsed.national_number)


class Parcel(_Model):
    """The box: weight in grams, dimensions in centimetres."""

    weight_g: int = Field(gt=0, le=70_000)
    length_cm: float = Field(default=10, gt=0, le=300)
    width_cm: float = Field(default=10, gt=0, le=300)
    height_cm: float = Field(default=10, gt=0, le=300)

    @property
    def volumetric_weight_g(self) -> int:
        """Volumetric weight with the industry divisor of 5000 cm³ per kg."""
        return round(self.length_cm * self.width_cm * self.height_cm / 5000 * 1000)

    @property
    def chargeable_weight_g(self) -> int:
        return max(self.weight_g, self.volumetric_weight_g)


class QcAttributes(_Model):
    """What the pickup agent checks at the door for a doorstep quality check."""

    brand: str | None = None
    color: str | None = None
    size: str | None = None
    ean: str | None = None
    imei: str | None = None
    description: str | None = None
    image_urls: tuple[str, ...] = ()


class Item(_Model):
    """One returned order line."""

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=1000)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    category: str = Field(default="general", max_length=64)
    qc: QcAttributes | None = None


class PickupRequest(_Model):
    """Everything a carrier needs to book one reverse pickup."""

    reference: str = Field(min_length=1, max_length=50)
    pickup_address: Address
    pickup_contact: Contact
    drop_address: Address
    drop_contact: Contact
    parcel: Parcel
    items: tuple[Annotated[Item, Field()], ...] = Field(min_length=1)
    reason: str = ""
    pickup_date: date | None = None
    warehouse: str = ""
    # Label only: the customer takes the parcel to the carrier, so no courier is booked
    # (only for a carrier whose `Capabilities.drop_off` is true).
    drop_off: bool = False

    @property
    def total_value(self) -> Decimal:
        return sum((i.price * i.quantity for i in self.items), Decimal(0))

    @property
    def needs_qc(self) -> bool:
        return any(i.qc is not None for i in self.items)


class Booking(_Model):
    """A booked reverse pickup as the carrier confirmed it."""

    carrier: str
    awb: str
    carrier_reference: str = ""
    pickup_window_start: datetime | None = None
    pickup_window_end: datetime | None = None
    label_pdf: bytes | None = None
    label_fields: dict[str, str] = Field(default_factory=dict)


class CarrierEvent(_Model):
    """One scan as the carrier reported it, before any unified meaning is given.

    `code` is the carrier's primary status code; `code_type` qualifies it where the
    carrier needs a pair to be unambiguous (Delhivery's StatusType, Blue Dart's scan group);
    `detail_code` is a finer code (Delhivery's NSL). `occurred_at` keeps the carrier's own
    offset; normalizers turn it into UTC.
    """

    carrier: str
    awb: str
    code: str
    code_type: str = ""
    detail_code: str = ""
    description: str = ""
    occurred_at: datetime
    location: str = ""
    remarks: str = ""

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry an offset; convert carrier-local time at the edge")
        return value

    @property
    def raw_code(self) -> str:
        return "/".join(p for p in (self.code_type, self.code, self.detail_code) if p)


class Serviceability(_Model):
    """Whether a carrier serves a pickup/drop pair, and why not when it does not."""

    is_serviceable: bool
    reason: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a carrier can do, as the rules layer and the gateway need to know it."""

    reverse_pickup: bool = True
    doorstep_qc: bool = False
    cancel: bool = True
    reschedule: bool = False
    webhook_push: bool = False
    max_track_batch: int = 1
    label_by_carrier: bool = False
    rate_limit_per_min: int | None = None
    countries: frozenset[str] = field(default_factory=lambda: frozenset({"IN"}))
    # The carrier books a return label without a pickup, for the customer to drop off
    # (`PickupRequest.drop_off`); only where the carrier's documented API does it.
    drop_off: bool = False


class CarrierSettings(BaseModel):
    """Settings every carrier has; a carrier's own settings model extends it."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=3, ge=0, le=10)
    webhook_secret: str = ""


@runtime_checkable
class CarrierAdapter(Protocol):
    """The contract every carrier adapter fulfils (see docs/adding-a-carrier.md)."""

    code: ClassVar[str]
    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    settings_model: ClassVar[type[CarrierSettings]]

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Raises: CarrierUnavailable, CarrierAuthError."""
        ...

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once; a retry with the same reference returns the first booking.

        Raises: NotServiceable, CarrierRejected, CarrierUnavailable, CarrierAuthError,
        CarrierResponseInvalid.
        """
        ...

    async def label(self, awb: str) -> Booking | None:
        """The carrier's label (PDF or label data) for a booked AWB, None when it has none."""
        ...

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel a booked pickup; cancelling twice is not an error.

        `carrier_reference` is the `Booking.carrier_reference` that `book_pickup` returned: a
        carrier that keys pickups apart from the AWB reads what it needs from it, so cancel
        still works in a process that did not book (after a restart).
        """
        ...

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Move a pickup to another date, fixing contact or address on the way (see `cancel`)."""
        ...

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """Raw tracking payloads for at most `capabilities.max_track_batch` AWBs per call."""
        ...

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        """Pure: the events in one raw tracking response."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        """Pure: the events in one webhook body."""
        ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether an inbound webhook really comes from the carrier."""
        ...


AdapterFactory = type[CarrierAdapter]


def make_adapter(factory: Any, settings: CarrierSettings, session: aiohttp.ClientSession,
                 clock: Clock) -> CarrierAdapter:
    """Build an adapter from its class; every adapter takes (settings, session, clock)."""
    adapter = factory(settings, session, clock)
    if not isinstance(adapter, CarrierAdapter):
        raise TypeError(f"{factory!r} does not implement CarrierAdapter")
    return adapter
