"""Remediation plans, suspicious NPRs, config validation, charts, passwords and CSV cells: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

import pytest
from pydantic import ValidationError

from carriers.base import Address, Contact, Item, Parcel
from carriers.clock import ManualClock
from gateway.models import Return, ReturnCreate, Shipment
from gateway.ops.config import AlertsConfig, PickupWindow, Policy, RemediationConfig, Sink, Stuck
from gateway.ops.health import CallStats
from gateway.ops.npr import NprAttempt, NprCase, suspicious
from gateway.ops.remediation import plan
from gateway.ops.stuck import StuckWatch, last_scan_s, percentile
from gateway.ops.users import check_password, hash_password
from gateway.ops_pages.charts import bar_chart
from gateway.ops_pages.lists import _safe
from gateway.pages.estimates import CUSTOMER_RESCHEDULE
from gateway.store.keys import Keys
from normalizers.machine import ShipmentState
from normalizers.taxonomy import Reason, Status, TrackingEvent

T0 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)  # 11:30 in India


def event(status: Status, hours: float = 0, reason: Reason | None = None, awb: str = "A1", code: str = "X",
          remarks: str = "", offset: int = 330) -> TrackingEvent:
    return TrackingEvent(carrier="dl", awb=awb, status=status, reason=reason, raw_code=code, remarks=remarks,
                         occurred_at=T0 + timedelta(hours=hours), local_offset_min=offset,
                         fingerprint=f"{status}-{hours}-{awb}-{code}")


def case(attempts: int, reason: Reason = Reason.CUSTOMER_UNAVAILABLE, tried: tuple[str, ...] = ("dl",)) -> NprCase:
    rows = [NprAttempt(attempt=i + 1, carrier="dl", awb="A1", reason=reason, raw_code="EOD-11", at=T0,
                       fingerprint=f"f{i}") for i in range(attempts)]
    return NprCase(return_id="r", merchant_id="m", order_id="o", carrier="dl", awb="A1", opened_at=T0, updated_at=T0,
                   attempts=rows, carriers_tried=list(tried))


def test_first_failures_reattempt_and_contact_then_reallocate_then_close() -> None:
    policy = Policy(max_attempts=2, max_carriers=2)
    assert plan(case(1), policy, ["dl", "xb"]) == ["reattempt", "contact"]
    assert plan(case(2), policy, ["dl", "xb"]) == ["reallocate"]
    assert plan(case(2, tried=("dl", "xb")), policy, ["dl", "xb"]) == ["close"]
    assert plan(case(2), policy, ["dl"]) == ["close"]
    assert plan(case(2), Policy(on_exhausted="close"), ["dl", "xb"]) == ["close"]
    assert plan(case(1, Reason.CUSTOMER_REFUSED), policy, ["dl", "xb"]) == ["close"]
    assert plan(case(1), Policy(contact_customer=False), ["dl"]) == ["reattempt"]


def test_merchant_policy_replaces_the_default() -> None:
    config = RemediationConfig(merchants={"m1": Policy(max_attempts=4)})
    assert config.policy("m1").max_attempts == 4 and config.policy("m2").max_attempts == 2


def test_a_failure_after_out_for_pickup_in_the_window_is_not_suspicious() -> None:
    history = [event(Status.OUT_FOR_PICKUP, -2), event(Status.PICKUP_FAILED, 0, Reason.CUSTOMER_UNAVAILABLE)]
    assert suspicious(history[1], history, PickupWindow()) == []


def test_suspicious_flags() -> None:
    window = PickupWindow(start=time(9), end=time(18))
    late = event(Status.PICKUP_FAILED, 10, Reason.CUSTOMER_UNAVAILABLE)  # 21:30 local, no out-for-pickup
    asked = event(Status.PICKUP_SCHEDULED, 1, code=CUSTOMER_RESCHEDULE, remarks="2026-11-06")
    earlier = [event(Status.OUT_FOR_PICKUP, -30), event(Status.PICKUP_FAILED, -28, code="EOD-11")]
    flags = suspicious(late, [*earlier, asked, late], window)
    assert flags == ["no_out_for_pickup", "outside_window", "unavailable_during_reschedule"]


def test_an_out_for_pickup_before_the_previous_failure_does_not_count() -> None:
    history = [event(Status.OUT_FOR_PICKUP, -5), event(Status.PICKUP_FAILED, -4, code="a"),
               event(Status.PICKUP_FAILED, 0, code="b")]
    assert "no_out_for_pickup" in suspicious(history[2], history, PickupWindow())


def test_config_errors_name_the_problem() -> None:
    with pytest.raises(ValidationError, match="unknown rule"):
        AlertsConfig.model_validate({"rules": {"no_such_rule": {}}})
    with pytest.raises(ValidationError, match="needs `to`"):
        Sink(kind="email")
    with pytest.raises(ValidationError, match="http"):
        Sink(kind="slack", url="hooks.slack.com")
    assert AlertsConfig.model_validate({"rules": {"failed_pickup": {"enabled": False}}}).rule("stuck_shipment").enabled


def test_percentile_and_call_stats() -> None:
    assert percentile([], 0.95) is None
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95
    now = CallStats(30, 9, ((0.5, 20), (1.0, 28), (float("inf"), 30)))
    window = now.minus(CallStats(10, 1, ((0.5, 10), (1.0, 10), (float("inf"), 10))))
    assert (window.calls, window.errors) == (20, 8) and window.error_rate == 0.4
    assert window.quantile_s(0.5) == 0.5 and window.quantile_s(0.75) == 1.0 and CallStats().quantile_s(0.5) is None


def test_passwords_are_salted_scrypt() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and stored != hash_password("correct horse")
    assert check_password("correct horse", stored) and not check_password("wrong", stored)
    assert not check_password("x", "md5$abc") and not check_password("x", "garbage")


def test_bar_chart_geometry() -> None:
    chart = bar_chart("Success", [("dl", [0.5], ["50%"]), ("xb", [1.0], ["100%"])], scale=1.0)
    assert [r.bars[0].width for r in chart.rows] == [150, 300] and chart.height > 0
    grouped = bar_chart("Turnaround", [("dl", [10, 20], ["p50", "p95"])], legend=("p50", "p95"))
    assert [b.width for b in grouped.rows[0].bars] == [150, 300]
    assert bar_chart("None", []).rows == ()


def test_csv_cells_never_become_formulas() -> None:
    assert _safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _safe("Consignee Unavailable") == "Consignee Unavailable"



def _booked(fulfilment: Literal["pickup", "drop_off"], at: datetime) -> Return:
    address = Address(line1="1 Main St", city="Bengaluru", postcode="560001")
    contact = Contact(name="Asha", phone="9800000000")
    body = ReturnCreate(order_id="O-1", customer=contact, pickup_address=address, parcel=Parcel(weight_g=500),
                        items=[Item(sku="S", name="Shoes", price=Decimal(1))], fulfilment=fulfilment)
    return Return(id="ret_1", merchant_id="mer_1", order_id="O-1", created_at=at, updated_at=at, request=body,
                  drop_address=address, drop_contact=contact, state=ShipmentState.initial(), tracking_token="t" * 32,
                  shipment=Shipment(carrier="ups", awb="1Z1", booked_at=at + timedelta(hours=1)))


async def test_a_drop_off_nobody_has_scanned_waits_a_week_not_the_pickup_sla() -> None:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    watch = StuckWatch(redis=None, keys=Keys("t:"), clock=ManualClock(at),  # type: ignore[arg-type]
                       config=Stuck(sla_h={Status.CREATED: 24}))
    pickup, drop_off = _booked("pickup", at), _booked("drop_off", at)
    assert await watch.sla_for(pickup) == 24 * 3600
    assert await watch.sla_for(drop_off) == 168 * 3600
    # Never scanned: watched from the booking, an hour after the return was made.
    assert last_scan_s(drop_off) == (at + timedelta(hours=1)).timestamp()
