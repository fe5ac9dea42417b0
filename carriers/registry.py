"""Find carrier adapters through the `backhaul.carriers` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from carriers.errors import ConfigError

GROUP = "backhaul.carriers"


@cache
def adapter_classes() -> dict[str, Any]:
    """Every installed adapter class by carrier code (the slug)."""
    found: dict[str, Any] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        if getattr(cls, "code", None) != ep.name:
            raise ConfigError(f"entry point {ep.name!r} loads {cls!r}, whose code is {getattr(cls, 'code', None)!r}")
        found[ep.name] = cls
    return found


def adapter_class(code: str) -> Any:
    """Raises: ConfigError when no adapter is registered under `code`."""
    try:
        return adapter_classes()[code]
    except KeyError:
        known = ", ".join(sorted(adapter_classes())) or "none"
        raise ConfigError(f"no carrier adapter registered as {code!r} (registered: {known})") from None
