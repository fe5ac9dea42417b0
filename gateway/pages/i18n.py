"""The page's languages: gettext catalogues compiled at start, language and time-zone choice.

Catalogues are `gateway/locale/<lang>/LC_MESSAGES/messages.po`; they are compiled in memory
with Babel the first time a language is used, so there is no build step and no `.mo` file.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES: Mapping[str, str] = {
    "en": "English", "hi": "हिन्दी", "zh": "中文", "ru": "Русский", "da": "Dansk", "id": "Bahasa Indonesia",
}
DEFAULT_LANGUAGE = "en"
INDIA_TZ = "Asia/Kolkata"


@functools.cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of one page language. Raises: KeyError for a language we do not ship."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@functools.cache
def environment(lang: str) -> jinja2.Environment:
    """A Jinja2 environment with the gettext callables of one language installed."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def _accepted(header: str) -> list[str]:
    """Accept-Language tags, best first (`q=0` dropped)."""
    weighted = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def choose_language(query_lang: str | None, accept_language: str) -> str:
    """`?lang=` when it names a page language, else the best Accept-Language match, else English."""
    if query_lang is not None and query_lang in LANGUAGES:
        return query_lang
    for tag in _accepted(accept_language):
        primary = tag.split("-")[0].split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def choose_time_zone(query_tz: str | None, country: str, merchant_tz: str) -> ZoneInfo:
    """`?tz=` when valid, India's zone for an Indian pickup, else the merchant's zone, else UTC."""
    for candidate in (query_tz, INDIA_TZ if country == "IN" else None, merchant_tz):
        if candidate and candidate in _zones():
            try:
                return ZoneInfo(candidate)
            except ZoneInfoNotFoundError:
                continue
    return ZoneInfo("UTC")


class Formatter:
    """Dates, times and prices in one customer's locale and time zone."""

    def __init__(self, lang: str, tz: ZoneInfo) -> None:
        self.lang = lang
        self.tz = tz
        try:
            self.locale = Locale.parse(lang)
        except UnknownLocaleError:
            self.locale = Locale.parse(DEFAULT_LANGUAGE)

    def when(self, moment: datetime) -> str:
        """A medium date and a short time (no seconds), joined the locale's way."""
        local = moment.astimezone(self.tz)
        joined: str = self.locale.datetime_formats["medium"]
        return joined.replace("{1}", format_date(local.date(), "medium", locale=self.locale)).replace(
            "{0}", format_time(local, "short", tzinfo=self.tz, locale=self.locale))

    def day(self, value: date) -> str:
        """A calendar day with its weekday, as short as the locale writes it."""
        noon = datetime(value.year, value.month, value.day, 12, tzinfo=UTC)
        return format_skeleton("yMMMEd", noon, tzinfo=ZoneInfo("UTC"), locale=self.locale)

    def short_day(self, value: date) -> str:
        # Noon UTC formatted in UTC: the calendar day itself, whatever the customer's zone.
        noon = datetime(value.year, value.month, value.day, 12, tzinfo=UTC)
        return format_skeleton("MMMEd", noon, tzinfo=ZoneInfo("UTC"), locale=self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()
