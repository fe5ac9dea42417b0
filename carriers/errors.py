"""The one error tree of Backhaul.

::

    BackhaulError
    ├── ConfigError              a setting, config file or map is wrong; fix and restart
    ├── MappingError             a status map is invalid
    ├── CarrierError(carrier)    something went wrong talking to a carrier
    │   ├── CarrierUnavailable      transient: timeout, 5xx, 429, reset; retry with backoff
    │   │   └── CarrierNotCalled        refused before the carrier was called; try the next carrier
    │   │       ├── CircuitOpen             the carrier's circuit breaker is open
    │   │       └── RateLimited             the carrier's shared rate limit has no room soon enough
    │   ├── NotServiceable          this carrier cannot serve this lane; try the next carrier
    │   ├── CarrierRejected         the carrier refused our input; tell the merchant
    │   ├── CarrierAuthError        credentials or account config; alert ops
    │   └── CarrierResponseInvalid  the body did not parse; alert, do not retry
    └── StoreError               Redis is unreachable or a stored document is corrupt

Retry, failover and HTTP status are decided by class, never by message text.
"""

from __future__ import annotations


class BackhaulError(Exception):
    """Root of every error Backhaul raises on purpose."""


class ConfigError(BackhaulError):
    """A setting, config file or map is wrong; the message names the file and key."""


class MappingError(ConfigError):
    """A status map is invalid (unknown unified name, duplicate key, wrong carrier)."""


class StoreError(BackhaulError):
    """Redis is unreachable or a stored document cannot be read."""


class CarrierError(BackhaulError):
    """Something went wrong talking to a carrier."""

    def __init__(self, carrier: str, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"{carrier}: {message}")
        self.carrier = carrier
        self.detail = message
        self.retry_after_s = retry_after_s


class CarrierUnavailable(CarrierError):
    """Transient failure (timeout, 5xx, 429, connection reset): retry with backoff."""


class CarrierNotCalled(CarrierUnavailable):
    """Refused before any request left: nothing can have been booked, so no orphan check is needed."""


class CircuitOpen(CarrierNotCalled):
    """The carrier's circuit breaker is open (recent calls failed): fail over now, try again later."""


class RateLimited(CarrierNotCalled):
    """The carrier's shared rate limit has no room within the wait bound: back off or fail over."""


class NotServiceable(CarrierError):
    """The carrier cannot serve this pickup or drop location: try the next carrier."""


class CarrierRejected(CarrierError):
    """The carrier refused the request's content: the merchant must fix the input."""


class CarrierAuthError(CarrierError):
    """Credentials or account configuration are wrong: ops must act."""


class CarrierResponseInvalid(CarrierError):
    """The carrier answered with a body that does not parse: alert, do not retry."""
