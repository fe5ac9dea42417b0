"""A merchant's branding: the document the API and config edit, and the colours the page uses.

Colours are checked for contrast when the page is drawn, so whatever a merchant picks,
text on it stays readable (WCAG AA, 4.5:1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from carriers.errors import ConfigError
from gateway.models import FontChoice, FooterLink, Merchant, Recommendation
from gateway.settings import describe_errors, read_config_file

FONT_STACKS: Mapping[FontChoice, str] = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif',
    "humanist": 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif',
    "geometric": 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif',
    "serif": 'Charter, "Bitstream Charter", "Sitka Text", Cambria, "Noto Serif", serif',
    "rounded": 'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, "Arial Rounded MT", '
               "Calibri, source-sans-pro, sans-serif",
    "mono": 'ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, "DejaVu Sans Mono", monospace',
}
_DARK_TEXT = "#111827"
_WHITE = "#ffffff"
_COLOR = r"^#[0-9a-fA-F]{6}$"


class Branding(BaseModel):
    """The body of `PUT /v1/branding` and of one merchant in `config/branding.yaml`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: str = Field(default="", max_length=80)
    logo_url: str = Field(default="", max_length=16_000,
                          pattern=r"^(https://[^\s\"'<>]+|data:image/(png|jpeg|webp|svg\+xml)[;,][^\s\"'<>]+)?$")
    primary_color: str = Field(default="#1f4b99", pattern=_COLOR)
    accent_color: str = Field(default="#0f766e", pattern=_COLOR)
    font: FontChoice = "system"
    support_email: str = Field(default="", max_length=200, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")
    support_phone: str = Field(default="", max_length=32, pattern=r"^[0-9+()\- ]*$")
    footer_links: list[FooterLink] = Field(default_factory=list, max_length=8)
    public_url: str = Field(default="", max_length=200, pattern=r"^(https?://[^\s/\"'<>]+)?$")
    time_zone: str = Field(default="", max_length=64)
    recommendations: list[Recommendation] = Field(default_factory=list, max_length=6)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value and value not in available_timezones():
            raise ValueError(f"{value!r} is not an IANA time zone such as 'Asia/Kolkata'")
        return value

    @field_validator("recommendations")
    @classmethod
    def _unique_ids(cls, value: list[Recommendation]) -> list[Recommendation]:
        ids = [r.id for r in value]
        if len(ids) != len(set(ids)):
            raise ValueError("recommendation ids must be unique")
        return value

    @classmethod
    def of(cls, merchant: Merchant) -> Branding:
        return cls.model_validate(merchant.model_dump(include=set(cls.model_fields)))

    def applied_to(self, merchant: Merchant) -> Merchant:
        return merchant.model_copy(update=dict(self))


def branding_fields(config_dir: Path, merchant_name: str) -> dict[str, Any]:
    """The Merchant fields `config/branding.yaml` sets for one merchant, by name (demo seeding).

    Raises: ConfigError naming the file, line and key of a bad value.
    """
    path = config_dir / "branding.yaml"
    if not path.exists():
        return {}
    entry = read_config_file(path).get("merchants", {}).get(merchant_name)
    if entry is None:
        return {}
    try:
        return Branding.model_validate(entry).model_dump()
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path)) from exc


def _luminance(color: str) -> float:
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two `#rrggbb` colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_on(background: str) -> str:
    """White or near-black, whichever reads better on `background`."""
    return _WHITE if contrast(background, _WHITE) >= contrast(background, _DARK_TEXT) else _DARK_TEXT


def readable_on_white(color: str, ratio: float = 4.5) -> str:
    """`color`, darkened just enough to be readable as text or a button on white."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    current = color.lower()
    for _ in range(40):
        if contrast(current, _WHITE) >= ratio:
            return current
        r, g, b = (int(c * 0.9) for c in (r, g, b))
        current = f"#{r:02x}{g:02x}{b:02x}"
    return _DARK_TEXT


def palette(primary: str = "#1f4b99", accent: str = "#0f766e", font: FontChoice = "system") -> dict[str, str]:
    """The CSS custom properties of a page in these colours and font."""
    primary = primary if re.fullmatch(_COLOR, primary) else "#1f4b99"
    readable = readable_on_white(accent if re.fullmatch(_COLOR, accent) else "#0f766e")
    return {
        "brand": primary,
        "on-brand": text_on(primary),
        "accent": readable,
        "on-accent": text_on(readable),
        "font": FONT_STACKS.get(font, FONT_STACKS["system"]),
    }
