"""Turn one `CarrierEvent` into a unified `TrackingEvent` with a carrier's status map.

Pure: no I/O, no clock. An unmapped code becomes `Status.UNKNOWN` with the carrier's own
words; it is never dropped and never guessed.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from carriers.base import CarrierEvent
from normalizers.maps import StatusMap
from normalizers.taxonomy import Status, TrackingEvent

# Separators carriers leave at the ends of a location ("DELHI_HUB, ", "- Gurgaon").
_EDGE_SEPARATORS = " ,;|-_"
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def normalize(event: CarrierEvent, status_map: StatusMap) -> TrackingEvent:
    """The event's unified meaning; `occurred_at` in UTC, the carrier's offset kept."""
    entry = status_map.lookup(event)
    occurred_at = event.occurred_at.astimezone(UTC)
    location = clean_location(event.location)
    raw_code = event.raw_code
    if entry is None:
        status, reason, description, is_correction = Status.UNKNOWN, None, event.description, False
    else:
        status, reason, is_correction = entry.status, entry.reason, entry.correction
        description = entry.text or event.description
    return TrackingEvent(
        carrier=event.carrier,
        awb=event.awb,
        status=status,
        reason=reason,
        description=description,
        raw_code=raw_code,
        raw_description=event.description,
        occurred_at=occurred_at,
        local_offset_min=_offset_min(event.occurred_at),
        location=location,
        remarks=event.remarks,
        fingerprint=fingerprint(event.carrier, event.awb, raw_code, occurred_at, location),
        is_correction=is_correction,
        code=event.code,
        code_type=event.code_type,
        detail_code=event.detail_code,
        raw_location=event.location,
    )


def renormalize(event: TrackingEvent, status_map: StatusMap) -> TrackingEvent:
    """The same carrier event read again with `status_map`; the fingerprint does not change."""
    if not event.code:
        return event  # an event Backhaul itself made: there is no carrier code to read again
    local = timezone(timedelta(minutes=event.local_offset_min))
    source = CarrierEvent(carrier=event.carrier, awb=event.awb, code=event.code, code_type=event.code_type,
                          detail_code=event.detail_code, description=event.raw_description,
                          occurred_at=event.occurred_at.astimezone(local), location=event.raw_location,
                          remarks=event.remarks)
    return normalize(source, status_map)


def is_unmapped(event: TrackingEvent) -> bool:
    """Whether the carrier's code had no entry in its map (counted and alerted on)."""
    return event.status is Status.UNKNOWN


# Carriers repeat a few thousand hub names, so cleaning each once keeps normalize() fast.
@lru_cache(maxsize=8192)
def clean_location(location: str) -> str:
    """Collapse whitespace, trim separators at the ends, and soften an ALL CAPS name."""
    cleaned = " ".join(location.split()).strip(_EDGE_SEPARATORS)
    if cleaned.isupper():
        cleaned = _WORD.sub(lambda m: m[0].capitalize(), cleaned)
    return cleaned


def fingerprint(carrier: str, awb: str, raw_code: str, occurred_at: datetime, location: str) -> str:
    """A stable id for one scan, equal whether it came by poll or by webhook.

    Description and remarks are left out because the two channels word them differently;
    the time is cut to the second (as epoch seconds, which are UTC by definition) and the
    location case-folded for the same reason.
    """
    text = f"{carrier}|{awb}|{raw_code}|{int(occurred_at.timestamp())}|{location.casefold()}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _offset_min(moment: datetime) -> int:
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds()) // 60
