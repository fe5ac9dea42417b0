"""Delhivery's own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class DelhiverySettings(CarrierSettings):
    """A Delhivery B2C account: API token, registered client name and pickup warehouse."""

    base_url: str = "https://track.delhivery.com"
    token: SecretStr
    client_name: str = Field(min_length=1)
    # The registered warehouse name (case- and space-sensitive), sent as pickup_location.name.
    warehouse: str = Field(min_length=1)
    # Delhivery's tracking API takes at most 50 waybills per call.
    track_batch: int = Field(default=50, ge=1, le=50)
