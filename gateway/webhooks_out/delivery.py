"""One delivery attempt: the signed POST, and what its result means for the queue."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp

from gateway.webhooks_out.models import Attempt, Message
from gateway.webhooks_out.queue import Settlement
from gateway.webhooks_out.signing import signed_headers

USER_AGENT = "Backhaul-Webhooks/1"
_ERROR_CHARS = 300


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, for `window_s` after a message was queued."""

    base_s: float = 5.0
    cap_s: float = 3600.0
    window_s: float = 24 * 3600.0

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """Uniform in [0, min(cap, base * 2^(attempts - 1))]: spreads a receiver's comeback load."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(max(attempts - 1, 0), 40))
        return rng.uniform(0, ceiling)

    def deadline_s(self, message: Message) -> float:
        return message.enqueued_at + self.window_s


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_s: float

    @property
    def is_success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(session: aiohttp.ClientSession, url: str, secret: str, message: Message, signed_at: datetime,
               timeout_s: float) -> Outcome:
    """POST the signed message; every failure is an Outcome, never an exception. Redirects are failures."""
    headers = {**signed_headers(secret, message.id, signed_at, message.body), "user-agent": USER_AGENT}
    started = time.monotonic()
    try:
        async with session.post(url, data=message.body.encode(), headers=headers, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
        return Outcome(None, error, time.monotonic() - started)
    error = "" if 200 <= status < 300 else f"HTTP {status}"
    return Outcome(status, error, time.monotonic() - started)


def settlement(message: Message, outcome: Outcome, now_s: float, policy: RetryPolicy,
               rng: random.Random) -> Settlement:
    """Delivered, retried later (never after the deadline), or dead once the deadline has passed."""
    tried = message.model_copy(update={"attempts": message.attempts + 1})
    deadline = policy.deadline_s(message)
    if outcome.is_success:
        kind = "delivered"
    elif now_s >= deadline:
        kind = "dead"
    else:
        kind = "retry"
    attempt = Attempt(message_id=message.id, type=message.type, return_id=message.return_id,
                      attempt=tried.attempts, outcome="failed" if kind == "retry" else kind,
                      status_code=outcome.status_code, error=outcome.error,
                      at=datetime.fromtimestamp(now_s, UTC), duration_ms=round(outcome.duration_s * 1000))
    if kind == "retry":
        next_s = min(now_s + policy.delay_s(tried.attempts, rng), deadline)
        return Settlement("retry", next_s, attempt.model_dump_json(), new_head=tried.model_dump_json())
    dead = ({"message": tried.model_dump(mode="json"), "last_status_code": outcome.status_code,
             "last_error": outcome.error} if kind == "dead" else {})
    return Settlement(kind, now_s, attempt.model_dump_json(), dead_json=json.dumps(dead) if dead else "")
