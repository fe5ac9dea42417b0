"""Parsed documents by their exact JSON text, so the apply path does not validate them twice."""

from __future__ import annotations

from typing import Any

from gateway.models import Return
from normalizers.taxonomy import TrackingEvent


class ParsedCache:
    """Documents and events this process wrote or read lately, by their exact JSON text.

    `apply()` reads back what it wrote a moment ago; parsing and validating it again is most
    of its CPU time. Backhaul never changes a model in place (changes go through model_copy),
    so sharing them is safe.
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._docs: dict[str, Return] = {}
        self._events: dict[str, TrackingEvent] = {}

    def doc(self, text_: str) -> Return:
        found = self._docs.get(text_)
        return found if found is not None else self.remember_doc(text_, Return.model_validate_json(text_))

    def event(self, text_: str) -> TrackingEvent:
        found = self._events.get(text_)
        if found is None:
            found = self.remember_event(text_, TrackingEvent.model_validate_json(text_))
        return found

    def remember_doc(self, text_: str, doc: Return) -> Return:
        _bounded_put(self._docs, text_, doc, self.size)
        return doc

    def remember_event(self, text_: str, event: TrackingEvent) -> TrackingEvent:
        _bounded_put(self._events, text_, event, self.size * 8)
        return event


def _bounded_put(cache: dict[str, Any], key: str, value: Any, size: int) -> None:
    if len(cache) >= size:
        cache.pop(next(iter(cache)))
    cache[key] = value
