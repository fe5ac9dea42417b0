"""Reading carriers' JSON bodies: every failure is `CarrierResponseInvalid` naming the carrier.

Pure helpers for the `wire.py` modules; a module binds its carrier once, e.g.
`_load_object = partial(wire_json.load_object, CARRIER)`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from carriers.errors import CarrierResponseInvalid


def load(carrier: str, raw: bytes, what: str) -> Any:
    """Raises: CarrierResponseInvalid when `raw` is not JSON."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(carrier, f"{what} is not JSON: {raw[:80]!r}") from exc


def as_object(carrier: str, value: object, what: str) -> dict[str, Any]:
    """Raises: CarrierResponseInvalid when `value` is not a JSON object."""
    if not isinstance(value, dict):
        raise CarrierResponseInvalid(carrier, f"{what} is not a JSON object")
    return value


def load_object(carrier: str, raw: bytes, what: str) -> dict[str, Any]:
    return as_object(carrier, load(carrier, raw, what), what)


def required_text(carrier: str, obj: dict[str, Any], key: str) -> str:
    """Raises: CarrierResponseInvalid when `key` is missing or empty."""
    value = obj.get(key)
    if value in (None, ""):
        raise CarrierResponseInvalid(carrier, f"required field {key!r} missing")
    return str(value)


def mentions_any(text: str, markers: Sequence[str]) -> bool:
    """Whether a carrier's message contains any of `markers` (given in lower case)."""
    lowered = text.lower()
    return any(m in lowered for m in markers)
