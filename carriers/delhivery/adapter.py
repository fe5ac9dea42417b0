"""Delhivery's adapter: the HTTP around `wire.py` (auth, timeouts, retries, idempotent booking)."""

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
from carriers.delhivery import wire
from carriers.delhivery.settings import DelhiverySettings
from carriers.errors import CarrierUnavailable
from carriers.http import send, with_retries

_FORM = "application/x-www-form-urlencoded"



class DelhiveryAdapter:
    """Reverse pickups through Delhivery's B2C (Express) API."""

    code: ClassVar[str] = "delhivery"
    name: ClassVar[str] = "Delhivery"
    capabilities: ClassVar[Capabilities] = Capabilities(
        reverse_pickup=True, doorstep_qc=True, cancel=True, reschedule=True, webhook_push=True,
        max_track_batch=50, label_by_carrier=False,
    )
    settings_model: ClassVar[type[CarrierSettings]] = DelhiverySettings

    def __init__(self, settings: DelhiverySettings, session: aiohttp.ClientSession, clock: Clock) -> None:
        self._settings = settings
        self._session = session
        self._clock = clock
        self._base_url = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)

    async def serviceability(self, pickup: Address, drop: Address, parcel: Parcel) -> Serviceability:
        """Whether Delhivery picks up at `pickup` and delivers to `drop` (weight is not checked)."""
        if pickup.country != "IN" or drop.country != "IN":
            return Serviceability(is_serviceable=False, reason="Delhivery serves Indian PIN codes only")
        source = await self._pincode(pickup.postcode)
        if source is None or not source.has_pickup or source.remarks:
            return Serviceability(is_serviceable=False, reason=f"no reverse pickup from {pickup.postcode}")
        if await self._pincode(drop.postcode) is None:
            return Serviceability(is_serviceable=False, reason=f"no delivery to {drop.postcode}")
        return Serviceability(is_serviceable=True)

    async def _pincode(self, pin: str) -> wire.Pincode | None:
        raw = await self._call("GET", wire.PINCODE_PATH, params={"filter_codes": pin})
        return wire.parse_pincode(raw)

    async def book_pickup(self, request: PickupRequest) -> Booking:
        """Book once; a retry, or a second call, with the same reference returns the first AWB."""
        body = wire.build_create(request, client_name=self._settings.client_name,
                                 warehouse=request.warehouse or self._settings.warehouse)
        raw = await self._call("POST", wire.CREATE_PATH, data=body, content_type=_FORM)
        try:
            return wire.parse_create(raw)
        except wire.DuplicateOrder:
            # A retry after a lost answer, or a concurrent call, already booked: reuse that AWB.
            return await self._recover(request.reference)

    async def _recover(self, reference: str) -> Booking:
        raw = await self._call("GET", wire.TRACK_PATH, params={"ref_ids": reference})
        awb = wire.parse_reference_lookup(raw, reference)
        if awb is None:
            raise CarrierUnavailable(self.code, f"duplicate order {reference} not yet visible in tracking")
        return Booking(carrier=self.code, awb=awb, carrier_reference=reference)

    async def label(self, awb: str) -> Booking | None:
        """Label data (not a PDF): Delhivery's packing slip fields, None when it has none."""
        raw = await self._call("GET", wire.PACKING_SLIP_PATH, params={"wbns": awb, "pdf": "false"})
        fields = wire.parse_packing_slip(raw)
        if fields is None:
            return None
        return Booking(carrier=self.code, awb=awb, carrier_reference=fields.get("oid", ""),
                       label_fields=fields)

    async def cancel(self, awb: str, carrier_reference: str = "") -> None:
        """Cancel before pickup; an AWB already cancelled is fine. Raises: CarrierRejected after pickup."""
        raw = await self._call("POST", wire.EDIT_PATH, json_body=wire.build_cancel(awb))
        wire.parse_cancel(raw)

    async def reschedule(self, awb: str, pickup_date: date, contact: Contact | None = None,
                         address: Address | None = None, carrier_reference: str = "") -> None:
        """Fix contact/street, then ask for another pickup attempt.

        Delhivery takes no date for an RVP attempt: `pickup_date` is not sent (see README.md).
        """
        if contact is not None or address is not None:
            raw = await self._call("POST", wire.EDIT_PATH, json_body=wire.build_edit(awb, contact, address))
            wire.parse_edit(raw)
        raw = await self._call("POST", wire.NDR_PATH, json_body=wire.build_pickup_reschedule([awb]))
        wire.parse_ndr_action(raw)

    async def track(self, awbs: Sequence[str]) -> list[bytes]:
        """One raw tracking payload per chunk of at most `track_batch` AWBs."""
        size = min(self._settings.track_batch, self.capabilities.max_track_batch)
        chunks = [awbs[i:i + size] for i in range(0, len(awbs), size)]
        return [await self._call("GET", wire.TRACK_PATH, params={"waybill": ",".join(c)}) for c in chunks]

    def parse_tracking(self, raw: bytes) -> list[CarrierEvent]:
        return wire.parse_tracking(raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[CarrierEvent]:
        return wire.parse_webhook(body)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        """A shared token agreed at set-up, sent as `Authorization: Token <t>` or `X-Delhivery-Token`."""
        secret = self._settings.webhook_secret
        if not secret:
            return False
        lowered = {k.lower(): v for k, v in headers.items()}
        authorization = lowered.get("authorization", "")
        offered = lowered.get("x-delhivery-token", "")
        if authorization.startswith("Token "):
            offered = authorization.removeprefix("Token ")
        return hmac.compare_digest(offered.encode(), secret.encode())

    async def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    data: bytes | None = None, json_body: Any = None,
                    content_type: str | None = None) -> bytes:
        """Send with retries on CarrierUnavailable only; every other error is final."""
        return await with_retries(lambda: self._send(method, path, params=params, data=data, json_body=json_body,
                                                     content_type=content_type), self._settings.retries)

    async def _send(self, method: str, path: str, *, params: Mapping[str, str] | None, data: bytes | None,
                    json_body: Any, content_type: str | None) -> bytes:
        headers = {"Authorization": f"Token {self._settings.token.get_secret_value()}",
                   "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        status, raw, reply_headers = await send(self._session, self.code, method, self._base_url + path,
                                                timeout=self._timeout, log_path=path, params=params, data=data,
                                                json=json_body, headers=headers)
        wire.check_http(status, raw, reply_headers.get("Retry-After"))
        return raw
