"""Acme Parcel's settings: what every carrier has, plus its API key."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class AcmeSettings(CarrierSettings):
    """An Acme account; `base_url` points at the sandbox in tests and the demo."""

    base_url: str = "https://api.acme-parcel.example"
    api_key: SecretStr
    track_batch: int = Field(default=50, ge=1, le=50)
