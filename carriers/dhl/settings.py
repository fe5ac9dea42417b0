"""DHL's own settings: a MyDHL API (Express) account, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class DhlSettings(CarrierSettings):
    """MyDHL API key/secret (HTTP Basic), the Express account billed, and booking defaults."""

    base_url: str = "https://express.api.dhl.com/mydhlapi"
    api_key: SecretStr
    api_secret: SecretStr
    account_number: str = Field(min_length=1, max_length=12)
    # Sent as `x-version`; MyDHL requires the header.
    api_version: str = "3.1.0"
    # Depends on lane and account (`GET /products` tells); P = Express Worldwide.
    product_code: str = Field(default="P", min_length=1, max_length=1)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # Who asks DHL to cancel a pickup (`requestorName`, required by DELETE /pickups).
    requestor_name: str = Field(default="Backhaul returns", min_length=1, max_length=35)
    pickup_close_time: str = Field(default="18:00", pattern=r"^\d{2}:\d{2}$")
    # GET /tracking takes at most 200 shipment numbers per call.
    track_batch: int = Field(default=200, ge=1, le=200)
