"""Pickup calendars: weekdays, cut-off, lead days, horizon, holidays, fitting a date; the config file's errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from carriers.errors import ConfigError
from carriers.registry import registered_codes
from gateway.rules.pickup_calendar import CalendarFile, PickupCalendar, load_calendar

ROOT = Path(__file__).resolve().parents[2]
MONDAY = date(2026, 11, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A pickup-local wall-clock time (the calendar reads only its date and hour)."""
    return datetime(day.year, day.month, day.day, hour, minute)


def calendar(**carriers: dict[str, object]) -> PickupCalendar:
    return PickupCalendar(CalendarFile.model_validate({"carriers": carriers, "public_holidays": {
        "IN": ["2026-11-04"]}}, context={"known": list(carriers)}))


def test_no_sunday_carrier_never_offers_a_sunday() -> None:
    cal = calendar(acme={"days": ["mon", "tue", "wed", "thu", "fri", "sat"], "horizon_days": 30})
    for hour in (0, 9, 13, 14, 23):
        for start in range(7):
            days = cal.days("acme", at(MONDAY + timedelta(days=start), hour))
            assert days and all(d.weekday() != 6 for d in days)


def test_cutoff_drops_today_with_no_lead_days() -> None:
    cal = calendar(acme={"lead_days": 0, "cutoff_hour": 14})
    assert cal.days("acme", at(MONDAY, 13, 59))[0] == MONDAY
    assert cal.days("acme", at(MONDAY, 14))[0] == MONDAY + timedelta(days=1)


def test_cutoff_moves_the_lead_by_a_day() -> None:
    cal = calendar(acme={"lead_days": 1, "cutoff_hour": 12})
    assert cal.days("acme", at(MONDAY, 11))[0] == MONDAY + timedelta(days=1)
    assert cal.days("acme", at(MONDAY, 12))[0] == MONDAY + timedelta(days=2)


def test_horizon_weekdays_and_holidays() -> None:
    cal = calendar(acme={"days": ["mon", "tue", "wed", "thu", "fri"], "horizon_days": 10,
                         "holidays": ["2026-11-05"]},
                   open_on_holidays={"skips_public_holidays": False, "horizon_days": 3})
    assert cal.days("acme", at(MONDAY, 9), "IN") == [date(2026, 11, 3), date(2026, 11, 6), date(2026, 11, 9),
                                                     date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)]
    # The country's public holiday (4 Nov) stays open for a carrier that does not skip them.
    assert cal.days("open_on_holidays", at(MONDAY, 9), "IN") == [date(2026, 11, 3), date(2026, 11, 4),
                                                                 date(2026, 11, 5)]
    # A carrier without an entry gets the default: Monday to Saturday, from tomorrow, 7 days ahead.
    assert cal.days("other", at(MONDAY, 9)) == [MONDAY + timedelta(days=n) for n in (1, 2, 3, 4, 5, 7)]


def test_fit_keeps_a_valid_day_and_moves_others_to_the_next() -> None:
    cal = calendar(acme={"days": ["mon", "tue", "wed", "thu", "fri"], "horizon_days": 7})
    now = at(MONDAY, 9)
    assert cal.fit("acme", date(2026, 11, 4), now) == date(2026, 11, 4)
    assert cal.fit("acme", MONDAY - timedelta(days=3), now) == date(2026, 11, 3)  # in the past: the first day
    assert cal.fit("acme", date(2026, 11, 7), now) == date(2026, 11, 9)  # Saturday: the next Monday
    assert cal.fit("acme", date(2026, 12, 1), now) == date(2026, 11, 9)  # beyond the horizon: the last day
    assert cal.fit("acme", None, now) == date(2026, 11, 3)


def test_shipped_file_loads_and_cites_its_sources() -> None:
    cal = load_calendar(ROOT / "config", registered_codes())
    assert cal.for_carrier("dhl").horizon_days == 10
    assert "sat" not in cal.for_carrier("ups").days and "sat" in cal.for_carrier("usps").days
    assert cal.for_carrier("delhivery") == cal.default


@pytest.mark.parametrize(("text", "where", "what"), [
    ("carriers:\n  ups:\n    days: [mon, funday]\n", ":3", "carriers.ups.days"),
    ("default:\n  cutoff_hour: 25\n", ":2", "default.cutoff_hour"),
    ("carriers:\n  upz: {days: [mon]}\n", ":1", "unknown carrier(s) ['upz']"),
    ("carriers:\n  dhl: {lead_days: 9, horizon_days: 3}\n", "", "carriers.dhl: Value error, lead_days (9)"),
    ("public_holidays:\n  india: [2026-01-26]\n", ":1", "not ISO country codes"),
    ("carriers: [ups\n", ":2", "not valid YAML"),
])
def test_bad_file_names_file_line_and_key(tmp_path: Path, text: str, where: str, what: str) -> None:
    (tmp_path / "pickup_calendar.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_calendar(tmp_path, ["ups", "dhl", "delhivery"])
    message = str(caught.value)
    assert f"pickup_calendar.yaml{where}" in message and what in message, message
