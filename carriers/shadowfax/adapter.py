"""Shadowfax's adapter: the HTTP around `wire.py` (token header, timeouts, retries, idempotent booking)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import date
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
from carriers.errors import CarrierRejected
from carriers.http import send, with_retries
from carriers.shadowfax import wire
from carriers.shadowfax.settings import ShadowfaxSettings


class ShadowfaxAdapter:
    """Reverse pickups through Shadowfax's Unified API (`/v3/clients/requests/`)."""

    code: ClassVar[str] = "shadowfax"
    name: ClassVar[str] = "Shadowfax"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=False, webhook_push=True,
        max_track_batch=50, label_by_carrier=False,
    )
    settings_model: ClassVar[type[CarrierSettings]] = ShadowfaxSettings

    def __init__(self, settings: ShadowfaxSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Whether Shadowfax does customer pickups at `pickup` (the drop is the registered seller)."""
        if pickup.country != "IN" or drop.country != "IN":
            return Serviceability(is_serviceable=False, reason="Shadowfax serves Indian PIN codes only")
        raw = await self._call("GET", wire.SERVICEABILITY_PATH, params=wire.serviceability_params(pickup.postcode))
        if not wire.parse_serviceable(raw, pickup.postcode):
            return Serviceability(is_serviceable=False, reason=f"no customer pickup from {pickup.postcode}")
        return Serviceability(is_serviceable=True)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once; a retry, or a second call, with the same reference returns the first AWB."""
        body = wire.build_create(request, seller_code=self._settings.seller_code)
        raw = await self._call("POST", wire.CREATE_PATH, json_body=body)
        try:
            booking = wire.parse_create(raw)
        except wire.DuplicateRequest as duplicate:
            # A retry after a lost answer, or a concurrent call, already booked: reuse that AWB.
            return Booking(carrier=self.code, awb=duplicate.awb, carrier_reference=request.reference)
        return booking.model_copy(update={"carrier_reference": booking.carrier_reference or request.reference})

    async def label(self, awb: str) -> Booking | None:
        """Shadowfax returns no label for a reverse pickup request; the gateway prints its own."""
        return None

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup; a request already cancelled is fine. Raises: CarrierRejected after pickup."""
        raw = await self._call("POST", wire.CANCEL_PATH, json_body=wire.build_cancel(awb))
        wire.parse_cancel(raw)

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Not offered: no public call moves a reverse pickup (see README.md)."""
        raise CarrierRejected(self.code, "Shadowfax has no reschedule call for reverse pickups")

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw bulk-tracking payload per chunk of at most `track_batch` AWBs."""
        size = min(self._settings.track_batch, self.capabilities.max_track_batch)
        return [await self._call("POST", wire.TRACK_PATH, json_body=wire.build_track(awbs[i:i + size]))
                for i in range(0, len(awbs), size)]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """The shared token registered with Shadowfax, sent back as `Authorization: Token <t>`."""
        secret = self._settings.webhook_secret
        if not secret:
            return False
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, offered = authorization.partition(" ")
        return scheme == "Token" and hmac.compare_digest(offered.strip().encode(), secret.encode())

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    json_body: Any = None) -> bytes:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(method, path, params=params, json_body=json_body),
                                  self._settings.retries)

    async def _send(self, method: str, path: str, *, params: Mapping[str, str] | None, json_body: Any) -> bytes:
        headers = {"Authorization": f"Token {self._settings.token.get_secret_value()}",
                   "Accept": "application/json"}
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, params=params,
                                                json=json_body, headers=headers)
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
