"""Carrier pickup calendars: which days each carrier can come for a return, from `config/pickup_calendar.yaml`.

None of our carriers documents a slot API the portal could ask (carriers.md; FedEx's pickup
availability call answers per address and is left for later), so each carrier's calendar is
configured: the weekdays it picks up, a same-day cut-off hour, lead days, how far ahead it books
and the days it is closed. The portal offers these days and the booker checks a date against
them, so both agree on what a carrier can serve.

A booking made at or after the cut-off hour (the pickup's local time) counts as made the next
day: with `lead_days: 0` today is offered only before the cut-off; with `lead_days: 1`, tomorrow.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from gateway.rules.config import load_model

FILE = "pickup_calendar.yaml"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CarrierCalendar(_Strict):
    """When one carrier picks up. The values here are Backhaul's defaults, not any carrier's fact."""

    # Monday to Saturday: Indian couriers pick up six days a week (gateway/pages/estimates.py).
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat")
    # Bookings from 14:00 local count as made the next day (our choice; no carrier documents one).
    cutoff_hour: int = Field(default=14, ge=1, le=24)
    # Days between the booking day and the first pickup day: 1 = from tomorrow, as before.
    lead_days: int = Field(default=1, ge=0, le=14)
    # The last day offered is today + horizon_days.
    horizon_days: int = Field(default=7, ge=1, le=60)
    # Days this carrier does not pick up, on top of the country's public holidays.
    holidays: tuple[date, ...] = ()
    # Whether the country's `public_holidays` (below) are skipped too.
    skips_public_holidays: bool = True

    @field_validator("days")
    @classmethod
    def _distinct(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        if not value:
            raise ValueError("at least one weekday")
        if len(set(value)) != len(value):
            raise ValueError("a weekday is listed twice")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> CarrierCalendar:
        if self.lead_days > self.horizon_days:
            raise ValueError(f"lead_days ({self.lead_days}) is beyond horizon_days ({self.horizon_days})")
        return self


class CarrierOverride(_Strict):
    """A carrier's entry: only what differs from `default`."""

    days: tuple[Weekday, ...] | None = None
    cutoff_hour: int | None = Field(default=None, ge=1, le=24)
    lead_days: int | None = Field(default=None, ge=0, le=14)
    horizon_days: int | None = Field(default=None, ge=1, le=60)
    holidays: tuple[date, ...] | None = None
    skips_public_holidays: bool | None = None
    source: str = Field(default="", max_length=300, description="where the values come from (kept for readers)")


class CalendarFile(_Strict):
    default: CarrierCalendar = CarrierCalendar()
    carriers: dict[str, CarrierOverride] = Field(default_factory=dict)
    # Public holidays per country (ISO 3166 code); none are shipped, an operator lists them.
    public_holidays: dict[str, tuple[date, ...]] = Field(default_factory=dict)

    @field_validator("carriers")
    @classmethod
    def _known(cls, value: dict[str, CarrierOverride], info: ValidationInfo) -> dict[str, CarrierOverride]:
        known: Collection[str] | None = (info.context or {}).get("known")
        unknown = sorted(set(value) - set(known)) if known is not None else []
        if unknown:
            raise ValueError(f"unknown carrier(s) {unknown}; carriers are {sorted(known or ())}")
        return value

    @model_validator(mode="after")
    def _merge_each(self) -> CalendarFile:
        for code, override in self.carriers.items():
            try:
                _merged(self.default, override)
            except ValidationError as exc:
                raise ValueError(f"carriers.{code}: {exc.errors()[0]['msg']}") from exc
        return self

    @field_validator("public_holidays")
    @classmethod
    def _countries(cls, value: dict[str, tuple[date, ...]]) -> dict[str, tuple[date, ...]]:
        bad = sorted(c for c in value if len(c) != 2 or not c.isalpha() or not c.isupper())
        if bad:
            raise ValueError(f"not ISO country codes: {bad}")
        return value


class PickupCalendar:
    """Every carrier's calendar, merged over the default, read once at start."""

    def __init__(self, doc: CalendarFile | None = None) -> None:
        doc = doc or CalendarFile()
        self.default = doc.default
        self.public_holidays = {c: frozenset(days) for c, days in doc.public_holidays.items()}
        self._carriers = {code: _merged(doc.default, o) for code, o in doc.carriers.items()}

    def for_carrier(self, code: str | None) -> CarrierCalendar:
        return self._carriers.get(code or "", self.default)

    def days(self, code: str | None, now_local: datetime, country: str = "") -> list[date]:
        """The days `code` can pick up, earliest first, as seen at `now_local` (the pickup's local time)."""
        cal = self.for_carrier(code)
        today = now_local.date()
        after_cutoff = now_local.hour >= cal.cutoff_hour
        first = today + timedelta(days=cal.lead_days + (1 if after_cutoff else 0))
        last = today + timedelta(days=cal.horizon_days)
        closed = set(cal.holidays)
        if cal.skips_public_holidays:
            closed |= self.public_holidays.get(country, frozenset())
        open_days = {WEEKDAYS.index(d) for d in cal.days}
        span = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return [d for d in span if d.weekday() in open_days and d not in closed]

    def fit(self, code: str | None, wanted: date | None, now_local: datetime, country: str = "") -> date | None:
        """`wanted` when `code` serves it, else its next valid day (its last one if `wanted` is beyond them)."""
        days = self.days(code, now_local, country)
        if not days:
            return wanted
        if wanted is None:
            return days[0]
        return wanted if wanted in days else next((d for d in days if d >= wanted), days[-1])


def _merged(default: CarrierCalendar, override: CarrierOverride) -> CarrierCalendar:
    values: dict[str, Any] = {**default.model_dump(), **override.model_dump(exclude_unset=True, exclude={"source"})}
    return CarrierCalendar.model_validate(values)


def load_calendar(config_dir: Path, known: Sequence[str] | None = None) -> PickupCalendar:
    """`<config_dir>/pickup_calendar.yaml`, else the shipped one. Raises: ConfigError with file, line and key."""
    path = config_dir / FILE
    if not path.exists():
        path = Path(__file__).resolve().parents[2] / "config" / FILE
    doc = load_model(CalendarFile, path, context={"known": known} if known is not None else None)
    return PickupCalendar(doc)
