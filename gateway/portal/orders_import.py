"""`backhaul orders import FILE.csv --merchant ID`: orders from a CSV file, one row per order line.

Rows of one order share its `order_id` (they need not be adjacent); the order's own columns
are read from its first good row. A bad row is reported with its line number and skipped;
an order whose every row is bad is reported once. Good rows are saved in batches.

Columns: order_id, customer_name, customer_email, customer_phone, delivered_at, order_date,
customer_tier, line1, line2, city, state, postcode, country, sku, name, image_url, quantity,
price, category, weight_g, variants (`|`-separated skus).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from gateway.portal.orders import OrderIn, OrderItem, OrderStore
from gateway.problems import field_errors

BATCH = 500
ORDER_COLUMNS = ("customer_name", "customer_email", "customer_phone", "delivered_at", "order_date", "customer_tier")
ADDRESS_COLUMNS = ("line1", "line2", "city", "state", "postcode", "country")
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    rows: int = 0
    orders_saved: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)


def _item(row: dict[str, str]) -> OrderItem:
    fields: dict[str, Any] = {k: row.get(k, "") for k in ("sku", "name", "image_url", "quantity", "price")}
    fields["category"] = row.get("category") or "general"
    if row.get("weight_g"):
        fields["weight_g"] = row["weight_g"]
    fields["variants"] = [v for v in (row.get("variants") or "").split("|") if v]
    return OrderItem.model_validate(fields)


def _order(first: dict[str, str], items: list[OrderItem]) -> OrderIn:
    fields: dict[str, Any] = {k: first[k] for k in ORDER_COLUMNS if first.get(k)}
    if first.get("line1"):
        fields["address"] = {k: first[k] for k in ADDRESS_COLUMNS if first.get(k)}
    return OrderIn.model_validate({"order_id": first.get("order_id", ""), **fields, "items": items})


def _messages(exc: ValidationError) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))


def group_rows(handle: TextIO, report: ImportReport) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """Rows by order id (line numbers kept); rows without an order id are reported."""
    orders: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row in enumerate(csv.DictReader(handle), start=2):
        report.rows += 1
        oid = (row.get("order_id") or "").strip()
        if not oid:
            report.errors.append((line, "order_id: required"))
            continue
        orders.setdefault(oid, []).append((line, {k: (v or "").strip() for k, v in row.items() if k}))
    return orders


def build_orders(orders: dict[str, list[tuple[int, dict[str, str]]]], report: ImportReport) -> Iterator[OrderIn]:
    """Each order from its good rows; bad rows and bad orders go to the report."""
    for rows in orders.values():
        items, first = [], None
        for line, row in rows:
            try:
                items.append(_item(row))
                first = first or (line, row)
            except ValidationError as exc:
                report.errors.append((line, _messages(exc)))
        if first is None:
            continue
        try:
            yield _order(first[1], items)
        except ValidationError as exc:
            report.errors.append((first[0], _messages(exc)))


async def import_orders(store: OrderStore, mid: str, path: Path, now: datetime,
                        progress: Progress | None = None) -> ImportReport:
    """Import every good order of `path`; `progress(done, total)` is called after each batch."""
    report = ImportReport()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        grouped = group_rows(handle, report)
    total, done, batch = len(grouped), 0, []
    for body in build_orders(grouped, report):
        batch.append(body)
        if len(batch) >= BATCH:
            done += await _save(store, mid, batch, now, report)
            if progress:
                progress(done, total)
    done += await _save(store, mid, batch, now, report)
    if progress:
        progress(total, total)
    report.errors.sort()
    return report


async def _save(store: OrderStore, mid: str, batch: list[OrderIn], now: datetime, report: ImportReport) -> int:
    saved = await store.save_many(mid, batch, now, source="import")
    for one in saved:
        report.outcomes[one.outcome] = report.outcomes.get(one.outcome, 0) + 1
    report.orders_saved += len(saved)
    batch.clear()
    return len(saved)


def progress_bar(out: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A one-line progress bar redrawn in place."""
    def draw(done: int, total: int) -> None:
        filled = width * done // total if total else width
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} orders")
        out.flush()
        if done >= total:
            out.write("\n")
    return draw
