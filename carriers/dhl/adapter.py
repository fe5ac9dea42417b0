"""DHL's adapter: the HTTP around `wire.py`/`wire_tracking.py` (Basic auth, timeouts, retries, idempotent booking)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import aiohttp

from carriers.base import (
    Address,
    Booking,
    Capabilities,
    CarrierEvent,
    CarrierSettings,
    Contact,
    Parcel,
    PickupRequest,
    Serviceability,
)
from carriers.clock import Clock
from carriers.dhl import wire, wire_tracking
from carriers.dhl.settings import DhlSettings
from carriers.errors import CarrierRejected
from carriers.http import send, with_retries

# DHL wants a planned pickup no more than 10 days ahead; the courier comes in the afternoon window.
_PICKUP_AT = time(10, 0)



@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Pickup:
    """What this process knows about a booked pickup: DHL keys pickups by their own number, not the AWB."""

    dispatch_confirmation: str
    shipper: dict[str, Any]
    booking: Booking


class DhlAdapter:
    """Return shipments with a courier pickup through the MyDHL API (DHL Express)."""

    code: ClassVar[str] = "dhl"
    name: ClassVar[str] = "DHL Express"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=True, webhook_push=True,
        max_track_batch=200, label_by_carrier=True,
        countries=frozenset({"US", "CA", "GB", "DE", "FR", "NL", "DK", "AU", "SG", "AE"}), drop_off=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = DhlSettings

    def __init__(self, settings: DhlSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        credentials = f"{settings.api_key.get_secret_value()}:{settings.api_secret.get_secret_value()}"
        self._authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
        self._pickups: dict[str, _Pickup] = {}
        self._booking_locks: dict[str, asyncio.Lock] = {}

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Countries only: MyDHL answers per product at booking time (`GET /products` is not used)."""
        served = self.capabilities.countries
        if pickup.country not in served or drop.country not in served:
            return Serviceability(is_serviceable=False, reason="lane outside the countries configured for DHL")
        return Serviceability(is_serviceable=True)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once: look the reference up first, so a retry after a lost answer finds the first AWB."""
        lock = self._booking_locks.setdefault(request.reference, asyncio.Lock())
        async with lock:
            return await with_retries(lambda: self._book_once(request), self._settings.retries)

    async def _book_once(self, request: PickupRequest) -> Booking:
        query = wire.build_reference_lookup(request.reference, account=self._settings.account_number,
                                            today=self._clock.now().date())
        found = await self._send("GET", wire.TRACKING_PATH, params=query, tolerate=(404,))
        awb = wire_tracking.parse_reference_lookup(found.body, request.reference)
        if awb is not None:
            known = self._pickups.get(awb)
            return known.booking if known else Booking(carrier=self.code, awb=awb)
        body = wire.build_shipment(request, account=self._settings.account_number,
                                   product_code=self._settings.product_code,
                                   planned_at=self._planned_at(request.pickup_date),
                                   currency=self._settings.currency, close_time=self._settings.pickup_close_time)
        reply = await self._send("POST", wire.SHIPMENTS_PATH, json_body=body)
        booking = wire.parse_shipment(reply.body)
        if request.drop_off:
            booking = booking.model_copy(update={"carrier_reference": wire.NO_PICKUP})
        self._pickups[booking.awb] = _Pickup(booking.carrier_reference,
                                             body["customerDetails"]["shipperDetails"], booking)
        return booking

    def _planned_at(self, pickup_date: date | None) -> datetime:
        day = pickup_date or (self._clock.now() + timedelta(days=1)).date()
        return datetime.combine(day, _PICKUP_AT, tzinfo=UTC)

    async def label(self, awb: str) -> Booking | None:
        """The label PDF DHL returned at booking; MyDHL 3.1.1 has no label reprint, so None if unknown here."""
        known = self._pickups.get(awb)
        return known.booking if known and known.booking.label_pdf else None

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel the courier pickup; a second cancel is fine.

        The pickup number is this process's own, else `carrier_reference` (the dispatch confirmation
        number `book_pickup` returned). Raises: CarrierRejected when neither is known.
        """
        number = self._pickup_number(awb, carrier_reference)
        if number == wire.NO_PICKUP:
            return  # a drop-off books no courier, and MyDHL 3.1.1 has no shipment void
        params = wire.build_pickup_cancel(self._settings.requestor_name, "Return cancelled")
        reply = await self._call("DELETE", wire.pickup_path(number), params=list(params.items()), tolerate=(400,))
        wire.parse_pickup_cancel(reply.status, reply.body)

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Move the pickup (PATCH /pickups/{number}), fixing the consumer's contact or address on the way.

        Raises: CarrierRejected when the pickup number is unknown, or when this process did not book
        the pickup and was not given both contact and address (DHL wants the shipper in the PATCH).
        """
        number = self._pickup_number(awb, carrier_reference)
        if number == wire.NO_PICKUP:
            raise CarrierRejected(self.code, f"{awb} is a drop-off return: there is no pickup to move")
        known = self._pickups.get(awb)
        shipper = self._shipper(known, contact, address)
        body = wire.build_pickup_update(number, account=self._settings.account_number,
                                        planned_at=self._planned_at(pickup_date), shipper=shipper)
        reply = await self._call("PATCH", wire.pickup_path(number), json_body=body)
        moved = wire.parse_pickup_update(reply.body)
        booking = known.booking if known else Booking(carrier=self.code, awb=awb, carrier_reference=moved)
        self._pickups[awb] = _Pickup(moved, shipper, booking)

    def _pickup_number(self, awb: str, carrier_reference: str) -> str:
        known = self._pickups.get(awb)
        number = known.dispatch_confirmation if known is not None else carrier_reference
        if not number:
            raise CarrierRejected(self.code, f"no pickup confirmation known for {awb}; pass the booking's "
                                             "carrier_reference (see carriers/dhl/README.md)")
        return number

    def _shipper(self, known: _Pickup | None, contact: Contact | None, address: Address | None) -> dict[str, Any]:
        if known is None:
            if contact is None or address is None:
                raise CarrierRejected(self.code, "moving a DHL pickup booked by another process needs the "
                                                 "consumer's contact and address")
            return wire.party(address, contact)
        if contact is None and address is None:
            return known.shipper
        original = known.shipper["postalAddress"]
        return wire.party(address or _address_from(original), contact or _contact_from(known.shipper))

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw MyDHL tracking answer per chunk of at most `track_batch` AWBs."""
        size = min(self._settings.track_batch, self.capabilities.max_track_batch)
        chunks = [awbs[i:i + size] for i in range(0, len(awbs), size)]
        return [(await self._call("GET", wire.TRACKING_PATH, params=wire.build_tracking(c), tolerate=(404,))).body
                for c in chunks]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire_tracking.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire_tracking.parse_push(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return wire_tracking.is_signed_push(headers, body, self._settings.webhook_secret)

    async def _call(self, method: str, path: str, *, params: list[tuple[str, str]] | None = None,
                    json_body: Any = None, tolerate: tuple[int, ...] = ()) -> _Reply:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(method, path, params=params, json_body=json_body,
                                                     tolerate=tolerate), self._settings.retries)

    async def _send(self, method: str, path: str, *, params: list[tuple[str, str]] | None = None,
                    json_body: Any = None, tolerate: tuple[int, ...] = ()) -> _Reply:
        headers = {"Authorization": self._authorization, "Accept": "application/json",
                   "x-version": self._settings.api_version}
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, params=params,
                                                json=json_body, headers=headers)
        if status not in tolerate:
            wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return _Reply(status, raw)


def _address_from(postal: dict[str, str]) -> Address:
    return Address(line1=postal.get("addressLine1", ""), line2=postal.get("addressLine2", ""),
                   city=postal.get("cityName", ""), state=postal.get("provinceCode", ""),
                   country=postal.get("countryCode", ""), postcode=postal.get("postalCode", ""))


def _contact_from(shipper: dict[str, Any]) -> Contact:
    info = shipper["contactInformation"]
    return Contact(name=info["fullName"], phone=info["phone"], email=info.get("email"),
                   phone_region=shipper["postalAddress"]["countryCode"])
