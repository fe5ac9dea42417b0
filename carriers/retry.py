"""How every adapter waits between retries of a transient carrier failure."""

from __future__ import annotations

from tenacity import RetryCallState

from carriers.errors import CarrierError

# A carrier's Retry-After is honoured up to this; longer waits belong to the next poll or booking retry.
RETRY_AFTER_CAP_S = 5.0
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 2.0


def wait_s(state: RetryCallState) -> float:
    """Exponential backoff, or the carrier's Retry-After when it gave one (capped)."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, CarrierError) and exc.retry_after_s is not None:
        return min(exc.retry_after_s, RETRY_AFTER_CAP_S)
    return float(min(BACKOFF_FIRST_S * 2 ** (state.attempt_number - 1), BACKOFF_MAX_S))


def retry_after_s(value: str | None) -> float | None:
    """A Retry-After header in seconds, None when absent or not a number of seconds."""
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
