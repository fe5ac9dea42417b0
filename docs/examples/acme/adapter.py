"""Acme Parcel's adapter: the HTTP around `wire.py` (bearer key, timeouts, retries on transient errors)."""

from __future__ import annotations

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

from . import wire
from .settings import AcmeSettings


class AcmeAdapter:
    """Reverse pickups through Acme Parcel's JSON API."""

    code: ClassVar[str] = "acme"
    name: ClassVar[str] = "Acme Parcel"
    capabilities: ClassVar[Capabilities] = Capabilities(webhook_push=True, max_track_batch=50)
    settings_model: ClassVar[type[CarrierSettings]] = AcmeSettings

    def __init__(self, settings: AcmeSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Country only; Acme refuses an unserved PIN code at booking (NotServiceable)."""
        return Serviceability(is_serviceable=pickup.country == drop.country == "IN")

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Acme keys bookings by our reference, so a retry after a lost answer gets the first AWB."""
        return wire.parse_booking(await self._call("POST", wire.PICKUPS_PATH, wire.build_booking(request)))

    async def label(self, awb: str) -> Booking | None:
        return None  # Acme prints no label; the gateway prints its own.

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup; Acme answers a second cancel like the first."""
        await self._call("POST", wire.cancel_path(awb), {})

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        raise CarrierRejected(self.code, "Acme has no reschedule call")

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        size = self._settings.track_batch
        return [await self._call("GET", wire.TRACKING_PATH, params={"awb": ",".join(awbs[i:i + size])})
                for i in range(0, len(awbs), size)]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        offered = {k.lower(): v for k, v in headers.items()}.get(wire.SIGNATURE_HEADER, "")
        return wire.is_signed(self._settings.webhook_secret, offered, body)

    async def _call(self, method: str, path: str, json_body: Any = None,
                    params: Mapping[str, str] | None = None) -> bytes:
        """Send, retrying CarrierUnavailable only (`carriers.http.with_retries`); every other error is final."""
        return await with_retries(lambda: self._send(method, path, json_body, params), self._settings.retries)

    async def _send(self, method: str, path: str, json_body: Any, params: Mapping[str, str] | None) -> bytes:
        """Our auth header and body encoding; `carriers.http.send` maps timeouts and dropped connections."""
        headers = {"Authorization": f"Bearer {self._settings.api_key.get_secret_value()}"}
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, json=json_body, params=params,
                                                headers=headers)
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
