"""When a merchant's digest is due: its local hour, but never before the UTC day of counters is over."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from gateway.analytics.digest_schedule import due_at, latest_day, zone_of
from gateway.models import Merchant

KOLKATA, TOKYO, NEW_YORK = ZoneInfo("Asia/Kolkata"), ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")


def test_due_at_the_local_hour_the_next_day() -> None:
    assert due_at(date(2026, 11, 9), KOLKATA, 8) == datetime(2026, 11, 10, 2, 30, tzinfo=UTC)
    assert due_at(date(2026, 11, 9), NEW_YORK, 8) == datetime(2026, 11, 10, 13, 0, tzinfo=UTC)


def test_never_before_the_utc_day_is_over() -> None:
    # 08:00 in Tokyo is 23:00 UTC the same day: the counters of the 9th are not complete yet.
    assert due_at(date(2026, 11, 9), TOKYO, 8) == datetime(2026, 11, 10, 0, 0, tzinfo=UTC)
    assert due_at(date(2026, 11, 9), TOKYO, 10) == datetime(2026, 11, 10, 1, 0, tzinfo=UTC)


def test_daylight_saving_moves_the_utc_time() -> None:
    assert due_at(date(2026, 7, 1), NEW_YORK, 8) == datetime(2026, 7, 2, 12, 0, tzinfo=UTC)


def test_latest_day_is_yesterday_once_the_hour_passed() -> None:
    before = datetime(2026, 11, 10, 2, 29, tzinfo=UTC)  # 07:59 in Kolkata
    assert latest_day(before, KOLKATA, 8) == date(2026, 11, 8)
    assert latest_day(datetime(2026, 11, 10, 2, 30, tzinfo=UTC), KOLKATA, 8) == date(2026, 11, 9)
    assert latest_day(datetime(2026, 11, 9, 23, 30, tzinfo=UTC), TOKYO, 8) == date(2026, 11, 8)
    assert latest_day(datetime(2026, 11, 10, 0, 0, tzinfo=UTC), TOKYO, 8) == date(2026, 11, 9)


def test_zone_falls_back_to_the_default_then_utc() -> None:
    merchant = Merchant(id="mer_x", name="x", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert zone_of(merchant, "Asia/Kolkata") == KOLKATA
    assert zone_of(merchant, "Not/AZone") == ZoneInfo("UTC")
    assert zone_of(merchant.model_copy(update={"time_zone": "Asia/Tokyo"}), "Asia/Kolkata") == TOKYO
