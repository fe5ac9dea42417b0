"""USPS's own settings: an APIs v3 app (OAuth client credentials) and the EPS account that pays for labels."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class UspsSettings(CarrierSettings):
    """OAuth client, payment roles (CRID/MID/EPS account) and return-label defaults."""

    base_url: str = "https://apis.usps.com"
    client_id: SecretStr
    client_secret: SecretStr
    # Label owner and payer for the Payment Authorization Token.
    crid: str = Field(min_length=1, max_length=15)
    mid: str = Field(min_length=6, max_length=9)
    manifest_mid: str = Field(default="", max_length=9)
    account_type: str = "EPS"
    account_number: str = Field(min_length=1, max_length=20)
    mail_class: str = "USPS_GROUND_ADVANTAGE_RETURN_SERVICE"
    rate_indicator: str = "SP"
    processing_category: str = "MACHINABLE"
    # Where the carrier finds the return at the consumer's door.
    package_location: str = "FRONT_DOOR"
