"""Status maps: loading, validation errors with file and line, and the shipped maps."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from carriers.base import CarrierEvent
from carriers.errors import MappingError
from normalizers.maps import MAPS_DIR, StatusMap, load_map, load_maps
from normalizers.taxonomy import Reason, Status

IST = timezone(timedelta(hours=5, minutes=30))

GOOD = """\
carrier: acme
source: "made up for the tests"
codes:
  - match: {type: PP, code: Open}
    status: created
    text: "Return request created"
  - match: {type: PP, code: Scheduled}
    status: pickup_scheduled
    text: "Pickup scheduled"
  - match: {type: PP, code: Scheduled, detail: EOD-11}
    status: pickup_failed
    reason: customer_unavailable
    text: "Customer not available"
  - match: {detail: EOD-11}
    status: exception
    text: "detail alone"
  - match: {code: Dispatched}
    status: out_for_pickup
    text: "Out for pickup"
  - match: {type: DL, code: RTO}
    status: returned_to_sender
    text: "Returned"
    correction: true
"""


def write(tmp_path: Path, text: str, name: str = "acme") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def event(code: str, code_type: str = "", detail: str = "") -> CarrierEvent:
    return CarrierEvent(carrier="acme", awb="A1", code=code, code_type=code_type, detail_code=detail,
                        occurred_at=datetime(2024, 5, 1, 10, 0, tzinfo=IST))


def test_valid_map_loads(tmp_path: Path) -> None:
    status_map = load_map(write(tmp_path, GOOD))
    assert status_map.carrier == "acme"
    assert status_map.source == "made up for the tests"
    assert len(status_map.entries) == 6
    rto = status_map.entries[-1]
    assert (rto.status, rto.correction) == (Status.RETURNED_TO_SENDER, True)
    assert status_map.entries[2].reason is Reason.CUSTOMER_UNAVAILABLE


@pytest.mark.parametrize(
    ("code_type", "code", "detail", "expected"),
    [
        ("PP", "Open", "", Status.CREATED),
        ("PP", "Scheduled", "", Status.PICKUP_SCHEDULED),
        ("PP", "Scheduled", "EOD-11", Status.PICKUP_FAILED),  # detail beats code and type
        ("PP", "Scheduled", "EOD-99", Status.PICKUP_SCHEDULED),  # unknown detail falls back
        ("XX", "Open", "EOD-11", Status.EXCEPTION),  # only the detail-alone entry matches
        ("PP", "Open", "EOD-11", Status.EXCEPTION),  # detail (4) beats type + code (3)
        ("UD", "Dispatched", "", Status.OUT_FOR_PICKUP),  # code-only matches any type
        ("", "Dispatched", "", Status.OUT_FOR_PICKUP),
        ("DL", "RTO", "", Status.RETURNED_TO_SENDER),
    ],
)
def test_lookup_most_specific_wins(tmp_path: Path, code_type: str, code: str, detail: str,
                                   expected: Status) -> None:
    status_map = load_map(write(tmp_path, GOOD))
    entry = status_map.lookup(event(code, code_type, detail))
    assert entry is not None
    assert entry.status is expected


@pytest.mark.parametrize(("code_type", "code"), [("PP", "open"), ("XX", "Scheduled"), ("", "Open")])
def test_lookup_unmapped_is_none(tmp_path: Path, code_type: str, code: str) -> None:
    assert load_map(write(tmp_path, GOOD)).lookup(event(code, code_type)) is None


def test_lookup_strips_whitespace(tmp_path: Path) -> None:
    text = GOOD.replace("{type: PP, code: Open}", "{type: ' PP ', code: 'Open  '}")
    entry = load_map(write(tmp_path, text)).lookup(event(" Open ", "PP "))
    assert entry is not None
    assert entry.status is Status.CREATED


BAD_CASES = [
    pytest.param(GOOD.replace("status: pickup_scheduled", "status: scheduled"), 8,
                 "unknown status 'scheduled'", id="unknown-status"),
    pytest.param(GOOD.replace("reason: customer_unavailable", "reason: away"), 12,
                 "unknown reason 'away'", id="unknown-reason"),
    pytest.param(GOOD.replace("{code: Dispatched}", "{type: PP, code: Open}"), 17,
                 "duplicate match {'type': 'PP', 'code': 'Open'} (first at line 4)", id="duplicate-match"),
    pytest.param(GOOD.replace("{code: Dispatched}", "{}"), 17,
                 "match needs at least one of type, code, detail", id="empty-match"),
    pytest.param(GOOD.replace("{code: Dispatched}", "{code: '  '}"), 17,
                 "match needs at least one of type, code, detail", id="blank-match"),
    pytest.param(GOOD.replace("{code: Dispatched}", "{code: Dispatched, scan: X}"), 17,
                 "unknown key 'scan'", id="unknown-match-key"),
    pytest.param(GOOD.replace('text: "Out for pickup"', 'txt: "Out for pickup"'), 19,
                 "unknown key 'txt'", id="unknown-entry-key"),
    pytest.param(GOOD.replace("source:", "origin:"), 2, "unknown key 'origin'", id="unknown-top-key"),
    pytest.param(GOOD.replace("    status: out_for_pickup\n", ""), 17, "missing key 'status'",
                 id="missing-status"),
    pytest.param(GOOD.replace("carrier: acme", "carrier: other"), 1,
                 "carrier 'other' does not match the file name 'acme.yaml'", id="carrier-not-filename"),
    pytest.param(GOOD.replace("{code: Dispatched}", "{code: 101}"), 17, "quote codes", id="numeric-code"),
    pytest.param(GOOD.replace("    text: \"Out for pickup\"\n", "    text: a\n    text: b\n"), 20,
                 "duplicate key 'text' (first at line 19)", id="duplicate-yaml-key"),
    pytest.param(GOOD + "  - match: {code: [\n", 25, "not valid YAML", id="broken-yaml"),
    pytest.param("", 1, "the file is empty", id="empty-file"),
    pytest.param("- just\n- a list\n", 1, "Input should be a valid dictionary", id="not-a-mapping"),
    pytest.param("carrier: acme\nsource: x\ncodes: []\n", 3, "codes: Tuple should have at least 1 item",
                 id="no-codes"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD_CASES)
def test_bad_map_names_file_line_and_reason(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_map(path)
    message = str(caught.value)
    assert f"{path}:{line}: " in message
    assert reason in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("status: created", "status: made").replace("status: exception", "status: oops")
    with pytest.raises(MappingError) as caught:
        load_map(write(tmp_path, text))
    assert "acme.yaml:5: unknown status 'made'" in str(caught.value)
    assert "acme.yaml:15: unknown status 'oops'" in str(caught.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"nope\.yaml: cannot read status map"):
        load_map(tmp_path / "nope.yaml")


def test_load_maps_keys_by_carrier(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace("carrier: acme", "carrier: zeta"), name="zeta")
    (tmp_path / "notes.txt").write_text("not a map")
    maps = load_maps(tmp_path, required=["acme"])
    assert sorted(maps) == ["acme", "zeta"]
    assert all(isinstance(m, StatusMap) for m in maps.values())


def test_load_maps_missing_required_carrier(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    with pytest.raises(MappingError) as caught:
        load_maps(tmp_path, required=["acme", "bluedart"])
    assert str(tmp_path / "bluedart.yaml") in str(caught.value)
    assert "no status map for required carrier(s) bluedart" in str(caught.value)


def test_load_maps_stops_on_a_bad_map(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("carrier: acme", "carrier: zeta"))
    with pytest.raises(MappingError, match="does not match the file name"):
        load_maps(tmp_path)


SHIPPED = sorted(MAPS_DIR.glob("*.yaml"))


def test_shipped_maps_load_and_match_their_file_names() -> None:
    maps = load_maps()
    assert sorted(maps) == [p.stem for p in SHIPPED]
    for slug, status_map in maps.items():
        assert status_map.carrier == slug
        assert status_map.path is not None
        assert status_map.path.name == f"{slug}.yaml"
        assert status_map.entries, f"{slug}.yaml has no codes"
        assert all(isinstance(e.status, Status) for e in status_map.entries)
