"""The shipment state machine: each rule as a table, order-independence as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from normalizers.machine import RANK, ShipmentState, fold, ordered
from normalizers.taxonomy import TERMINAL, Reason, Status, TrackingEvent

T0 = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)
S = Status


def ev(status: Status, minute: int, *, reason: Reason | None = None, correction: bool = False,
       location: str = "", fp: str | None = None, description: str = "") -> TrackingEvent:
    return TrackingEvent(
        carrier="acme", awb="AWB1", status=status, reason=reason, raw_code=status.value,
        description=description or status.value, occurred_at=T0 + timedelta(minutes=minute),
        location=location, fingerprint=fp or f"{status.value}@{minute}", is_correction=correction,
    )


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def test_initial_state() -> None:
    assert fold([]) == ShipmentState.initial()
    assert ShipmentState.initial().status is S.CREATED
    assert ShipmentState.initial().pickup_attempts == 0


def test_rank_covers_every_status() -> None:
    assert set(RANK) == set(Status)


def test_happy_path() -> None:
    state = fold([ev(S.CREATED, 0), ev(S.PICKUP_SCHEDULED, 1), ev(S.OUT_FOR_PICKUP, 2),
                  ev(S.PICKED_UP, 3, location="Gurgaon"), ev(S.IN_TRANSIT, 4), ev(S.OUT_FOR_DELIVERY, 5),
                  ev(S.DELIVERED, 6, location="Warehouse")])
    assert state.status is S.DELIVERED
    assert state.is_terminal
    assert (state.picked_up_at, state.delivered_at, state.last_event_at) == (at(3), at(6), at(6))
    assert (state.pickup_attempts, state.phase, state.last_location) == (1, 60, "Warehouse")
    assert state.cancelled_at is None


@pytest.mark.parametrize(
    ("events", "status"),
    [
        # events are applied in the order they happened, not the order they arrived
        ([ev(S.DELIVERED, 9), ev(S.IN_TRANSIT, 4)], S.DELIVERED),
        # a terminal status stays terminal ...
        ([ev(S.DELIVERED, 4), ev(S.IN_TRANSIT, 9)], S.DELIVERED),
        ([ev(S.CANCELLED, 4), ev(S.OUT_FOR_PICKUP, 9)], S.CANCELLED),
        ([ev(S.RETURNED_TO_SENDER, 4), ev(S.DELIVERED, 9)], S.RETURNED_TO_SENDER),
        # ... unless a later event is a correction
        ([ev(S.DELIVERED, 4), ev(S.IN_TRANSIT, 9, correction=True)], S.IN_TRANSIT),
        ([ev(S.CANCELLED, 4), ev(S.PICKUP_SCHEDULED, 9, correction=True)], S.PICKUP_SCHEDULED),
        # once picked up, a pre-pickup status cannot take the status back
        ([ev(S.PICKED_UP, 4), ev(S.PICKUP_FAILED, 9)], S.PICKED_UP),
        ([ev(S.IN_TRANSIT, 4), ev(S.CREATED, 9)], S.IN_TRANSIT),
        ([ev(S.IN_TRANSIT, 4), ev(S.ON_HOLD, 5), ev(S.PICKUP_SCHEDULED, 9)], S.ON_HOLD),
        # post-pickup statuses may go back (a failed delivery returns to the hub)
        ([ev(S.OUT_FOR_DELIVERY, 4), ev(S.IN_TRANSIT, 9)], S.IN_TRANSIT),
        # unknown never changes the status
        ([ev(S.OUT_FOR_PICKUP, 4), ev(S.UNKNOWN, 9)], S.OUT_FOR_PICKUP),
        ([ev(S.UNKNOWN, 9)], S.CREATED),
        # at one instant the further-along status is applied last
        ([ev(S.DELIVERED, 4), ev(S.IN_TRANSIT, 4)], S.DELIVERED),
        ([ev(S.IN_TRANSIT, 4), ev(S.EXCEPTION, 4)], S.EXCEPTION),
        # cancellation is possible before pickup and after it
        ([ev(S.PICKUP_FAILED, 4), ev(S.CANCELLED, 9)], S.CANCELLED),
        ([ev(S.IN_TRANSIT, 4), ev(S.CANCELLED, 9)], S.CANCELLED),
    ],
)
def test_status_rules(events: list[TrackingEvent], status: Status) -> None:
    assert fold(events).status is status


def test_unknown_stays_in_the_timeline_and_counts_as_activity() -> None:
    events = [ev(S.OUT_FOR_PICKUP, 4), ev(S.UNKNOWN, 9, location="Somewhere")]
    state = fold(events)
    assert ordered(events)[-1].status is S.UNKNOWN
    assert (state.last_event_at, state.last_location) == (at(9), "Somewhere")


def test_terminal_state_still_records_activity() -> None:
    state = fold([ev(S.DELIVERED, 4, location="Warehouse"), ev(S.IN_TRANSIT, 9, location="Hub")])
    assert (state.status, state.last_event_at, state.last_location) == (S.DELIVERED, at(9), "Hub")


def test_hold_and_exception_set_reason_but_not_phase() -> None:
    state = fold([ev(S.IN_TRANSIT, 4), ev(S.ON_HOLD, 5, reason=Reason.ENTRY_RESTRICTED, description="Held")])
    assert (state.status, state.reason, state.description) == (S.ON_HOLD, Reason.ENTRY_RESTRICTED, "Held")
    assert state.phase == RANK[S.IN_TRANSIT]
    state = fold([ev(S.PICKUP_SCHEDULED, 1), ev(S.EXCEPTION, 2, reason=Reason.DAMAGED)])
    assert (state.status, state.reason, state.phase) == (S.EXCEPTION, Reason.DAMAGED, 10)


def test_reason_is_cleared_by_the_next_status() -> None:
    state = fold([ev(S.PICKUP_FAILED, 1, reason=Reason.CUSTOMER_UNAVAILABLE), ev(S.PICKED_UP, 2)])
    assert state.reason is None


def test_phase_is_the_furthest_milestone() -> None:
    assert fold([ev(S.OUT_FOR_DELIVERY, 4), ev(S.IN_TRANSIT, 9)]).phase == 50


def test_correction_takes_back_the_terminal_timestamp_and_phase() -> None:
    state = fold([ev(S.DELIVERED, 4), ev(S.IN_TRANSIT, 9, correction=True)])
    assert (state.delivered_at, state.phase, state.picked_up_at) == (None, 40, at(4))
    state = fold([ev(S.CANCELLED, 4), ev(S.PICKUP_SCHEDULED, 9, correction=True)])
    assert state.cancelled_at is None


@pytest.mark.parametrize(
    ("statuses", "attempts"),
    [
        ([], 0),
        ([S.PICKUP_SCHEDULED], 0),
        ([S.OUT_FOR_PICKUP], 1),
        ([S.OUT_FOR_PICKUP, S.OUT_FOR_PICKUP], 1),  # a repeated scan is the same attempt
        ([S.OUT_FOR_PICKUP, S.PICKUP_FAILED], 1),
        ([S.OUT_FOR_PICKUP, S.PICKUP_FAILED, S.OUT_FOR_PICKUP], 2),  # a re-attempt
        ([S.OUT_FOR_PICKUP, S.PICKUP_FAILED, S.PICKUP_SCHEDULED, S.OUT_FOR_PICKUP, S.PICKED_UP], 2),
        ([S.PICKUP_FAILED], 1),  # a failure with no out_for_pickup before it is an attempt too
        ([S.PICKUP_FAILED, S.PICKUP_FAILED], 2),
        ([S.PICKUP_FAILED, S.OUT_FOR_PICKUP], 2),
        ([S.OUT_FOR_PICKUP, S.PICKED_UP, S.PICKUP_FAILED, S.OUT_FOR_PICKUP], 1),  # after pickup: ignored
        ([S.OUT_FOR_PICKUP, S.CANCELLED, S.OUT_FOR_PICKUP], 1),  # after a terminal status: ignored
    ],
)
def test_pickup_attempts(statuses: list[Status], attempts: int) -> None:
    assert fold([ev(s, i) for i, s in enumerate(statuses)]).pickup_attempts == attempts


@pytest.mark.parametrize(
    ("events", "picked_up_at"),
    [
        ([ev(S.OUT_FOR_PICKUP, 1), ev(S.PICKED_UP, 3), ev(S.IN_TRANSIT, 5)], at(3)),
        ([ev(S.OUT_FOR_PICKUP, 1), ev(S.IN_TRANSIT, 5), ev(S.PICKED_UP, 7)], at(5)),  # first post-pickup
        ([ev(S.DELIVERED, 8)], at(8)),
        ([ev(S.OUT_FOR_PICKUP, 1), ev(S.CANCELLED, 2), ev(S.ON_HOLD, 3)], None),
    ],
)
def test_picked_up_at(events: list[TrackingEvent], picked_up_at: datetime | None) -> None:
    assert fold(events).picked_up_at == picked_up_at


def test_duplicates_are_folded_once_whatever_their_wording() -> None:
    poll = ev(S.PICKUP_FAILED, 3, fp="same", description="Customer not available")
    hook = ev(S.PICKUP_FAILED, 3, fp="same", description="Cust N/A", location="Gurgaon")
    assert len(ordered([poll, hook, poll])) == 1
    assert ordered([poll, hook]) == ordered([hook, poll])
    assert fold([poll, hook]) == fold([hook, poll, hook])
    assert fold([poll, hook]).pickup_attempts == 1


def test_state_round_trips_through_json() -> None:
    state = fold([ev(S.PICKED_UP, 3, location="Gurgaon"), ev(S.ON_HOLD, 4, reason=Reason.CARRIER_DELAY)])
    assert ShipmentState.model_validate_json(state.model_dump_json()) == state


# --- properties: arrival order and duplication never change the outcome ---------------------------

NON_UNKNOWN = [s for s in Status if s is not S.UNKNOWN]


@st.composite
def timelines(draw: st.DrawFn, *, corrections: bool = True) -> list[TrackingEvent]:
    """A shipment's events; few distinct minutes so ties at one instant are common."""
    size = draw(st.integers(min_value=0, max_value=14))
    events = []
    for i in range(size):
        events.append(ev(
            draw(st.sampled_from(list(Status))), draw(st.integers(0, 8)),
            reason=draw(st.none() | st.sampled_from(list(Reason))),
            correction=corrections and draw(st.booleans()),
            location=draw(st.sampled_from(["", "Hub A", "Hub B"])),
            fp=f"e{i:02d}",
        ))
    return events


def reworded(events: list[TrackingEvent], picks: list[int]) -> list[TrackingEvent]:
    """Second copies of some events as another channel words them (same fingerprint)."""
    return [events[i].model_copy(update={"description": "reworded", "remarks": "via webhook"})
            for i in picks if i < len(events)]


@st.composite
def arrivals(draw: st.DrawFn, pool: list[TrackingEvent]) -> list[TrackingEvent]:
    """Every copy in the pool at least once, some more than once, in any order."""
    repeats = draw(st.lists(st.sampled_from(pool), max_size=6)) if pool else []
    return draw(st.permutations(pool + repeats))


@given(st.data(), timelines(), st.lists(st.integers(0, 13), max_size=5))
def test_any_order_and_duplication_give_the_same_result(data: st.DataObject, events: list[TrackingEvent],
                                                        picks: list[int]) -> None:
    pool = events + reworded(events, picks)
    first, second = data.draw(arrivals(pool)), data.draw(arrivals(pool))
    assert ordered(first) == ordered(second)
    assert fold(first) == fold(second)
    fingerprints = [e.fingerprint for e in ordered(first)]
    assert sorted(fingerprints) == sorted(e.fingerprint for e in events)


@given(st.data(), timelines(corrections=False))
def test_without_corrections_the_first_terminal_status_wins(data: st.DataObject,
                                                            events: list[TrackingEvent]) -> None:
    timeline = ordered(events)
    terminal = [e.status for e in timeline if e.status in TERMINAL]
    state = fold(data.draw(arrivals(events)))
    if terminal:
        assert state.status is terminal[0]


@given(timelines(corrections=False), st.integers(0, 8), st.integers(1, 60))
def test_a_late_in_transit_never_overwrites_delivered(events: list[TrackingEvent], minute: int,
                                                      late_by: int) -> None:
    before = [e for e in events if e.status not in TERMINAL]
    state = fold([*before, ev(S.DELIVERED, minute), ev(S.IN_TRANSIT, minute + late_by, fp="late")])
    assert state.status is S.DELIVERED
    assert state.delivered_at == at(minute)


@given(st.lists(st.sampled_from([S.OUT_FOR_PICKUP, S.PICKUP_FAILED, S.PICKUP_SCHEDULED]), max_size=12))
def test_attempts_are_failures_plus_an_open_attempt(statuses: list[Status]) -> None:
    relevant = [s for s in statuses if s is not S.PICKUP_SCHEDULED]
    failures = relevant.count(S.PICKUP_FAILED)
    last_failure = max((i for i, s in enumerate(relevant) if s is S.PICKUP_FAILED), default=-1)
    is_open = S.OUT_FOR_PICKUP in relevant[last_failure + 1:]
    events = [ev(s, i, fp=f"e{i}") for i, s in enumerate(statuses)]
    assert fold(events).pickup_attempts == failures + is_open
