"""The carrier guard's pure parts: what counts as a carrier failure, which limits apply, stats buckets."""

from __future__ import annotations

import math

import aiohttp
import pytest
from pydantic import ValidationError

from carriers.base import Capabilities
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    CircuitOpen,
    NotServiceable,
    RateLimited,
)
from gateway.carrier_guard import is_carrier_failure, latency_field, limits_for
from gateway.ops.calls import _stats
from gateway.settings import CarrierGuardSettings, Settings


def test_only_carrier_side_failures_count() -> None:
    assert is_carrier_failure(CarrierUnavailable("dl", "503"))
    assert is_carrier_failure(TimeoutError()) and is_carrier_failure(aiohttp.ClientConnectionError())
    for refusal in (CarrierRejected("dl", "bad phone"), NotServiceable("dl", "no lane"),
                    CarrierAuthError("dl", "token"), CarrierResponseInvalid("dl", "junk")):
        assert not is_carrier_failure(refusal)
    # Our own refusals never reached the carrier: they must not feed the breaker.
    assert not is_carrier_failure(CircuitOpen("dl", "open")) and not is_carrier_failure(RateLimited("dl", "full"))
    assert isinstance(CircuitOpen("dl", "open"), CarrierUnavailable)  # so every caller fails over or retries


def test_limits_come_from_override_setting_documentation_adapter_default() -> None:
    defaults = CarrierGuardSettings()
    assert (limits_for(defaults, "delhivery").rate_per_s, limits_for(defaults, "delhivery").burst) == (2.5, 50)
    assert limits_for(defaults, "usps").rate_per_s == pytest.approx(1 / 60)
    assert limits_for(defaults, "acme", Capabilities(rate_limit_per_min=30)).rate_per_s == 0.5
    plain = limits_for(defaults, "acme")
    assert (plain.rate_per_s, plain.burst, plain.error_rate, plain.min_calls) == (5.0, 10, 0.5, 10)
    tuned = CarrierGuardSettings(rate_per_s=20, carriers={"delhivery": {"rate_per_s": 1, "cooldown_s": 5}})
    assert limits_for(tuned, "delhivery").rate_per_s == 1 and limits_for(tuned, "delhivery").cooldown_s == 5
    assert limits_for(tuned, "fedex").rate_per_s == 20 and limits_for(tuned, "fedex").cooldown_s == 30
    assert limits_for(tuned, "fedex").bucket_s == 6


def test_bad_guard_settings_are_refused_with_their_path() -> None:
    with pytest.raises(ValidationError, match=r"carriers\.delhivery\.error_rate"):
        Settings(carrier_guard={"carriers": {"delhivery": {"error_rate": 2}}})
    with pytest.raises(ValidationError, match=r"carrier_guard\.cool_down_s"):
        Settings(carrier_guard={"cool_down_s": 3})


def test_latency_buckets_match_the_histogram_and_add_up() -> None:
    assert [latency_field(s) for s in (0.001, 0.25, 0.26, 31)] == ["le:0.005", "le:0.25", "le:0.5", "le:inf"]
    stats = _stats([{"calls": "3", "errors": "1", "le:0.25": "2", "le:inf": "1", "seconds": "40.5"},
                    {"calls": "1", "le:0.005": "1"}, {}])
    assert (stats.calls, stats.errors, stats.error_rate) == (4, 1, 0.25)
    assert stats.buckets == ((0.005, 1), (0.25, 3), (math.inf, 4))
    assert stats.quantile_s(0.5) == 0.25 and stats.quantile_s(0.95) == math.inf
    assert _stats([{"calls": "1", "le:1": "1"}]).buckets == ((1.0, 1), (math.inf, 1))
