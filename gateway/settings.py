"""Settings: `BACKHAUL_*` environment variables over `config/*.yaml` over defaults.

This module is the only reader of the environment. A bad config file stops the process
with the file, the line, the key and what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from carriers.base import CarrierSettings
from carriers.errors import ConfigError
from carriers.registry import adapter_class

DEFAULT_CONFIG_DIR = Path("config")
WorkerRole = Literal["poller", "inbound", "observers", "webhooks", "ops"]
WORKER_ROLES: tuple[WorkerRole, ...] = ("poller", "inbound", "observers", "webhooks", "ops")
_SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey", "key_hash")


class MerchantBranding(BaseModel):
    """How a merchant's customer-facing pages look."""

    display_name: str = ""
    primary_color: str = Field(default="#1f4b99", pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str = ""
    support_email: str = ""


class OpsSettings(BaseModel):
    """The ops console, customer notifications and alert delivery (docs/ops.md)."""

    model_config = ConfigDict(extra="forbid")

    # Signs the console's session cookies and CSRF tokens; the default is for development only.
    session_secret: SecretStr = SecretStr("dev-only-ops-secret-change-me")
    session_ttl_s: int = Field(default=12 * 3600, ge=60)
    # name -> password hash from `python -m gateway.ops.users hash` (users added with `add` live in Redis).
    users: dict[str, SecretStr] = Field(default_factory=dict)
    login_failures_max: int = Field(default=10, ge=1)
    tick_s: float = Field(default=5.0, gt=0)
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "Backhaul returns <returns@localhost>"
    # Generic HTTP providers: POST {"to", "text"} JSON with `Authorization: Bearer <token>`.
    sms_url: str = ""
    sms_token: SecretStr = SecretStr("")
    whatsapp_url: str = ""
    whatsapp_token: SecretStr = SecretStr("")
    sink_timeout_s: float = Field(default=5.0, gt=0)


class GuardOverride(BaseModel):
    """One carrier's exceptions to the `carrier_guard` defaults; unset fields keep the default."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float | None = Field(default=None, gt=0, le=1)
    min_calls: int | None = Field(default=None, ge=1)
    window_s: int | None = Field(default=None, ge=10)
    cooldown_s: float | None = Field(default=None, gt=0)
    rate_per_s: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)


class CarrierGuardSettings(BaseModel):
    """The carrier circuit breaker and rate limit shared through Redis (gateway/carrier_guard.py)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # The circuit opens when this share of the calls in the last `window_s` failed carrier-side
    # (timeouts, 5xx, 429, resets), once at least `min_calls` calls were made in that window.
    error_rate: float = Field(default=0.5, gt=0, le=1)
    min_calls: int = Field(default=10, ge=1)
    window_s: int = Field(default=60, ge=10)
    # Open this long, then one probe call (half-open) decides: closed again, or open again.
    cooldown_s: float = Field(default=30.0, gt=0)
    # A probe that has not reported back after this long (its process died) is taken over by another caller.
    probe_timeout_s: float = Field(default=60.0, gt=0)
    # Adapter calls per second per carrier; None: the carrier's documented limit, else `default_rate_per_s`.
    rate_per_s: float | None = Field(default=None, gt=0)
    default_rate_per_s: float = Field(default=5.0, gt=0)
    burst: int | None = Field(default=None, ge=1)
    # A call that would have to wait longer than this for room in the limit is refused (RateLimited).
    max_wait_s: float = Field(default=0.5, ge=0)
    # Per-minute call counts and latency histograms kept for ops health and the carrier alerts.
    stats_kept_s: int = Field(default=3600, ge=300)
    carriers: dict[str, GuardOverride] = Field(default_factory=dict)


class DigestSettings(BaseModel):
    """The merchants' daily returns digest email (docs/analytics.md); recipients are set per merchant."""

    model_config = ConfigDict(extra="forbid")

    # For merchants that set no time zone of their own (IANA name).
    time_zone: str = "UTC"
    max_per_tick: int = Field(default=20, ge=1)
    # How long a claimed send may take before another worker may try (the claim of a crashed sender).
    lease_s: float = Field(default=300.0, gt=0)
    retry_s: float = Field(default=300.0, gt=0)
    # Worst SKUs: return rate over this many days, only SKUs with at least this many units ordered.
    sku_window_days: int = Field(default=30, ge=1, le=366)
    sku_min_ordered: int = Field(default=20, ge=1)


class OrderLookupSettings(BaseModel):
    """The merchants' order-lookup webhooks (docs/portal.md); the URL and secret are set per merchant."""

    model_config = ConfigDict(extra="forbid")

    # The customer waits on this call at the identify form, so it is short.
    timeout_s: float = Field(default=3.0, gt=0, le=30)
    # A found order is asked again after this long; the copy outlives it by the portal session's life.
    cache_s: int = Field(default=600, ge=0)
    # A 404 for an order id and contact is believed this long.
    miss_cache_s: int = Field(default=60, ge=1)
    max_answer_bytes: int = Field(default=512 * 1024, ge=1024)


class Settings(BaseSettings):
    """Everything Backhaul reads at start; secrets are SecretStr or masked in `config show`."""

    model_config = SettingsConfigDict(env_prefix="BACKHAUL_", env_nested_delimiter="__", extra="forbid")

    redis_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BACKHAUL_REDIS_URL", "REDIS_URL", "redis_url")
    )
    data_dir: Path = Path("var")
    key_prefix: str = Field(default="bh:", min_length=1, max_length=32)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)
    poll_interval_s: float = Field(default=900.0, gt=0)
    poll_tick_s: float = Field(default=1.0, gt=0)
    poll_lease_s: float = Field(default=120.0, gt=0)
    raw_payloads_kept: int = Field(default=50, ge=0)
    inbound_maxlen: int = Field(default=1_000_000, ge=1000)
    inbound_reclaim_idle_s: float = Field(default=30.0, gt=0)
    # Learning, analytics and ops wait this long after a small batch, so they take what arrived
    # meanwhile in one go (docs/performance.md); the feed never waits for them.
    observe_linger_s: float = Field(default=0.1, ge=0, le=5)
    feed_maxlen: int = Field(default=100_000, ge=100)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_retry_base_s: float = Field(default=5.0, gt=0)
    webhook_retry_cap_s: float = Field(default=3600.0, gt=0)
    webhook_retry_window_s: float = Field(default=24 * 3600.0, gt=0)
    webhook_tick_s: float = Field(default=1.0, gt=0)
    webhook_lease_s: float = Field(default=60.0, gt=0)
    webhook_reclaim_idle_s: float = Field(default=60.0, gt=0)
    webhook_concurrency: int = Field(default=16, ge=1)
    webhook_deliveries_kept: int = Field(default=100, ge=1)
    webhook_dead_letters_kept: int = Field(default=10_000, ge=1)
    webhook_endpoints_max: int = Field(default=20, ge=1)
    # Refuse webhook URLs on private or loopback addresses (SSRF); tests and the demo allow them.
    webhook_allow_private_urls: bool = False
    # Load config/serviceability/<slug>.csv at start for carriers with no table in Redis yet.
    serviceability_autoload: bool = True
    # What `backhaul worker` (and `serve --with-worker`) runs; split across processes to scale.
    worker_roles: list[WorkerRole] = Field(default_factory=lambda: list(WORKER_ROLES))
    carrier_order: list[str] = Field(default_factory=lambda: ["delhivery"])
    config_dir: Path = Field(default=DEFAULT_CONFIG_DIR, description="allocation, rates, rules/, policy")
    carriers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    log_level: str = "INFO"
    # Signs the tracking page's short-lived form tokens; the default is for development only.
    page_secret: SecretStr = SecretStr("dev-only-page-secret-change-me")
    ops: OpsSettings = Field(default_factory=OpsSettings)
    order_lookup: OrderLookupSettings = Field(default_factory=OrderLookupSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    carrier_guard: CarrierGuardSettings = Field(default_factory=CarrierGuardSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over whatever the caller read from config files (passed as init).
        return env_settings, init_settings


def config_dir_from_env() -> Path:
    return Path(os.environ.get("BACKHAUL_CONFIG_DIR", str(DEFAULT_CONFIG_DIR)))


def _line_of(path: Path, loc: tuple[int | str, ...]) -> int | None:
    """The line in a YAML file where the key at `loc` is written, if it is there."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next((v for k, v in node.value if k.value == str(part)), None)
        if match is None:
            break
        line = next(k for k, v in node.value if v is match).start_mark.line + 1
        node = match
    return line


def read_config_file(path: Path) -> dict[str, Any]:
    """Raises: ConfigError when the file is not a YAML mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of setting names to values")
    return data


def describe_errors(exc: ValidationError, path: Path | None) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(path, loc) if path else None
        where = f"{path}:{line}" if path and line else (str(path) if path else "environment")
        lines.append(f"{where}: {key}: {err['msg']}")
    return "\n".join(lines)


def load_settings(config_dir: Path | None = None, **overrides: Any) -> Settings:
    """Read `<config_dir>/backhaul.yaml`, then the environment, then explicit overrides.

    Raises: ConfigError naming the file, line and key of every problem.
    """
    directory = config_dir or config_dir_from_env()
    path = directory / "backhaul.yaml"
    file_values = read_config_file(path) if path.exists() else {}
    source = path if path.exists() else None
    try:
        settings = Settings(**{"config_dir": directory, **file_values, **overrides})
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, source)) from exc
    for code in settings.carriers:
        carrier_settings(settings, code, source)
    return settings


def carrier_settings(settings: Settings, code: str, source: Path | None = None) -> CarrierSettings:
    """The validated settings of one carrier, by its adapter's own settings model.

    Raises: ConfigError naming the file, line and key.
    """
    model: type[CarrierSettings] = adapter_class(code).settings_model
    try:
        return model.model_validate(settings.carriers.get(code, {}))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ("carriers", code, *err["loc"])
            line = _line_of(source, loc) if source else None
            where = f"{source}:{line}" if source and line else str(source or "environment")
            lines.append(f"{where}: {'.'.join(map(str, loc))}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from exc


def masked(value: Any, key: str = "") -> Any:
    """A copy of a settings tree with every secret replaced by asterisks."""
    if isinstance(value, dict):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if any(word in key.lower() for word in _SECRET_WORDS) and value:
        return "********"
    if key == "redis_url" and isinstance(value, str) and "@" in value:
        scheme, rest = value.split("://", 1)
        return f"{scheme}://********@{rest.split('@', 1)[1]}"
    return value


def effective_config(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="python")
    if settings.redis_url is not None:
        data["redis_url"] = masked(settings.redis_url.get_secret_value(), "redis_url")
    data["data_dir"] = str(settings.data_dir)
    data["config_dir"] = str(settings.config_dir)
    return dict(masked(data))
