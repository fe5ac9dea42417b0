"""DTDC's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings

LabelCode = Literal["SHIP_LABEL_4X6", "SHIP_LABEL_A4", "SHIP_LABEL_A6", "SHIP_LABEL_POD"]


class DtdcSettings(CarrierSettings):
    """A DTDC B2C account: order API key and customer code, plus a separate tracking user.

    DTDC serves order upload, cancel/label and tracking from three hosts; each has its own
    base URL so a sandbox can stand in for all three.
    """

    # Order upload (softdata), on Shipsy's host.
    base_url: str = "https://dtdcapi.shipsy.io"
    # Cancel and shipping label.
    pxapi_url: str = "https://pxapi.dtdc.in"
    # Tracking: authenticate and JSONCnTrk live under this prefix.
    tracking_url: str = "https://blktracksvc.dtdc.com/dtdc-api"
    api_key: SecretStr
    customer_code: str = Field(min_length=1)
    tracking_username: str = Field(min_length=1)
    tracking_password: SecretStr
    service_type_id: str = "B2C PRIORITY"
    label_code: LabelCode = "SHIP_LABEL_4X6"
