"""Xpressbees' adapter: the HTTP around `wire.py` (token login, timeouts, retries, idempotent booking)."""

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
from carriers.errors import CarrierAuthError, CarrierRejected
from carriers.http import send, with_retries
from carriers.oauth import TokenCache
from carriers.xpressbees import wire
from carriers.xpressbees.settings import XpressbeesSettings


class XpressbeesAdapter:
    """Reverse pickups through Xpressbees' enterprise (XB) reverse-manifest API."""

    code: ClassVar[str] = "xpressbees"
    name: ClassVar[str] = "Xpressbees"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=False, webhook_push=False,
        max_track_batch=20, label_by_carrier=False,
    )
    settings_model: ClassVar[type[CarrierSettings]] = XpressbeesSettings

    def __init__(self, settings: XpressbeesSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._manifest_url = settings.base_url.rstrip("/") + wire.MANIFEST_PATH
        self._token_url = settings.auth_url.rstrip("/") + wire.TOKEN_PATH
        self._client_api = settings.client_api_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._tokens = TokenCache(self._fetch_token, clock)

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Indian lanes only; PIN codes are checked at booking (no public serviceability format, see README)."""
        if pickup.country != "IN" or drop.country != "IN":
            return Serviceability(is_serviceable=False, reason="Xpressbees serves Indian PIN codes only")
        return Serviceability(is_serviceable=True)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once; a retry, or a second call, with the same reference returns the first AWB."""
        body = wire.build_manifest(request, business_account=self._settings.business_account_name)
        raw = await self._with_token(self._manifest_url, body)
        try:
            return wire.parse_manifest(raw, request.reference)
        except wire.DuplicateOrder as duplicate:
            # A retry after a lost answer, or a concurrent call, already booked: reuse that AWB.
            return Booking(carrier=self.code, awb=duplicate.awb, carrier_reference=request.reference)

    async def label(self, awb: str) -> Booking | None:
        """Xpressbees returns no label for a reverse pickup; the gateway prints its own."""
        return None

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup (RTO-notify); an AWB already cancelled is fine. Raises: CarrierRejected."""
        body = wire.build_cancel(awb, xb_key=self._settings.xb_key.get_secret_value())
        wire.parse_cancel(await self._call(self._client_api + wire.CANCEL_PATH, body))

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Not offered: Xpressbees re-attempts a failed pickup itself (see README.md)."""
        raise CarrierRejected(self.code, "Xpressbees has no reschedule call for reverse pickups")

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw summary payload per chunk of at most `track_batch` AWBs."""
        size = min(self._settings.track_batch, self.capabilities.max_track_batch)
        key = self._settings.xb_key.get_secret_value()
        url = self._client_api + wire.TRACK_PATH
        return [await self._call(url, wire.build_track(awbs[i:i + size], xb_key=key))
                for i in range(0, len(awbs), size)]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        """Raises: CarrierRejected: the push format is not public enough to accept (see README.md)."""
        raise CarrierRejected(self.code, "Xpressbees webhooks are not supported")

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    async def _fetch_token(self) -> tuple[str, float]:
        settings = self._settings
        body = wire.build_token_request(settings.username, settings.password.get_secret_value(),
                                        settings.secret_key.get_secret_value())
        try:
            raw = await self._call(self._token_url, body)
        except wire.TokenRejected as exc:
            # A 401 at login means the credentials are wrong: a new token cannot help.
            raise CarrierAuthError(self.code, f"login refused: {exc.detail}") from exc
        return wire.parse_token(raw), float(settings.token_lifetime_s)

    async def _with_token(self, url: str, body: Any) -> bytes:
        """POST with the session token; on 401 fetch a new token and try once more."""
        try:
            return await self._call(url, body, headers=self._token_headers(await self._tokens.get()))
        except wire.TokenRejected:
            self._tokens.invalidate()
        return await self._call(url, body, headers=self._token_headers(await self._tokens.get()))

    @staticmethod
    def _token_headers(token: str) -> dict[str, str]:
        return {"token": token, "versionnumber": wire.VERSION_NUMBER}

    async def _call(self, url: str, body: Any, *, headers: Mapping[str, str] | None = None) -> bytes:
        """POST with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(url, body, headers or {}), self._settings.retries)

    async def _send(self, url: str, body: Any, headers: Mapping[str, str]) -> bytes:
        status, raw, reply_headers = await send(self._session, self.code, "POST", url, timeout=self._timeout,
                                                log_path=url, json=body,
                                                headers={"Accept": "application/json", **headers})
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
