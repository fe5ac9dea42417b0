"""UPS's adapter: OAuth, timeouts, retries and idempotent booking around `wire.py`."""

from __future__ import annotations

import asyncio
import base64
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar, TypeVar

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
from carriers.errors import CarrierAuthError, CarrierRejected
from carriers.http import send, with_retries
from carriers.oauth import TokenCache
from carriers.ups import wire, wire_track
from carriers.ups.settings import UpsSettings

# Labels and pickup handles of recent bookings, kept for label() and cancel() (see README.md).
_KEEP_BOOKINGS = 2000
_T = TypeVar("_T")



@dataclass
class _Booked:
    booking: Booking
    prn: str = ""


class UpsAdapter:
    """Reverse pickups as UPS return shipments (Print Return Label) plus an on-call pickup."""

    code: ClassVar[str] = "ups"
    name: ClassVar[str] = "UPS"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=False, webhook_push=True,
        max_track_batch=1, label_by_carrier=False, countries=frozenset({"US"}), drop_off=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = UpsSettings

    def __init__(self, settings: UpsSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._tokens = TokenCache(self._fetch_token, clock)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._booked: OrderedDict[str, _Booked] = OrderedDict()

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """By country only: UPS answers "service unavailable" (111210) when the label is booked."""
        if pickup.country not in self.capabilities.countries or drop.country not in self.capabilities.countries:
            return Serviceability(is_serviceable=False, reason="this UPS adapter serves US lanes only")
        return Serviceability(is_serviceable=True)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once: a shipment already carrying our reference is reused, never booked again.

        Raises: NotServiceable, CarrierRejected, CarrierUnavailable, CarrierAuthError, CarrierResponseInvalid.
        """
        lock = self._locks.get(request.reference)
        if lock is None:
            lock = self._locks[request.reference] = asyncio.Lock()
        async with lock:
            return await self._retrying(lambda: self._book_once(request))

    async def _book_once(self, request: PickupRequest) -> Booking:
        # One unit for the retry: a lost create answer is found by reference on the next attempt.
        raw = await self._send("GET", wire.reference_path(request.reference), params=wire.TRACK_QUERY)
        awb = wire_track.parse_reference_lookup(raw)
        if awb is None:
            body = wire.build_return_shipment(request, account_number=self._settings.account_number,
                                              service_code=self._settings.service_code,
                                              return_service_code=self._settings.return_service_code)
            booked = wire.parse_shipment(await self._send("POST", wire.SHIP_PATH, json_body=body))
            awb = booked.awb
            self._remember(awb, _Booked(booked))
        entry = self._booked.get(awb) or _Booked(Booking(carrier=self.code, awb=awb))
        if request.drop_off:
            # The Print Return Label alone: the customer takes the parcel to a UPS location.
            return entry.booking
        if not entry.prn:
            # UPS answers with the same PRN when a pickup already exists for the address, so a
            # repeated call here cannot book a second pickup.
            day = request.pickup_date or (self._clock.now() + timedelta(days=1)).date()
            body = wire.build_pickup(request, awb, account_number=self._settings.account_number,
                                     service_code=self._settings.service_code, pickup_date=day)
            entry.prn = wire.parse_pickup(await self._send("POST", wire.PICKUP_PATH, json_body=body))
            self._remember(awb, entry)
        return entry.booking.model_copy(update={"carrier_reference": entry.prn})

    def _remember(self, awb: str, entry: _Booked) -> None:
        self._booked[awb] = entry
        self._booked.move_to_end(awb)
        while len(self._booked) > _KEEP_BOOKINGS:
            self._booked.popitem(last=False)

    async def label(self, awb: str) -> Booking | None:
        """Label data for a shipment booked by this process; UPS labels are GIF, never PDF."""
        entry = self._booked.get(awb)
        return entry.booking if entry is not None else None

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel the on-call pickup and void the shipment; a second cancel is a no-op.

        The pickup is this process's PRN, else `carrier_reference` (the PRN `book_pickup` returned).
        Raises: CarrierRejected when UPS refuses and the shipment is not already voided.
        """
        entry = self._booked.get(awb)
        prn = entry.prn if entry is not None else carrier_reference
        if prn:
            try:
                wire.parse_pickup_cancel(await self._call("DELETE", wire.PICKUP_CANCEL_PATH, headers={"Prn": prn}))
            except CarrierRejected:
                # Already cancelled (a repeat from another process) or already collected: the
                # void's answer below tells the two apart.
                pass
            if entry is not None:
                entry.prn = ""
        try:
            is_voided = wire.parse_void(await self._call("DELETE", wire.void_path(awb)))
        except CarrierRejected:
            is_voided = False
        if not is_voided and not await self._is_voided(awb):
            raise CarrierRejected(self.code, f"UPS refused to void {awb}")

    async def _is_voided(self, awb: str) -> bool:
        events = wire_track.parse_tracking(await self._call("GET", wire.track_path(awb), params=wire.TRACK_QUERY))
        latest = max(events, key=lambda e: e.occurred_at, default=None)
        return latest is not None and latest.code_type in wire_track.VOIDED_TYPES

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Not offered: UPS's Pickup API has no change call (see README.md). Raises: CarrierRejected."""
        raise CarrierRejected(self.code, "UPS pickups cannot be rescheduled; cancel and book again")

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One Track API answer per tracking number: UPS takes one inquiry number per call."""
        return [await self._call("GET", wire.track_path(awb), params=wire.TRACK_QUERY) for awb in awbs]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire_track.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire_track.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Track Alert is unsigned: the `credential` header must carry our agreed secret."""
        offered = {k.lower(): v for k, v in headers.items()}.get(wire_track.CREDENTIAL_HEADER, "")
        return wire_track.is_authentic(self._settings.webhook_secret, offered)

    # -- HTTP -------------------------------------------------------------------------------

    async def _retrying(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """Run `work` again on CarrierUnavailable only; every other error is final."""
        return await with_retries(work, self._settings.retries)

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json_body: Any = None, headers: Mapping[str, str] | None = None) -> bytes:
        return await self._retrying(lambda: self._send(method, path, params=params, json_body=json_body,
                                                       headers=headers))

    async def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json_body: Any = None, headers: Mapping[str, str] | None = None) -> bytes:
        """One request with a bearer token; a refused token gets a fresh one and one more try."""
        try:
            return await self._request(method, path, params, json_body, headers, await self._tokens.get())
        except wire.TokenRejected:
            self._tokens.invalidate()
            return await self._request(method, path, params, json_body, headers, await self._tokens.get())

    async def _request(self, method: str, path: str, params: Mapping[str, str] | None, json_body: Any,
                       extra: Mapping[str, str] | None, token: str) -> bytes:
        headers = {"Authorization": f"Bearer {token}", "transId": uuid.uuid4().hex,
                   "transactionSrc": self._settings.transaction_src, **(extra or {})}
        return await self._http(method, path, headers=headers, params=params, json_body=json_body)

    async def _fetch_token(self) -> tuple[str, float]:
        pair = f"{self._settings.client_id.get_secret_value()}:{self._settings.client_secret.get_secret_value()}"
        headers = {"Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}",
                   "Content-Type": "application/x-www-form-urlencoded",
                   "x-merchant-id": self._settings.account_number}
        try:
            raw = await self._http("POST", wire.TOKEN_PATH, headers=headers, data=b"grant_type=client_credentials")
        except wire.TokenRejected as exc:
            # Refused on the token call itself: the credentials are wrong, not the token.
            raise CarrierAuthError(self.code, f"token refused: {exc.detail}") from exc
        return wire.parse_token(raw)

    async def _http(self, method: str, path: str, *, headers: dict[str, str], params: Mapping[str, str] | None = None,
                    json_body: Any = None, data: bytes | None = None) -> bytes:
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, params=params,
                                                json=json_body, data=data, headers=headers)
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
