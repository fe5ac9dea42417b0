"""UPS's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class UpsSettings(CarrierSettings):
    """A UPS developer app (client id + secret) and the shipper account that pays for returns."""

    base_url: str = "https://onlinetools.ups.com"
    client_id: SecretStr
    client_secret: SecretStr
    # The 6-character UPS shipper number; also sent as x-merchant-id when fetching a token.
    account_number: str = Field(pattern=r"^[A-Z0-9]{6}$")
    # "03" UPS Ground; the Pickup API wants the same service as three digits ("003").
    service_code: str = Field(default="03", pattern=r"^\d{2}$")
    # "9" Print Return Label: UPS returns the label image at once (carriers.md §2.3).
    return_service_code: str = "9"
    # Sent as transactionSrc on every call (≤ 512 characters).
    transaction_src: str = Field(default="backhaul", max_length=512)
    locale: str = "en_US"
