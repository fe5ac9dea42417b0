"""Blue Dart's adapter: the HTTP around `wire.py` (JWT, timeouts, retries, idempotent booking)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
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
from carriers.bluedart import wire
from carriers.bluedart.settings import BlueDartSettings
from carriers.clock import Clock
from carriers.errors import CarrierUnavailable, NotServiceable
from carriers.http import send, with_retries
from carriers.oauth import TokenCache

# The header our Push API endpoint expects the shared secret in (Blue Dart lets the client choose).
WEBHOOK_TOKEN_HEADER = "token"



class BlueDartAdapter:
    """Reverse pickups through Blue Dart's API gateway (waybill with IsReversePickup + RegisterPickup)."""

    code: ClassVar[str] = "bluedart"
    name: ClassVar[str] = "Blue Dart"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=True, webhook_push=True,
        max_track_batch=wire.MAX_TRACK_BATCH, label_by_carrier=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = BlueDartSettings

    def __init__(self, settings: BlueDartSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._tokens = TokenCache(self._fetch_token, clock)
        self._profile = wire.profile(settings.login_id, settings.licence_key.get_secret_value())
        self._account = wire.Account(settings.customer_code, settings.product_code, settings.sub_product_code,
                                     settings.pickup_time)

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Whether Blue Dart picks up at `pickup` (Apex outbound) and delivers to `drop` (Apex inbound)."""
        if pickup.country != "IN" or drop.country != "IN":
            return Serviceability(is_serviceable=False, reason="Blue Dart serves Indian PIN codes only")
        source = await self._finder(pickup.postcode)
        if source is None or not source.has_pickup:
            return Serviceability(is_serviceable=False, reason=f"no reverse pickup from {pickup.postcode}")
        target = await self._finder(drop.postcode)
        if target is None or not target.has_delivery:
            return Serviceability(is_serviceable=False, reason=f"no delivery to {drop.postcode}")
        return Serviceability(is_serviceable=True)

    async def _finder(self, pin: str) -> wire.PincodeServices | None:
        raw = await self._call("POST", wire.FINDER_PATH, json_body=wire.build_finder(pin, self._profile))
        return wire.parse_finder(raw)

    async def _origin_area(self, pin: str) -> str:
        services = await self._finder(pin)
        if services is None or not services.has_pickup:
            raise NotServiceable(self.code, f"no reverse pickup from {pin}")
        return services.area_code

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once; a retry, or a second call, with the same reference returns the first AWB."""
        origin_area = await self._origin_area(request.pickup_address.postcode)
        body = wire.build_waybill(request, account_profile=self._profile, account=self._account,
                                  origin_area=origin_area, pickup_date=request.pickup_date or self._tomorrow())
        raw = await self._call("POST", wire.WAYBILL_PATH, json_body=body)
        try:
            return wire.parse_waybill(raw)
        except wire.DuplicateReference:
            # A retry after a lost answer, or a concurrent call, already booked: reuse that AWB.
            return await self._recover(request.reference)

    def _tomorrow(self) -> date:
        return self._clock.now().astimezone(wire.IST).date() + timedelta(days=1)

    async def _recover(self, reference: str) -> Booking:
        raw = await self._call("GET", wire.TRACK_PATH, params=self._track_params([reference], by_reference=True))
        awb = wire.parse_reference_lookup(raw, reference)
        if awb is None:
            raise CarrierUnavailable(self.code, f"waybill for {reference} not yet visible in tracking")
        return Booking(carrier=self.code, awb=awb)

    async def label(self, awb: str) -> Booking | None:
        """None: Blue Dart returns its label PDF only with the booking (`Booking.label_pdf`)."""
        return None

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup; an AWB already cancelled is fine. Raises: CarrierRejected after pickup."""
        raw = await self._call("POST", wire.CANCEL_PATH, json_body=wire.build_cancel(awb, self._profile))
        wire.parse_cancel(raw)

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Register a new pickup for the waybill on `pickup_date`, with a corrected contact or address."""
        area = await self._origin_area(address.postcode) if address is not None else ""
        body = wire.build_register_pickup(awb, pickup_date, account_profile=self._profile, account=self._account,
                                          office_close_time=self._settings.office_close_time, contact=contact,
                                          address=address, area_code=area)
        wire.parse_register_pickup(await self._call("POST", wire.PICKUP_PATH, json_body=body))

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw tracking XML per chunk of at most `track_batch` AWBs."""
        size = min(self._settings.track_batch, self.capabilities.max_track_batch)
        chunks = [awbs[i:i + size] for i in range(0, len(awbs), size)]
        return [await self._call("GET", wire.TRACK_PATH, params=self._track_params(c)) for c in chunks]

    def _track_params(self, numbers: Sequence[str], *, by_reference: bool = False) -> dict[str, str]:
        key = self._settings.tracking_licence_key or self._settings.licence_key
        return wire.track_params(numbers, login_id=self._settings.login_id, licence_key=key.get_secret_value(),
                                 by_reference=by_reference)

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """The shared secret agreed at Push API set-up, sent in the `token` header."""
        secret = self._settings.webhook_secret
        if not secret:
            return False
        offered = {k.lower(): v for k, v in headers.items()}.get(WEBHOOK_TOKEN_HEADER, "")
        return hmac.compare_digest(offered.encode(), secret.encode())

    async def _fetch_token(self) -> tuple[str, float]:
        headers = {"ClientID": self._settings.client_id.get_secret_value(),
                   "clientSecret": self._settings.client_secret.get_secret_value(), "Accept": "application/json"}
        status, raw, retry_after = await self._http("GET", wire.TOKEN_PATH, headers=headers)
        wire.check_http(status, raw, retry_after)
        return wire.parse_token(raw), float(self._settings.jwt_lifetime_s)

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json_body: Any = None) -> bytes:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(method, path, params=params, json_body=json_body),
                                  self._settings.retries)

    async def _send(self, method: str, path: str, *, params: Mapping[str, str] | None, json_body: Any) -> bytes:
        """One request with the cached JWT; a 401 means it expired early, so fetch a new one once."""
        for is_last in (False, True):
            headers = {"JWTToken": await self._tokens.get(), "Accept": "application/json"}
            status, raw, retry_after = await self._http(method, path, headers=headers, params=params,
                                                        json_body=json_body)
            if status == 401 and not is_last:
                self._tokens.invalidate()
                continue
            wire.check_http(status, raw, retry_after)
            return raw
        raise AssertionError("the last attempt returns or raises")

    async def _http(self, method: str, path: str, *, headers: Mapping[str, str],
                    params: Mapping[str, str] | None = None, json_body: Any = None) -> tuple[int, bytes, str | None]:
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, params=params,
                                                json=json_body, headers=headers)
        return status, raw, reply_headers.get("Retry-After")
