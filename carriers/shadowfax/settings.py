"""Shadowfax's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class ShadowfaxSettings(CarrierSettings):
    """A Shadowfax client account: API token and the seller (drop) identity it registered."""

    base_url: str = "https://dale.shadowfax.in/api"
    token: SecretStr
    # The seller's code registered with Shadowfax, sent as seller_attributes.unique_code.
    seller_code: str = Field(min_length=1)
    # Shadowfax's bulk tracking takes at most 50 AWBs per call.
    track_batch: int = Field(default=50, ge=1, le=50)
