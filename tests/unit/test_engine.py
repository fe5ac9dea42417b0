"""normalize(): a carrier event plus its map gives one unified TrackingEvent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from carriers.base import CarrierEvent
from normalizers.engine import clean_location, is_unmapped, normalize
from normalizers.maps import StatusMap, load_map
from normalizers.taxonomy import Reason, Status

IST = timezone(timedelta(hours=5, minutes=30))
NEWFOUNDLAND = timezone(timedelta(hours=-3, minutes=-30))

MAP = """\
carrier: acme
source: "made up for the tests"
codes:
  - match: {type: PP, code: Scheduled}
    status: pickup_scheduled
    text: "Pickup scheduled"
  - match: {type: PP, code: Scheduled, detail: EOD-11}
    status: pickup_failed
    reason: customer_unavailable
    text: "We could not reach you"
  - match: {code: Dispatched}
    status: in_transit
  - match: {type: DL, code: RTO}
    status: returned_to_sender
    text: "Sent back"
    correction: true
"""


@pytest.fixture
def acme(tmp_path: Path) -> StatusMap:
    path = tmp_path / "acme.yaml"
    path.write_text(MAP, encoding="utf-8")
    return load_map(path)


def scan(**overrides: Any) -> CarrierEvent:
    fields: dict[str, Any] = {
        "carrier": "acme", "awb": "AWB1", "code_type": "PP", "code": "Scheduled",
        "description": "Pickup scheduled for tomorrow", "location": "Gurgaon Hub",
        "occurred_at": datetime(2024, 5, 1, 10, 15, 30, tzinfo=IST),
    }
    fields.update(overrides)
    return CarrierEvent(**fields)


def test_mapped_event_takes_status_reason_and_text(acme: StatusMap) -> None:
    te = normalize(scan(detail_code="EOD-11", description="Cust not avlbl", remarks="called twice"), acme)
    assert (te.status, te.reason) == (Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE)
    assert te.description == "We could not reach you"
    assert te.raw_code == "PP/Scheduled/EOD-11"
    assert te.raw_description == "Cust not avlbl"
    assert te.remarks == "called twice"
    assert (te.carrier, te.awb, te.is_correction) == ("acme", "AWB1", False)
    assert not is_unmapped(te)


def test_most_specific_entry_wins(acme: StatusMap) -> None:
    assert normalize(scan(detail_code="EOD-11"), acme).status is Status.PICKUP_FAILED
    assert normalize(scan(detail_code="EOD-77"), acme).status is Status.PICKUP_SCHEDULED
    assert normalize(scan(code_type="UD", code="Dispatched"), acme).status is Status.IN_TRANSIT


def test_entry_without_text_keeps_the_carriers_words(acme: StatusMap) -> None:
    te = normalize(scan(code_type="UD", code="Dispatched", description="Bag dispatched"), acme)
    assert te.description == "Bag dispatched"


def test_correction_flag_is_carried(acme: StatusMap) -> None:
    assert normalize(scan(code_type="DL", code="RTO"), acme).is_correction


def test_unmapped_becomes_unknown_and_keeps_the_carriers_words(acme: StatusMap) -> None:
    te = normalize(scan(code="Mystery", description="Shipment teleported", remarks="?"), acme)
    assert te.status is Status.UNKNOWN
    assert te.reason is None
    assert te.description == te.raw_description == "Shipment teleported"
    assert te.raw_code == "PP/Mystery"
    assert te.remarks == "?"
    assert is_unmapped(te)


@pytest.mark.parametrize(
    ("local", "utc", "offset_min"),
    [
        (datetime(2024, 5, 1, 10, 15, tzinfo=IST), datetime(2024, 5, 1, 4, 45, tzinfo=UTC), 330),
        (datetime(2024, 5, 1, 2, 0, tzinfo=IST), datetime(2024, 4, 30, 20, 30, tzinfo=UTC), 330),
        (datetime(2024, 5, 1, 22, 0, tzinfo=NEWFOUNDLAND), datetime(2024, 5, 2, 1, 30, tzinfo=UTC), -210),
        (datetime(2024, 5, 1, 9, 0, tzinfo=UTC), datetime(2024, 5, 1, 9, 0, tzinfo=UTC), 0),
    ],
)
def test_time_is_utc_and_the_offset_is_kept(acme: StatusMap, local: datetime, utc: datetime,
                                            offset_min: int) -> None:
    te = normalize(scan(occurred_at=local), acme)
    assert te.occurred_at == utc
    assert te.occurred_at.utcoffset() == timedelta(0)
    assert te.local_offset_min == offset_min
    assert te.occurred_at + timedelta(minutes=te.local_offset_min) == local.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Gurgaon Hub", "Gurgaon Hub"),
        ("  Gurgaon    Hub\t(Haryana) ", "Gurgaon Hub (Haryana)"),
        ("GURGAON_SEC37_PC", "Gurgaon_Sec37_Pc"),
        ("DELHI HUB, ", "Delhi Hub"),
        ("McLeod Ganj", "McLeod Ganj"),
        ("ST. JOHN'S", "St. John's"),
        ("", ""),
        ("12345", "12345"),
    ],
)
def test_clean_location(raw: str, cleaned: str) -> None:
    assert clean_location(raw) == cleaned


def test_location_is_cleaned_on_the_event(acme: StatusMap) -> None:
    assert normalize(scan(location="  DELHI   RTO  "), acme).location == "Delhi Rto"


def test_fingerprint_is_the_same_for_poll_and_webhook(acme: StatusMap) -> None:
    polled = scan(description="Pickup scheduled", remarks="", location="Gurgaon Hub",
                  occurred_at=datetime(2024, 5, 1, 10, 15, 30, tzinfo=IST))
    pushed = scan(description="PICKUP SCHEDULED (webhook)", remarks="slot 10-14", location=" GURGAON  HUB ",
                  occurred_at=datetime(2024, 5, 1, 4, 45, 30, 250_000, tzinfo=UTC))
    a, b = normalize(polled, acme), normalize(pushed, acme)
    assert a.fingerprint == b.fingerprint
    assert len(a.fingerprint) == 20
    assert normalize(polled, acme).fingerprint == a.fingerprint  # stable across calls


@pytest.mark.parametrize(
    "change",
    [
        {"awb": "AWB2"},
        {"carrier": "other"},
        {"detail_code": "EOD-11"},
        {"code_type": "UD"},
        {"occurred_at": datetime(2024, 5, 1, 10, 15, 31, tzinfo=IST)},
        {"location": "Delhi Hub"},
    ],
)
def test_fingerprint_tells_different_scans_apart(acme: StatusMap, change: dict[str, Any]) -> None:
    assert normalize(scan(**change), acme).fingerprint != normalize(scan(), acme).fingerprint


def test_fingerprint_does_not_depend_on_the_map(acme: StatusMap, tmp_path: Path) -> None:
    # History is re-normalized after a map fix; the same scan must keep its identity.
    fixed = tmp_path / "fixed" / "acme.yaml"
    fixed.parent.mkdir()
    fixed.write_text(MAP.replace("status: pickup_scheduled", "status: created"), encoding="utf-8")
    before, after = normalize(scan(), acme), normalize(scan(), load_map(fixed))
    assert before.status != after.status
    assert before.fingerprint == after.fingerprint
