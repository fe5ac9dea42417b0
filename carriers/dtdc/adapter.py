"""DTDC's adapter: the HTTP around `wire.py` (two auth schemes, timeouts, retries, idempotent booking)."""

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
from carriers.dtdc import wire
from carriers.dtdc.settings import DtdcSettings
from carriers.errors import CarrierAuthError, CarrierRejected, CarrierUnavailable
from carriers.http import send, with_retries
from carriers.oauth import TokenCache

# DTDC's tracking token lives about 24 h and the answer carries no expiry; renew well before.
_TRACKING_TOKEN_LIFETIME_S = 20 * 3600.0



class DtdcAdapter:
    """Reverse pickups through DTDC's Shipsy order API and its REST tracking API."""

    code: ClassVar[str] = "dtdc"
    name: ClassVar[str] = "DTDC"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=False, webhook_push=False,
        max_track_batch=1, label_by_carrier=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = DtdcSettings

    def __init__(self, settings: DtdcSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._orders_url = settings.base_url.rstrip("/")
        self._pxapi_url = settings.pxapi_url.rstrip("/")
        self._tracking_url = settings.tracking_url.rstrip("/")
        self._tokens = TokenCache(self._fetch_token, clock)

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """DTDC publishes no serviceability API: Indian lanes are assumed served; booking says otherwise."""
        if pickup.country != "IN" or drop.country != "IN":
            return Serviceability(is_serviceable=False, reason="DTDC domestic serves Indian PIN codes only")
        return Serviceability(is_serviceable=True)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once; a retry, or a second call, with the same reference returns the first AWB."""
        body = wire.build_softdata(request, customer_code=self._settings.customer_code,
                                   service_type_id=self._settings.service_type_id)
        raw = await self._call("POST", self._orders_url + wire.SOFTDATA_PATH, headers=self._api_key(),
                               json_body=body)
        try:
            return wire.parse_softdata(raw)
        except wire.DuplicateConsignment:
            # A retry after a lost answer, or a concurrent call, already booked: reuse that AWB.
            return await self._recover(request.reference)

    async def _recover(self, reference: str) -> Booking:
        raw = await self._tracking(wire.build_track(reference, by_reference=True))
        awb = wire.parse_reference_lookup(raw)
        if awb is None:
            raise CarrierUnavailable(self.code, f"duplicate consignment {reference} not yet visible in tracking")
        return Booking(carrier=self.code, awb=awb, carrier_reference=reference)

    async def label(self, awb: str) -> Booking | None:
        """DTDC's own label PDF, None when it has none for this AWB."""
        params = wire.label_params(awb, self._settings.label_code)
        raw = await self._call("GET", self._pxapi_url + wire.LABEL_PATH, headers=self._api_key(), params=params)
        pdf = wire.parse_label(raw)
        return None if pdf is None else Booking(carrier=self.code, awb=awb, label_pdf=pdf)

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup; an AWB already cancelled is fine. Raises: CarrierRejected after pickup."""
        body = wire.build_cancel([awb], customer_code=self._settings.customer_code)
        raw = await self._call("POST", self._pxapi_url + wire.CANCEL_PATH, headers=self._api_key(), json_body=body)
        wire.parse_cancel(raw)

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Raises: CarrierRejected always; DTDC has no public API to move a pickup (see README.md)."""
        raise CarrierRejected(self.code, "DTDC has no public API to reschedule a pickup")

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw tracking payload per AWB: DTDC tracks one consignment per call."""
        return [await self._tracking(wire.build_track(awb)) for awb in awbs]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        """DTDC pushes no webhooks; nothing inbound is ever theirs."""
        return []

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    def _api_key(self) -> dict[str, str]:
        return {"api-key": self._settings.api_key.get_secret_value()}

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"username": self._settings.tracking_username,
                  "password": self._settings.tracking_password.get_secret_value()}
        raw = await self._call("GET", self._tracking_url + wire.AUTH_PATH, headers={}, params=params)
        return wire.parse_token(raw), _TRACKING_TOKEN_LIFETIME_S

    async def _tracking(self, body: dict[str, str]) -> bytes:
        """POST to tracking with the cached token; on 401 fetch a new token and try once more."""
        url = self._tracking_url + wire.TRACK_PATH
        try:
            return await self._call("POST", url, headers={"X-Access-Token": await self._tokens.get()}, json_body=body)
        except CarrierAuthError:
            self._tokens.invalidate()
        return await self._call("POST", url, headers={"X-Access-Token": await self._tokens.get()}, json_body=body)

    async def _call(self, method: str, url: str, *, headers: dict[str, str],
                    params: Mapping[str, str] | None = None, json_body: Any = None) -> bytes:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(method, url, headers=headers, params=params,
                                                     json_body=json_body), self._settings.retries)

    async def _send(self, method: str, url: str, *, headers: dict[str, str], params: Mapping[str, str] | None,
                    json_body: Any) -> bytes:
        status, raw, reply_headers = await send(self._session, self.code, method, url, timeout=self._timeout,
                                                log_path=url.removeprefix(self._orders_url), failure_path=url,
                                                params=params, json=json_body,
                                                headers=headers | {"Accept": "application/json"})
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
