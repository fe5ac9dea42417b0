"""Xpressbees' own settings, nested under the gateway's carrier settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from carriers.base import CarrierSettings


class XpressbeesSettings(CarrierSettings):
    """An Xpressbees enterprise ("XB") account: token login, XBkey, business account name.

    Xpressbees spreads its enterprise API over several hosts; `base_url` is the manifest host
    and the others default to production. A sandbox points all of them at itself.
    """

    base_url: str = "https://api.shipmentmanifestation.xbees.in"
    auth_url: str = "https://userauthapis.xbees.in"
    client_api_url: str = "https://xbclientapi.xbees.in"
    username: str = Field(min_length=1)
    password: SecretStr
    secret_key: SecretStr
    # The older key sent in the body of tracking and RTO-notify calls.
    xb_key: SecretStr
    business_account_name: str = Field(min_length=1)
    # Xpressbees does not publish the token's lifetime; clients refresh about daily [LOW].
    token_lifetime_s: int = Field(default=23 * 3600, ge=60)
    # Clients batch 10-20 AWBs per summary call; no limit is published.
    track_batch: int = Field(default=10, ge=1, le=20)
