"""FedEx's adapter: OAuth, timeouts, retries and idempotent booking around `wire.py`."""

from __future__ import annotations

import asyncio
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
from carriers.errors import CarrierAuthError, CarrierRejected, NotServiceable
from carriers.fedex import wire, wire_track
from carriers.fedex.settings import FedexSettings
from carriers.http import send, with_retries
from carriers.oauth import TokenCache

# Labels and pickup handles of recent bookings, kept for label() and cancel() (see README.md).
_KEEP_BOOKINGS = 2000
_T = TypeVar("_T")



@dataclass
class _Booked:
    booking: Booking
    pickup: wire.PickupHandle | None = None


class FedexAdapter:
    """Reverse pickups as FedEx return shipments (printed return label) plus an on-call pickup."""

    code: ClassVar[str] = "fedex"
    name: ClassVar[str] = "FedEx"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=False, webhook_push=True,
        max_track_batch=30, label_by_carrier=True, countries=frozenset({"US"}), drop_off=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = FedexSettings

    def __init__(self, settings: FedexSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._tokens = TokenCache(self._fetch_token, clock)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._booked: OrderedDict[str, _Booked] = OrderedDict()

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Whether FedEx offers an on-call pickup at `pickup` (the Pickup availability API)."""
        if pickup.country not in self.capabilities.countries or drop.country not in self.capabilities.countries:
            return Serviceability(is_serviceable=False, reason="this FedEx adapter serves US lanes only")
        if not await self._is_available(pickup, drop):
            return Serviceability(is_serviceable=False, reason=f"no FedEx pickup at {pickup.postcode}")
        return Serviceability(is_serviceable=True)

    async def _is_available(self, pickup: Address, drop: Address) -> bool:
        body = wire.build_availability(pickup, carrier_code=self._settings.carrier_code,
                                       is_domestic=pickup.country == drop.country)
        raw = await self._send("POST", wire.AVAILABILITY_PATH, body)
        return wire.parse_availability(raw, carrier_code=self._settings.carrier_code)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once: a shipment already carrying our reference is reused, never booked again."""
        lock = self._locks.get(request.reference)
        if lock is None:
            lock = self._locks[request.reference] = asyncio.Lock()
        async with lock:
            return await self._retrying(lambda: self._book_once(request))

    async def _book_once(self, request: PickupRequest) -> Booking:
        # One unit for the retry: a lost create answer is found by reference on the next attempt.
        awb = await self._find(request.reference)
        if awb is None:
            if not request.drop_off and not await self._is_available(request.pickup_address, request.drop_address):
                raise NotServiceable(self.code, f"no FedEx pickup at {request.pickup_address.postcode}")
            body = wire.build_return_shipment(request, account_number=self._settings.account_number,
                                              service_type=self._settings.service_type)
            booked = wire.parse_shipment(await self._send("POST", wire.SHIP_PATH, body))
            awb = booked.awb
            self._remember(awb, _Booked(booked.model_copy(update={"carrier_reference": request.reference})))
        entry = self._booked.get(awb) or _Booked(Booking(carrier=self.code, awb=awb))
        if request.drop_off:
            # DROPOFF_AT_FEDEX_LOCATION: the label alone, no on-call pickup.
            return entry.booking
        if entry.pickup is None:
            entry.pickup = await self._book_pickup(request, awb)
            self._remember(awb, entry)
        return entry.booking.model_copy(update={"carrier_reference": entry.pickup.reference})

    async def _find(self, reference: str) -> str | None:
        body = wire.build_reference_lookup(reference, account_number=self._settings.account_number)
        return wire_track.parse_reference_lookup(await self._send("POST", wire.REFERENCE_PATH, body))

    async def _book_pickup(self, request: PickupRequest, awb: str) -> wire.PickupHandle:
        day = request.pickup_date or (self._clock.now() + timedelta(days=1)).date()
        body = wire.build_pickup(request, awb, account_number=self._settings.account_number,
                                 carrier_code=self._settings.carrier_code, pickup_date=day)
        raw = await self._send("POST", wire.PICKUP_PATH, body)
        return wire.parse_pickup(raw, scheduled_date=day, carrier_code=self._settings.carrier_code)

    def _remember(self, awb: str, entry: _Booked) -> None:
        self._booked[awb] = entry
        self._booked.move_to_end(awb)
        while len(self._booked) > _KEEP_BOOKINGS:
            self._booked.popitem(last=False)

    async def label(self, awb: str) -> Booking | None:
        """The PDF label FedEx returned at booking; None once this process has forgotten it.

        FedEx has no label reprint call; the gateway then prints its own label.
        """
        entry = self._booked.get(awb)
        return entry.booking if entry is not None else None

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel the on-call pickup and the return shipment; a second cancel is a no-op.

        The pickup is this process's own, else the one encoded in `carrier_reference` (see README.md).
        Raises: CarrierRejected when FedEx refuses and the shipment is not already cancelled.
        """
        entry = self._booked.get(awb)
        handle = entry.pickup if entry is not None else wire.PickupHandle.from_reference(carrier_reference)
        if handle is not None:
            await self._cancel_pickup(handle)
            if entry is not None:
                entry.pickup = None
        body = wire.build_cancel(awb, account_number=self._settings.account_number)
        try:
            is_cancelled = wire.parse_cancel(await self._call("PUT", wire.SHIP_CANCEL_PATH, body))
        except CarrierRejected:
            is_cancelled = False
        if not is_cancelled and not await self._is_cancelled(awb):
            raise CarrierRejected(self.code, f"FedEx refused to cancel {awb}")

    async def _cancel_pickup(self, handle: wire.PickupHandle) -> None:
        body = wire.build_pickup_cancel(handle, account_number=self._settings.account_number)
        try:
            wire.parse_pickup_cancel(await self._call("PUT", wire.PICKUP_CANCEL_PATH, body))
        except CarrierRejected:
            # Already cancelled (a repeat from another process) or already collected: the
            # shipment's own cancel answer below tells the two apart.
            pass

    async def _is_cancelled(self, awb: str) -> bool:
        events = wire_track.parse_tracking(await self._call("POST", wire.TRACK_PATH, wire.build_track([awb])))
        latest = max(events, key=lambda e: e.occurred_at, default=None)
        return latest is not None and latest.code == wire_track.CANCELLED_CODE

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Not offered: FedEx's Pickup API has no change call (see README.md). Raises: CarrierRejected."""
        raise CarrierRejected(self.code, "FedEx pickups cannot be rescheduled; cancel and book again")

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One Track API answer per chunk of at most `track_batch` tracking numbers."""
        size = min(self._settings.track_batch, self.capabilities.max_track_batch)
        chunks = [list(awbs[i:i + size]) for i in range(0, len(awbs), size)]
        return [await self._call("POST", wire.TRACK_PATH, wire.build_track(c)) for c in chunks]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire_track.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire_track.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """AIV signs the raw body: `fdx-signature` = Base64(HMAC-SHA256(security token, body))."""
        offered = {k.lower(): v for k, v in headers.items()}.get(wire_track.SIGNATURE_HEADER, "")
        return wire_track.is_signed(self._settings.webhook_secret, offered, body)

    # -- HTTP -------------------------------------------------------------------------------

    async def _retrying(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """Run `work` again on CarrierUnavailable only; every other error is final."""
        return await with_retries(work, self._settings.retries)

    async def _call(self, method: str, path: str, body: Any) -> bytes:
        return await self._retrying(lambda: self._send(method, path, body))

    async def _send(self, method: str, path: str, body: Any) -> bytes:
        """One request with a bearer token; a 401 gets a fresh token and one more try."""
        try:
            return await self._request(method, path, body, await self._tokens.get())
        except wire.TokenRejected:
            self._tokens.invalidate()
            return await self._request(method, path, body, await self._tokens.get())

    async def _request(self, method: str, path: str, body: Any, token: str) -> bytes:
        headers = {"Authorization": f"Bearer {token}", "X-locale": self._settings.locale}
        return await self._http(method, path, headers=headers, json_body=body)

    async def _fetch_token(self) -> tuple[str, float]:
        form = wire.build_token_form(self._settings.api_key.get_secret_value(),
                                     self._settings.secret_key.get_secret_value())
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            raw = await self._http("POST", wire.TOKEN_PATH, headers=headers, data=form)
        except wire.TokenRejected as exc:
            # 401 on the token call itself: the credentials are wrong, not the token.
            raise CarrierAuthError(self.code, f"token refused: {exc.detail}") from exc
        return wire.parse_token(raw)

    async def _http(self, method: str, path: str, *, headers: dict[str, str], json_body: Any = None,
                    data: bytes | None = None) -> bytes:
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, json=json_body, data=data,
                                                headers=headers)
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
