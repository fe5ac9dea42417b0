"""Ecom Express's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class EcomExpressSettings(CarrierSettings):
    """An Ecom Express account: API username and password, sent as form fields on every call."""

    base_url: str = "https://api.ecomexpress.in"
    # Tracking and labels live on their own hosts; the sandbox serves all three.
    tracking_url: str = "https://plapi.ecomexpress.in"
    label_url: str = "https://shipment.ecomexpress.in"
    username: str = Field(min_length=1)
    password: SecretStr
    vendor_id: str = ""
    # The user name Ecom Express is asked to send with HTTP Basic auth on status pushes.
    webhook_user: str = "ecomexpress"
    track_batch: int = Field(default=25, ge=1, le=25)
