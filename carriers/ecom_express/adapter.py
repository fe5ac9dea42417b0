"""Ecom Express's adapter: the HTTP around `wire.py` (form auth, timeouts, retries, idempotent booking)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from datetime import date
from typing import ClassVar

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
from carriers.ecom_express import wire
from carriers.ecom_express.settings import EcomExpressSettings
from carriers.errors import CarrierRejected, CarrierUnavailable
from carriers.http import send, with_retries


class EcomExpressAdapter:
    """Reverse pickups through Ecom Express's API v2 (a REV AWB, then the reverse manifest)."""

    code: ClassVar[str] = "ecom_express"
    name: ClassVar[str] = "Ecom Express"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=False, cancel=True, reschedule=False, webhook_push=True,
        max_track_batch=wire.MAX_TRACK_BATCH, label_by_carrier=True,
    )
    settings_model: ClassVar[type[CarrierSettings]] = EcomExpressSettings

    def __init__(self, settings: EcomExpressSettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._api = settings.base_url.rstrip("/")
        self._tracking = settings.tracking_url.rstrip("/")
        self._labels = settings.label_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._credentials = wire.credentials(settings.username, settings.password.get_secret_value())

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Whether Ecom Express lists both PIN codes as active (weight is not checked)."""
        if pickup.country != "IN" or drop.country != "IN":
            return Serviceability(is_serviceable=False, reason="Ecom Express serves Indian PIN codes only")
        for pin, leg in ((pickup.postcode, "pickup from"), (drop.postcode, "delivery to")):
            raw = await self._call("POST", self._api + wire.PINCODE_PATH, form={"pincode": pin})
            if not wire.parse_pincodes(raw, pin):
                return Serviceability(is_serviceable=False, reason=f"no {leg} {pin}")
        return Serviceability(is_serviceable=True)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once: a retry, or a second call, with the same reference returns the first AWB.

        Every attempt takes a fresh REV AWB; the ORDER_NUMBER is what Ecom Express keeps unique.
        """
        awb = wire.parse_fetch_awb(await self._call("POST", self._api + wire.FETCH_AWB_PATH,
                                                    form=wire.build_fetch_awb()))
        form = wire.build_reverse_manifest(request, awb, vendor_id=self._settings.vendor_id)
        raw = await self._call("POST", self._api + wire.MANIFEST_PATH, form=form)
        try:
            return wire.parse_manifest(raw)
        except wire.DuplicateOrder:
            # A retry after a lost answer, or a concurrent call, already booked: reuse that AWB.
            return await self._recover(request.reference)

    async def _recover(self, reference: str) -> Booking:
        raw = await self._track_call(wire.track_params(orders=[reference]))
        awb = wire.parse_reference_lookup(raw, reference)
        if awb is None:
            raise CarrierUnavailable(self.code, f"order {reference} not yet visible in tracking")
        return Booking(carrier=self.code, awb=awb, carrier_reference=reference)

    async def label(self, awb: str) -> Booking | None:
        """Ecom Express's own shipping label PDF, None when it has none for the AWB."""
        pdf = wire.parse_label(await self._call("POST", self._labels + wire.LABEL_PATH, form={"awb": awb}))
        return None if pdf is None else Booking(carrier=self.code, awb=awb, label_pdf=pdf)

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup; an AWB already cancelled is fine. Raises: CarrierRejected after pickup."""
        raw = await self._call("POST", self._api + wire.CANCEL_PATH, form=wire.build_cancel([awb]))
        wire.parse_cancel(raw, awb)

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Not supported: the NDR-resolution payload is undocumented (see README.md).

        Raises: CarrierRejected always.
        """
        raise CarrierRejected(self.code, "Ecom Express reverse pickups cannot be rescheduled through the API")

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw tracking XML per chunk of at most `track_batch` AWBs."""
        size = min(self._settings.track_batch, self.capabilities.max_track_batch)
        chunks = [awbs[i:i + size] for i in range(0, len(awbs), size)]
        return [await self._track_call(wire.track_params(awbs=c)) for c in chunks]

    async def _track_call(self, params: Mapping[str, str]) -> bytes:
        # mawbd takes the credentials in the query string, as documented.
        return await self._call("GET", self._tracking + wire.TRACK_PATH, params={**params, **self._credentials})

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """HTTP Basic auth agreed at set-up: `webhook_user` and the shared `webhook_secret`."""
        secret = self._settings.webhook_secret
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, encoded = authorization.partition(" ")
        if not secret or scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self._settings.webhook_user}:{secret}".encode()
        return hmac.compare_digest(f"{user}:{password}".encode(), expected)

    async def _call(self, method: str, url: str, *, form: Mapping[str, str] | None = None,
                    params: Mapping[str, str] | None = None) -> bytes:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        data = {**self._credentials, **form} if form is not None else None
        return await with_retries(lambda: self._send(method, url, data=data, params=params), self._settings.retries)

    async def _send(self, method: str, url: str, *, data: Mapping[str, str] | None,
                    params: Mapping[str, str] | None) -> bytes:
        # quote_error=False: an aiohttp error may quote the URL, and mawbd's query holds the password.
        status, raw, reply_headers = await send(self._session, self.code, method, url, timeout=self._timeout,
                                                log_path=url, quote_error=False, data=data, params=params)
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
