"""The HTTP round trip and in-request retries every adapter shares.

Each adapter keeps what is its own (auth headers, token refresh, body encoding, its wire module's
`check_http`); what is the same everywhere lives here, so a timeout or a dropped connection reads the
same for every carrier and is retried by the same rule: `CarrierUnavailable` only, every other error is
final, waiting with `carriers.retry.wait_s` (backoff, or the carrier's Retry-After, capped).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from carriers.errors import CarrierUnavailable
from carriers.retry import wait_s

_T = TypeVar("_T")


async def with_retries(work: Callable[[], Awaitable[_T]], retries: int) -> _T:
    """Run `work`, and again up to `retries` times while it raises CarrierUnavailable."""
    retrying = AsyncRetrying(retry=retry_if_exception_type(CarrierUnavailable), wait=wait_s,
                             stop=stop_after_attempt(retries + 1), reraise=True)
    async for attempt in retrying:
        with attempt:
            return await work()
    raise AssertionError("tenacity ends with a result or the last error")


async def send(session: aiohttp.ClientSession, code: str, method: str, url: str, *,
               timeout: aiohttp.ClientTimeout, log_path: str, failure_path: str | None = None,
               quote_error: bool = True, **request_kwargs: Any) -> tuple[int, bytes, Mapping[str, str]]:
    """One request: status, body and (case-insensitive) headers, whatever the status.

    Only the transport is judged here: a timeout or a client error becomes CarrierUnavailable, named by
    `log_path` (`failure_path` for a client error, when an adapter names it differently). The status is
    the caller's wire module's to judge. `quote_error=False` names only the error's class, for a carrier
    whose query string holds a secret that aiohttp's message may quote.
    """
    try:
        async with session.request(method, url, timeout=timeout, **request_kwargs) as resp:
            raw = await resp.read()
            return resp.status, raw, resp.headers.copy()
    except TimeoutError as exc:
        raise CarrierUnavailable(code, f"{method} {log_path} timed out after {timeout.total}s") from exc
    except aiohttp.ClientError as exc:
        detail = repr(exc) if quote_error else type(exc).__name__
        raise CarrierUnavailable(code, f"{method} {failure_path or log_path} failed: {detail}") from exc
