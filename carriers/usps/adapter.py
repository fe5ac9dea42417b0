"""USPS's adapter: the HTTP around `wire.py`/`wire_tracking.py` (OAuth, payment token, retries, idempotent labels)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
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
from carriers.errors import CarrierRejected, NotServiceable
from carriers.http import send, with_retries
from carriers.oauth import TokenCache
from carriers.usps import wire, wire_tracking
from carriers.usps.settings import UspsSettings

_FORM = "application/x-www-form-urlencoded"



@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Pickup:
    """A scheduled carrier pickup: USPS keys it by its confirmation number, not the tracking number."""

    confirmation: str
    body: dict[str, Any]


class UspsAdapter:
    """Returns through USPS APIs v3: a prepaid return label plus a Carrier Pickup at the consumer's door."""

    code: ClassVar[str] = "usps"
    name: ClassVar[str] = "USPS"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=True, webhook_push=False,
        max_track_batch=1, label_by_carrier=True, rate_limit_per_min=1, countries=frozenset({"US"}),
        drop_off=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = UspsSettings

    def __init__(self, settings: UspsSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._tokens = TokenCache(self._fetch_token, clock)
        self._payment = TokenCache(self._fetch_payment_token, clock)
        self._bookings: dict[str, Booking] = {}  # by our reference
        self._pickups: dict[str, _Pickup] = {}  # by tracking number
        self._locks: dict[str, asyncio.Lock] = {}

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Domestic only; whether the carrier picks up at the door is known when the pickup is booked."""
        if pickup.country != "US" or drop.country != "US":
            return Serviceability(is_serviceable=False, reason="USPS return labels are domestic (US) only")
        if parcel.weight_g > 70 * 453:
            return Serviceability(is_serviceable=False, reason="USPS takes at most 70 lb")
        return Serviceability(is_serviceable=True)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """A return label (replayed by USPS for a retried idempotency key), then one carrier pickup for it."""
        async with self._locks.setdefault(request.reference, asyncio.Lock()):
            known = self._bookings.get(request.reference)
            if known is not None:
                return known
            booking = await self._return_label(request)
            if request.drop_off:
                # The return label alone: the customer takes the parcel to a Post Office.
                self._bookings[request.reference] = booking
                return booking
            if booking.awb not in self._pickups:
                await self._schedule_pickup(request, booking.awb)
            booking = booking.model_copy(update={"carrier_reference": self._pickups[booking.awb].confirmation})
            self._bookings[request.reference] = booking
            return booking

    async def _return_label(self, request: PickupRequest) -> Booking:
        body = wire.build_return_label(request, mail_class=self._settings.mail_class,
                                       rate_indicator=self._settings.rate_indicator,
                                       processing_category=self._settings.processing_category)
        headers = {wire.PAYMENT_HEADER: await self._payment.get(),
                   wire.IDEMPOTENCY_HEADER: wire.idempotency_key(request.reference)}
        reply = await self._api("POST", wire.RETURN_LABEL_PATH, json_body=body, headers=headers)
        return wire.parse_return_label(reply.body, reply.headers.get("Content-Type", ""))

    async def _schedule_pickup(self, request: PickupRequest, awb: str) -> None:
        day = request.pickup_date or (self._clock.now() + timedelta(days=1)).date()
        body = wire.build_pickup(request, pickup_date=day.isoformat(),
                                 package_location=self._settings.package_location)
        try:
            reply = await self._api("POST", wire.PICKUP_PATH, json_body=body)
        except NotServiceable:
            # No carrier pickup there: an unused label would only cost a refund claim later.
            await self._cancel_label(awb)
            raise
        confirmation, _ = wire.parse_pickup(reply.body)
        self._pickups[awb] = _Pickup(confirmation, body)

    async def label(self, awb: str) -> Booking | None:
        """The label PDF USPS returned at booking, None when this process did not book it."""
        return next((b for b in self._bookings.values() if b.awb == awb and b.label_pdf), None)

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Void the label (CANCELED, or DISPUTED once mailed) and cancel its pickup; twice is fine.

        The pickup is found by its confirmation number: this process's own, else `carrier_reference`.
        """
        await self._cancel_label(awb)
        known = self._pickups.get(awb)
        confirmation = known.confirmation if known is not None else carrier_reference
        if not confirmation:
            return
        current = await self._current(confirmation)
        if current is not None:
            # 404: someone cancelled it between our GET and DELETE; the outcome is the same.
            await self._api("DELETE", wire.pickup_path(confirmation), headers={"If-Match": current[0]},
                            tolerate=(404,))
        self._pickups.pop(awb, None)

    async def _cancel_label(self, awb: str) -> None:
        headers = {wire.PAYMENT_HEADER: await self._payment.get()}
        reply = await self._api("DELETE", wire.label_path(awb), headers=headers, tolerate=(400, 409))
        if reply.status >= 400:
            if wire.is_already_cancelled(reply.body):
                return
            wire.check_http(reply.status, reply.body)
        wire.parse_label_cancel(reply.body)

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Move the carrier pickup (PUT with the ETag from a fresh GET). Raises: CarrierRejected if unknown.

        A pickup this process did not book is found by `carrier_reference` and moved from the body USPS holds.
        """
        known = self._pickups.get(awb)
        confirmation = known.confirmation if known is not None else carrier_reference
        if not confirmation:
            raise CarrierRejected(self.code, f"no pickup known for {awb}; pass the booking's carrier_reference")
        current = await self._current(confirmation)
        if current is None:
            raise CarrierRejected(self.code, f"pickup {confirmation} no longer exists")
        etag, held = current
        stored = known.body if known is not None else held
        body = wire.moved_pickup(stored, pickup_date=pickup_date.isoformat(), place=address, contact=contact)
        reply = await self._api("PUT", wire.pickup_path(confirmation), json_body=body, headers={"If-Match": etag})
        number, _ = wire.parse_pickup(reply.body)
        self._pickups[awb] = _Pickup(number, body)

    async def _current(self, confirmation: str) -> tuple[str, dict[str, Any]] | None:
        """The ETag USPS wants in If-Match (valid 1 h) and the pickup it holds, None when it is gone."""
        reply = await self._api("GET", wire.pickup_path(confirmation), tolerate=(404,))
        if reply.status == 404:
            return None
        return reply.headers.get("ETag") or "", wire.parse_pickup_request(reply.body)

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw DETAIL answer per tracking number (the v3 GET takes one)."""
        return [(await self._api("GET", f"{wire.TRACKING_PATH}/{awb}", params={"expand": "DETAIL"},
                                 tolerate=(404,))).body for awb in awbs]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire_tracking.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        """USPS Subscriptions – Tracking is not supported (format and signing not documented)."""
        return []

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    async def _fetch_token(self) -> tuple[str, float]:
        body = wire.build_token(self._settings.client_id.get_secret_value(),
                                self._settings.client_secret.get_secret_value())
        reply = await self._call("POST", wire.TOKEN_PATH, data=body, headers={"Content-Type": _FORM})
        return wire.parse_token(reply.body)

    async def _fetch_payment_token(self) -> tuple[str, float]:
        body = wire.build_payment_authorization(
            crid=self._settings.crid, mid=self._settings.mid, manifest_mid=self._settings.manifest_mid,
            account_type=self._settings.account_type, account_number=self._settings.account_number)
        reply = await self._api("POST", wire.PAYMENT_PATH, json_body=body)
        return wire.parse_payment_token(reply.body), float(wire.PAYMENT_TOKEN_LIFETIME_S)

    async def _api(self, method: str, path: str, *, json_body: Any = None, params: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None, tolerate: tuple[int, ...] = ()) -> _Reply:
        """A bearer-authorised call; a refused token is replaced once (401 → invalidate → retry)."""
        for is_last in (False, True):
            token = await self._tokens.get()
            try:
                return await self._call(method, path, json_body=json_body, params=params, tolerate=tolerate,
                                        headers={**(headers or {}), "Authorization": f"Bearer {token}"})
            except wire.TokenRejected:
                self._tokens.invalidate()
                if is_last:
                    raise
        raise AssertionError("the loop returns or raises")

    async def _call(self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None,
                    params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                    tolerate: tuple[int, ...] = ()) -> _Reply:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(method, path, json_body=json_body, data=data, params=params,
                                                     headers=headers or {}, tolerate=tolerate),
                                  self._settings.retries)

    async def _send(self, method: str, path: str, *, json_body: Any, data: bytes | None,
                    params: Mapping[str, str] | None, headers: Mapping[str, str], tolerate: tuple[int, ...]) -> _Reply:
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, params=params,
                                                json=json_body, data=data,
                                                headers={"Accept": "application/json", **headers})
        if status not in tolerate:
            wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return _Reply(status, raw, reply_headers)

