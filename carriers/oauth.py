"""OAuth 2.0 client-credentials tokens, cached until shortly before they expire.

Carriers such as FedEx, UPS and USPS hand out bearer tokens that live about an hour. One
`TokenCache` per adapter fetches a token on first use, shares it between concurrent calls
(one fetch, not a stampede), and fetches a new one when it is about to expire or when the
carrier answers 401 and the adapter calls `invalidate()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from carriers.clock import Clock

# Renew this long before the carrier's expiry so a token never dies in flight.
_RENEW_EARLY = timedelta(seconds=60)


@dataclass(frozen=True)
class Token:
    """An access token and the moment it stops working."""

    value: str
    expires_at: datetime


Fetch = Callable[[], Awaitable[tuple[str, float]]]  # returns (access_token, expires_in_s)


class TokenCache:
    def __init__(self, fetch: Fetch, clock: Clock) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self) -> str:
        """A valid access token, fetched at most once for any number of concurrent callers."""
        token = self._token
        if token is not None and self._clock.now() < token.expires_at - _RENEW_EARLY:
            return token.value
        async with self._lock:
            token = self._token
            if token is None or self._clock.now() >= token.expires_at - _RENEW_EARLY:
                value, expires_in_s = await self._fetch()
                self.fetches += 1
                token = Token(value, self._clock.now() + timedelta(seconds=expires_in_s))
                self._token = token
            return token.value

    def invalidate(self) -> None:
        """Forget the token (the carrier refused it); the next `get()` fetches a new one."""
        self._token = None
