"""The digest as an email: a plain-text body and a simple HTML alternative from `templates/digest/`.

English text (the digest is for the merchant's team), numbers and money in the merchant's
country's English locale (`en_IN` writes ₹1,23,456.00), money in the rate cards' currency,
since the cost counters sum the allocation's rate-card prices. The HTML uses inline styles
only and loads nothing, so mail clients show it as sent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import jinja2
from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal

from gateway.analytics.digest import Digest
from gateway.models import Merchant

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "digest"


@dataclass(frozen=True)
class DigestMail:
    subject: str
    text: str
    html: str


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                              autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def locale_of(merchant: Merchant) -> Locale:
    """English as written in the merchant's country (its return address), else plain English."""
    country = merchant.return_address.country if merchant.return_address else ""
    try:
        return Locale.parse(f"en_{country}") if country else Locale.parse("en")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@dataclass(frozen=True)
class Formats:
    """The filters the templates use, bound to one locale and currency."""

    locale: Locale
    currency: str

    def money(self, amount: float) -> str:
        return format_currency(round(amount, 2), self.currency, locale=self.locale)

    def number(self, value: float, digits: int = 1) -> str:
        return format_decimal(round(value, digits), format="#,##0." + "0" * digits, locale=self.locale)

    @staticmethod
    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    @staticmethod
    def signed_pct(value: float | None) -> str:
        return "no returns the week before" if value is None else f"{value:+.0%}"

    def filters(self) -> dict[str, object]:
        return {"money": self.money, "number": self.number, "pct": self.pct, "signed_pct": self.signed_pct,
                "plural": lambda n, word: f"{n} {word}" if n == 1 else f"{n} {word}s"}


def render(digest: Digest, merchant: Merchant, currency: str) -> DigestMail:
    """The subject, text and HTML of one digest."""
    formats = Formats(locale_of(merchant), currency)
    day = digest.day
    values = {"d": digest, "f": formats.filters(), "day": f"{day:%A} {day.day} {day:%B %Y}"}
    env = _environment()
    subject = f"{digest.merchant_name} returns digest for {day:%a} {day.day} {day:%b %Y}: " \
              f"{digest.returns} return{'' if digest.returns == 1 else 's'}"
    return DigestMail(subject, env.get_template("digest.txt").render(values),
                      env.get_template("digest.html").render(values))
