"""FedEx's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class FedexSettings(CarrierSettings):
    """A FedEx developer project (API key + secret key) and the account that pays for returns."""

    base_url: str = "https://apis.fedex.com"
    api_key: SecretStr
    secret_key: SecretStr
    account_number: str = Field(pattern=r"^\d{9}$")
    # FDXG + FEDEX_GROUND is the usual returns product; Express would be FDXE + e.g. FEDEX_2_DAY.
    carrier_code: Literal["FDXG", "FDXE"] = "FDXG"
    service_type: str = "FEDEX_GROUND"
    locale: str = "en_US"
    # The Track API takes at most 30 tracking numbers per call.
    track_batch: int = Field(default=30, ge=1, le=30)
