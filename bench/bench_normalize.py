"""How many carrier events one core normalizes per second, and how fast a map lookup is.

Events are generated in-process (no parsing, no I/O) so the figure is normalize() alone.
Run: .venv/bin/python bench/bench_normalize.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from carriers.base import CarrierEvent
from normalizers.engine import normalize
from normalizers.maps import StatusMap, load_map

EVENTS = 200_000
IST = timezone(timedelta(hours=5, minutes=30))

# A small map in the shape of a real one: pairs, a few detail codes, code-only entries.
_MAP = """\
carrier: bench
source: "generated for the benchmark"
codes:
  - {match: {type: PP, code: Open}, status: created, text: "Return request created"}
  - {match: {type: PP, code: Scheduled}, status: pickup_scheduled, text: "Pickup scheduled"}
  - {match: {type: PP, code: Dispatched}, status: out_for_pickup, text: "Out for pickup"}
  - {match: {type: PP, code: Scheduled, detail: EOD-11}, status: pickup_failed,
     reason: customer_unavailable, text: "Customer not available"}
  - {match: {type: PP, code: Scheduled, detail: EOD-6}, status: pickup_failed,
     reason: customer_refused, text: "Customer refused"}
  - {match: {type: PU, code: In Transit}, status: in_transit, text: "On its way"}
  - {match: {type: PU, code: Pending}, status: in_transit, text: "At a hub"}
  - {match: {type: PU, code: Dispatched}, status: out_for_delivery, text: "Out for delivery"}
  - {match: {type: DL, code: RTO}, status: delivered, text: "Delivered to the merchant"}
  - {match: {code: Canceled}, status: cancelled, text: "Cancelled"}
"""

# (type, code, detail); the last one is unmapped on purpose, as real traffic has some.
_SCANS = [
    ("PP", "Open", ""), ("PP", "Scheduled", ""), ("PP", "Dispatched", ""),
    ("PP", "Scheduled", "EOD-11"), ("PP", "Scheduled", "EOD-6"), ("PU", "In Transit", "X-PIOM"),
    ("PU", "Pending", ""), ("PU", "Dispatched", ""), ("DL", "RTO", ""), ("UD", "Canceled", ""),
    ("PP", "Mystery", "ZZ-1"),
]
_LOCATIONS = ["Gurgaon_Sec37_PC (Haryana)", "DELHI  RTO HUB", "Bengaluru Hub", "MUMBAI_CHAKALA_PC"]


def build_map() -> StatusMap:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(_MAP, encoding="utf-8")
        return load_map(path)


def build_events(count: int) -> list[CarrierEvent]:
    start = datetime(2024, 5, 1, 9, 0, tzinfo=IST)
    events = []
    for i in range(count):
        kind, code, detail = _SCANS[i % len(_SCANS)]
        events.append(CarrierEvent(
            carrier="bench", awb=f"1234{i // 8:08d}", code=code, code_type=kind, detail_code=detail,
            description=f"{code} scan", occurred_at=start + timedelta(seconds=i),
            location=_LOCATIONS[i % len(_LOCATIONS)], remarks="",
        ))
    return events


def _rate(count: int, elapsed_s: float) -> float:
    return count / elapsed_s if elapsed_s > 0 else float("inf")


def run(count: int = EVENTS) -> dict[str, float]:
    """Events normalized per second and map lookups per second, on one core."""
    status_map, events = build_map(), build_events(count)
    lookup = status_map.lookup
    started = time.perf_counter()
    for event in events:
        lookup(event)
    lookup_s = time.perf_counter() - started
    started = time.perf_counter()
    for event in events:
        normalize(event, status_map)
    normalize_s = time.perf_counter() - started
    return {"normalize_events_per_s": _rate(count, normalize_s), "lookup_per_s": _rate(count, lookup_s)}


def main() -> None:
    result = run()
    print(f"normalize: {result['normalize_events_per_s']:,.0f} events/s "
          f"(map lookup: {result['lookup_per_s']:,.0f}/s)")


if __name__ == "__main__":
    main()
