"""A merchant's order-lookup webhook: where Backhaul asks for an order it was not sent, and the signing secret.

Kept in its own key (`{<mid>}:lookup:endpoint`), not in the Merchant document, because the
Merchant is loaded and rendered on every page and API call while the secret must be read only
by the code that signs. The secret is shown once, when it is made; afterwards only a hint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

from gateway.store.keys import Keys
from gateway.webhooks_out.models import ReceiverUrl
from gateway.webhooks_out.signing import SECRET_PREFIX, new_secret

_HINT_CHARS = 4


class LookupEndpointIn(BaseModel):
    """The body of `PUT /v1/order-lookup`."""

    model_config = ConfigDict(extra="forbid")

    url: ReceiverUrl
    # A new secret replaces the old one at once; the answer shows it (the only time).
    rotate_secret: bool = False


class LookupEndpoint(BaseModel):
    """What is stored: the URL and its signing secret ("whsec_..." as the Standard Webhooks spec writes it)."""

    model_config = ConfigDict(extra="forbid")

    url: str
    secret: str = Field(repr=False)
    created_at: datetime
    updated_at: datetime

    @property
    def secret_hint(self) -> str:
        """Enough of the secret for a merchant to tell which one is live, not enough to sign."""
        return f"{SECRET_PREFIX}…{self.secret[-_HINT_CHARS:]}"

    def public(self) -> dict[str, Any]:
        """The JSON a merchant sees: never the secret."""
        return {"url": self.url, "secret_hint": self.secret_hint, "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


class LookupEndpoints:
    """Each merchant's one lookup endpoint, in Redis."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def get(self, mid: str) -> LookupEndpoint | None:
        raw = await self.redis.get(self.keys.order_lookup_endpoint(mid))
        return LookupEndpoint.model_validate_json(raw) if raw else None

    async def put(self, mid: str, body: LookupEndpointIn, now: datetime) -> tuple[LookupEndpoint, bool]:
        """Set the URL; a secret is made the first time or when asked. True when the secret is new."""
        before = await self.get(mid)
        kept = before.secret if before is not None and not body.rotate_secret else None
        endpoint = LookupEndpoint(url=str(body.url), secret=kept or new_secret(),
                                  created_at=before.created_at if before else now, updated_at=now)
        await self.redis.set(self.keys.order_lookup_endpoint(mid), endpoint.model_dump_json())
        return endpoint, kept is None

    async def delete(self, mid: str) -> bool:
        return bool(await self.redis.delete(self.keys.order_lookup_endpoint(mid)))
