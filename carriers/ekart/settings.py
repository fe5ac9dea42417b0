"""Ekart's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class EkartSettings(CarrierSettings):
    """An Ekart Elite account: token credentials plus the seller details every shipment carries."""

    base_url: str = "https://app.elite.ekartlogistics.in"
    client_id: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password: SecretStr
    seller_name: str = Field(min_length=1)
    # The seller's billing address and GSTIN, required on every create.
    seller_address: str = Field(min_length=1)
    seller_gst_tin: str = Field(min_length=15, max_length=15)
    # Alias of the registered warehouse that receives returns; empty = send the drop address in full.
    warehouse_alias: str = ""
