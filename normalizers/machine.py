"""The shipment state machine: a pure fold over a shipment's unified events.

Events are deduplicated by fingerprint and put in the order they happened, so any arrival
order and any duplication give the same state. The rules, in the order `_applies` checks them:

- an `unknown` event never changes the status; it stays in the timeline;
- a terminal status stays unless a later event is a correction;
- once picked up, a pre-pickup status cannot take the status back;
- `on_hold` and `exception` set status and reason but leave the phase where it was.

A late event can sort before events already folded, so a new event means a refold of the
whole timeline; there is deliberately no incremental step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from normalizers.taxonomy import PRE_PICKUP, TERMINAL, Reason, Status, TrackingEvent

# How far along a return is. Events at the same instant are applied in rank order, so the
# further-along one is applied last; a hold or exception at the instant of a milestone is
# applied after it (so it is not hidden) but before a terminal status.
RANK: Mapping[Status, int] = MappingProxyType({
    Status.UNKNOWN: 0,
    Status.CREATED: 0,
    Status.PICKUP_SCHEDULED: 10,
    Status.OUT_FOR_PICKUP: 20,
    Status.PICKUP_FAILED: 20,
    Status.PICKED_UP: 30,
    Status.IN_TRANSIT: 40,
    Status.OUT_FOR_DELIVERY: 50,
    Status.DELIVERY_FAILED: 50,
    Status.ON_HOLD: 55,
    Status.EXCEPTION: 55,
    Status.DELIVERED: 60,
    Status.RETURNED_TO_SENDER: 60,
    Status.CANCELLED: 60,
})

# Statuses that set the status but are no milestone: the phase stays where it was.
_PHASELESS: frozenset[Status] = frozenset(
    {Status.ON_HOLD, Status.EXCEPTION, Status.CANCELLED, Status.UNKNOWN}
)

# Milestones that prove the parcel has left the customer.
_POST_PICKUP: frozenset[Status] = frozenset(
    s for s, rank in RANK.items() if rank >= RANK[Status.PICKED_UP] and s not in _PHASELESS
)


class ShipmentState(BaseModel):
    """Where one shipment stands after all its events; `phase` is the furthest milestone's rank."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status = Status.CREATED
    reason: Reason | None = None
    description: str = ""
    phase: int = 0
    pickup_attempts: int = 0
    picked_up_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    last_event_at: datetime | None = None
    last_location: str = ""

    @classmethod
    def initial(cls) -> ShipmentState:
        """The state of a return nothing has been heard about yet."""
        return cls()

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


@dataclass(slots=True)
class _Fold:
    """The mutable working copy of a state while one timeline is folded."""

    status: Status = Status.CREATED
    reason: Reason | None = None
    description: str = ""
    phase: int = 0
    pickup_attempts: int = 0
    picked_up_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    last_event_at: datetime | None = None
    last_location: str = ""
    # An attempt is open from an out_for_pickup until a pickup_failed closes it.
    has_open_attempt: bool = False


def ordered(events: Iterable[TrackingEvent]) -> list[TrackingEvent]:
    """The timeline: one event per fingerprint, sorted by (occurred_at, rank, fingerprint)."""
    unique: dict[str, TrackingEvent] = {}
    for event in events:
        kept = unique.get(event.fingerprint)
        # Two copies may differ in wording (poll vs webhook); keep the same one whatever the order.
        if kept is None or _copy_key(event) > _copy_key(kept):
            unique[event.fingerprint] = event
    return sorted(unique.values(), key=_sort_key)


def fold(events: Iterable[TrackingEvent]) -> ShipmentState:
    """The state of one shipment after all of its events, whatever order they came in."""
    acc = _Fold()
    for event in ordered(events):
        _apply(acc, event)
    return ShipmentState(
        status=acc.status,
        reason=acc.reason,
        description=acc.description,
        phase=acc.phase,
        pickup_attempts=acc.pickup_attempts,
        picked_up_at=acc.picked_up_at,
        delivered_at=acc.delivered_at,
        cancelled_at=acc.cancelled_at,
        last_event_at=acc.last_event_at,
        last_location=acc.last_location,
    )


def _sort_key(event: TrackingEvent) -> tuple[datetime, int, str]:
    return (event.occurred_at, RANK[event.status], event.fingerprint)


def _copy_key(event: TrackingEvent) -> tuple[str, str, bool, str, str, str, str, int]:
    return (
        event.status.value,
        event.reason.value if event.reason else "",
        event.is_correction,
        event.description,
        event.raw_description,
        event.remarks,
        event.location,
        event.local_offset_min,
    )


def _apply(acc: _Fold, event: TrackingEvent) -> None:
    # Every event is a sign of life, even one that cannot change the status.
    acc.last_event_at = event.occurred_at
    if event.location:
        acc.last_location = event.location
    if not _applies(acc, event):
        return
    _count_attempt(acc, event.status)
    _mark_milestones(acc, event)
    acc.status, acc.reason, acc.description = event.status, event.reason, event.description


def _applies(acc: _Fold, event: TrackingEvent) -> bool:
    if event.status is Status.UNKNOWN:
        return False
    if acc.status in TERMINAL and not event.is_correction:
        return False
    return not (event.status in PRE_PICKUP and acc.picked_up_at is not None)


def _count_attempt(acc: _Fold, status: Status) -> None:
    if status is Status.OUT_FOR_PICKUP and not acc.has_open_attempt:
        acc.pickup_attempts += 1
        acc.has_open_attempt = True
    elif status is Status.PICKUP_FAILED:
        # A failure reported without an out_for_pickup before it was an attempt all the same.
        if not acc.has_open_attempt:
            acc.pickup_attempts += 1
        acc.has_open_attempt = False


def _mark_milestones(acc: _Fold, event: TrackingEvent) -> None:
    status, at = event.status, event.occurred_at
    if status not in _PHASELESS:
        # A correction says the milestones after it were wrong, so the phase may go back.
        acc.phase = RANK[status] if event.is_correction else max(acc.phase, RANK[status])
    if status in _POST_PICKUP and acc.picked_up_at is None:
        acc.picked_up_at = at
    if status is Status.DELIVERED and acc.delivered_at is None:
        acc.delivered_at = at
    if status is Status.CANCELLED and acc.cancelled_at is None:
        acc.cancelled_at = at
    if event.is_correction:
        # A correction that leaves a terminal status takes its timestamp back with it.
        if status is not Status.DELIVERED:
            acc.delivered_at = None
        if status is not Status.CANCELLED:
            acc.cancelled_at = None
