"""Find carrier adapters through the `backhaul.carriers` entry-point group.

Adapters are loaded one by one, when a carrier is first asked for, so a process imports
only the carriers it is configured to use.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from carriers.errors import ConfigError

GROUP = "backhaul.carriers"


def registered_codes() -> list[str]:
    """The slugs of every installed adapter, without importing any of them."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


@cache
def adapter_class(code: str) -> Any:
    """Raises: ConfigError when no adapter is registered under `code`, or it names another code."""
    for ep in entry_points(group=GROUP):
        if ep.name == code:
            cls = ep.load()
            if getattr(cls, "code", None) != code:
                raise ConfigError(f"entry point {code!r} loads {cls!r}, whose code is {getattr(cls, 'code', None)!r}")
            return cls
    known = ", ".join(registered_codes()) or "none"
    raise ConfigError(f"no carrier adapter registered as {code!r} (registered: {known})")
