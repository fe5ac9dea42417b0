"""`config/return_reasons.yaml`: the portal's reasons (labelled in every page language) and resolutions."""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from carriers.errors import ConfigError
from gateway.pages.i18n import DEFAULT_LANGUAGE, LANGUAGES
from gateway.settings import describe_errors, read_config_file

FILE = "return_reasons.yaml"
Offer = Literal["refund", "exchange", "credit"]
# A one-time code on identify: none, by email, by SMS, or by the kind of contact the customer typed.
Verify = Literal["none", "email", "sms", "email_or_sms"]


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    label: dict[str, str]

    @field_validator("label")
    @classmethod
    def _every_language(cls, value: dict[str, str]) -> dict[str, str]:
        missing = sorted(set(LANGUAGES) - set(value))
        if missing:
            raise ValueError(f"no label in {', '.join(missing)}")
        return value

    def text(self, lang: str) -> str:
        return self.label.get(lang) or self.label[DEFAULT_LANGUAGE]


class Resolutions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    offered: list[Offer] = Field(default_factory=lambda: list[Offer](["refund"]), min_length=1)
    keep_below_value: Decimal | None = Field(default=None, ge=0)
    keep_categories: list[str] = Field(default_factory=list)


class PortalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reasons: list[Reason] = Field(min_length=1)
    resolutions: Resolutions = Resolutions()
    verify: Verify = "none"
    # Offer "I'll drop it off" where the allocated carrier books drop-off labels (docs/portal.md).
    drop_off: bool = False

    def reason(self, code: str) -> Reason | None:
        return next((r for r in self.reasons if r.code == code), None)


class PortalFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: list[Reason] = Field(min_length=1)
    resolutions: Resolutions = Resolutions()
    verify: Verify = "none"
    drop_off: bool = False
    merchants: dict[str, dict[str, Any]] = Field(default_factory=dict)


@functools.cache
def load(config_dir: Path) -> tuple[PortalConfig, dict[str, PortalConfig]]:
    """The default and each merchant's portal config. Raises: ConfigError with the file, line and key."""
    path = config_dir / FILE
    if not path.exists():
        path = Path(__file__).resolve().parents[2] / "config" / FILE
    try:
        doc = PortalFile.model_validate(read_config_file(path))
        default = PortalConfig(reasons=doc.reasons, resolutions=doc.resolutions, verify=doc.verify,
                               drop_off=doc.drop_off)
        merchants = {key: PortalConfig.model_validate({**dict(default), **override})
                     for key, override in doc.merchants.items()}
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path)) from exc
    return default, merchants


def for_merchant(config_dir: Path, mid: str, name: str) -> PortalConfig:
    default, merchants = load(config_dir)
    return merchants.get(mid) or merchants.get(name) or default
