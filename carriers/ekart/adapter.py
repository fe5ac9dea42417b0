"""Ekart's adapter: the HTTP around `wire.py` (bearer token, timeouts, retries, idempotent booking)."""

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
from carriers.ekart import wire
from carriers.ekart.settings import EkartSettings
from carriers.errors import CarrierAuthError
from carriers.http import send, with_retries
from carriers.oauth import TokenCache

_NOT_FOUND = frozenset({404})



class EkartAdapter:
    """Reverse pickups (with doorstep QC) through Ekart's Elite API."""

    code: ClassVar[str] = "ekart"
    name: ClassVar[str] = "Ekart"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=True, cancel=True, reschedule=True, webhook_push=True,
        max_track_batch=1, label_by_carrier=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = EkartSettings

    def __init__(self, settings: EkartSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._tokens = TokenCache(self._fetch_token, clock)
        self._seller = wire.Seller(settings.seller_name, settings.seller_address, settings.seller_gst_tin,
                                   settings.warehouse_alias)

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Whether Ekart picks up returns at `pickup` and drops them at `drop` (weight is not checked)."""
        if pickup.country != "IN" or drop.country != "IN":
            return Serviceability(is_serviceable=False, reason="Ekart serves Indian PIN codes only")
        source = await self._pincode(pickup.postcode)
        if source is None or not source.has_reverse_pickup:
            return Serviceability(is_serviceable=False, reason=f"no reverse pickup from {pickup.postcode}")
        target = await self._pincode(drop.postcode)
        if target is None or not target.has_reverse_drop:
            return Serviceability(is_serviceable=False, reason=f"no return drop at {drop.postcode}")
        return Serviceability(is_serviceable=True)

    async def _pincode(self, pin: str) -> wire.Pincode | None:
        return wire.parse_serviceability(await self._authed("GET", wire.SERVICEABILITY_PATH.format(pincode=pin)))

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once: Ekart answers a repeated order number with the shipment it already holds."""
        invoice_date = self._clock.now().astimezone(wire.IST).date()
        body = wire.build_create(request, seller=self._seller, invoice_date=invoice_date)
        return wire.parse_create(await self._authed("PUT", wire.CREATE_PATH, json_body=body))

    async def label(self, awb: str) -> Booking | None:
        """Ekart's own label PDF, None when it has none for this tracking id."""
        raw = await self._authed("POST", wire.LABEL_PATH, params={"json_only": "false"},
                                 json_body=wire.build_label([awb]), accept=_NOT_FOUND)
        pdf = wire.parse_label(raw)
        return None if pdf is None else Booking(carrier=self.code, awb=awb, label_pdf=pdf)

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup; an id already cancelled is fine. Raises: CarrierRejected after pickup."""
        wire.parse_cancel(await self._authed("DELETE", wire.CANCEL_PATH, params={"tracking_id": awb}))

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Ask for another attempt on `pickup_date` (Ekart takes 1-7 days ahead), fixing phone/address.

        Raises: CarrierRejected when Ekart refuses (wrong status, date out of range).
        """
        body = wire.build_reattempt(awb, pickup_date, contact, address)
        wire.parse_ndr_action(await self._authed("POST", wire.NDR_PATH, json_body=body))

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw tracking payload per id: Ekart's tracking API takes one id and needs no token."""
        paths = [wire.TRACK_PATH.format(id=awb) for awb in awbs]
        return [await self._call("GET", path, headers={}, accept=_NOT_FOUND) for path in paths]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """The body's HMAC-SHA256 under the registered secret, hex, in `wire.SIGNATURE_HEADER`."""
        secret = self._settings.webhook_secret
        if not secret:
            return False
        lowered = {k.lower(): v for k, v in headers.items()}
        offered = lowered.get(wire.SIGNATURE_HEADER.lower(), "").strip().removeprefix("sha256=")
        return hmac.compare_digest(offered.encode(), wire.signature(body, secret).encode())

    async def _fetch_token(self) -> tuple[str, float]:
        path = wire.TOKEN_PATH.format(client_id=self._settings.client_id)
        body = wire.build_token_request(self._settings.username, self._settings.password.get_secret_value())
        return wire.parse_token(await self._call("POST", path, headers={}, json_body=body))

    async def _authed(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      json_body: Any = None, accept: frozenset[int] = frozenset()) -> bytes:
        """Call with the bearer token; on 401 fetch a new token and try once more."""
        try:
            return await self._call(method, path, headers=await self._bearer(), params=params,
                                    json_body=json_body, accept=accept)
        except CarrierAuthError:
            self._tokens.invalidate()
        return await self._call(method, path, headers=await self._bearer(), params=params, json_body=json_body,
                                accept=accept)

    async def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self._tokens.get()}"}

    async def _call(self, method: str, path: str, *, headers: dict[str, str],
                    params: Mapping[str, str] | None = None, json_body: Any = None,
                    accept: frozenset[int] = frozenset()) -> bytes:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(method, path, headers=headers, params=params,
                                                     json_body=json_body, accept=accept), self._settings.retries)

    async def _send(self, method: str, path: str, *, headers: dict[str, str], params: Mapping[str, str] | None,
                    json_body: Any, accept: frozenset[int]) -> bytes:
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, params=params,
                                                json=json_body, headers=headers | {"Accept": "application/json"})
        if status not in accept:
            wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
