"""Blue Dart's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class BlueDartSettings(CarrierSettings):
    """A Blue Dart account: API-gateway consumer key/secret, NetConnect login and licence keys."""

    base_url: str = "https://apigateway.bluedart.com/in/transportation"
    # Consumer key and secret of the API gateway app, exchanged for a JWT at /token/v1/login.
    client_id: SecretStr
    client_secret: SecretStr
    # The NetConnect profile sent in every body, and the account's customer code.
    login_id: str = Field(min_length=1)
    licence_key: SecretStr
    # Tracking may use its own licence key; the shipping key is used when this is unset.
    tracking_licence_key: SecretStr | None = None
    customer_code: str = Field(min_length=1)
    product_code: str = Field(default="A", min_length=1, max_length=1)
    sub_product_code: str = Field(default="P", min_length=1, max_length=1)
    # Blue Dart takes pickup times as HHMM ("16:00" is refused).
    pickup_time: str = Field(default="1400", pattern=r"^([01]\d|2[0-3])[0-5]\d$")
    office_close_time: str = Field(default="1800", pattern=r"^([01]\d|2[0-3])[0-5]\d$")
    # The login answer carries no expiry; clients cache the JWT 1-24 h, we take the low end.
    jwt_lifetime_s: int = Field(default=3600, ge=60, le=86_400)
    track_batch: int = Field(default=25, ge=1, le=25)
