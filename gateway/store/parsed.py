"""Parsed documents by their exact JSON text, so the apply path does not validate them twice."""

from __future__ import annotations

from typing import Any

from gateway.models import Return
from normalizers.taxonomy import TrackingEvent


class ParsedCache:
    """The latest document of each return this process wrote or read lately, and recent events.

    `apply()` reads back what it wrote a moment ago; parsing and validating it again is most
    of its CPU time. Backhaul never changes a model in place (changes go through model_copy),
    so sharing them is safe. Only a return's latest version is kept: older ones can never
    match again, and every cached object is one more for the garbage collector to walk
    through (a cache of superseded versions made full collections take 100 ms).
    """

    def __init__(self, size: int = 1_000) -> None:
        self.size = size
        self._docs: dict[str, tuple[str, Return]] = {}
        self._events: dict[str, TrackingEvent] = {}

    def doc(self, key: str, text_: str) -> Return:
        """The document whose JSON is `text_`, stored under `key` (its Redis key)."""
        found = self._docs.get(key)
        if found is not None and found[0] == text_:
            return found[1]
        return self.remember_doc(key, text_, Return.model_validate_json(text_))

    def event(self, text_: str) -> TrackingEvent:
        found = self._events.get(text_)
        if found is None:
            found = self.remember_event(text_, TrackingEvent.model_validate_json(text_))
        return found

    def remember_doc(self, key: str, text_: str, doc: Return) -> Return:
        self._docs.pop(key, None)
        _bounded_put(self._docs, key, (text_, doc), self.size)
        return doc

    def remember_event(self, text_: str, event: TrackingEvent) -> TrackingEvent:
        _bounded_put(self._events, text_, event, self.size * 8)
        return event


def _bounded_put(cache: dict[str, Any], key: str, value: Any, size: int) -> None:
    if len(cache) >= size:
        cache.pop(next(iter(cache)))
    cache[key] = value
