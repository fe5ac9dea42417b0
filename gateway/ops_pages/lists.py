"""The console's lists as rows: the failed-pickup queue, stuck shipments, alerts; filters and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.models import Merchant
from gateway.ops.npr import NprCase

AGES = {"": "any age", "24": "older than 24 h", "48": "older than 48 h", "72": "older than 72 h"}


@dataclass(frozen=True)
class QueueRow:
    merchant_id: str
    merchant: str
    return_id: str
    order_id: str
    carrier: str
    awb: str
    attempts: int
    attempt_here: int
    reason: str
    raw_code: str
    raw_reason: str
    remarks: str
    failed_at: str
    opened_at: str
    age_h: int
    suspicious: str
    last_action: str


@dataclass(frozen=True)
class StuckRow:
    merchant_id: str
    merchant: str
    return_id: str
    order_id: str
    carrier: str
    awb: str
    status: str
    last_scan_at: str
    stale_h: int


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


async def merchant_names(request: web.Request, ids: Iterable[str]) -> dict[str, str]:
    store, names = request.app[keys.MERCHANTS], {}
    for mid in set(ids):
        found: Merchant | None = await store.get(mid)
        names[mid] = (found.display_name or found.name) if found else mid
    return names


def queue_row(case: NprCase, names: Mapping[str, str], now: datetime) -> QueueRow:
    last = case.last
    action = case.actions[-1] if case.actions else None
    return QueueRow(case.merchant_id, names.get(case.merchant_id, case.merchant_id), case.return_id, case.order_id,
                    case.carrier, case.awb, len(case.attempts), case.attempts_here,
                    last.reason.value if last.reason else "other", last.raw_code, last.raw_reason, last.remarks,
                    _when(last.at), _when(case.opened_at), int((now - case.opened_at).total_seconds() // 3600),
                    " ".join(sorted({f for a in case.attempts for f in a.suspicious})),
                    f"{action.action}: {action.outcome}" if action else "")


def filtered(rows: Sequence[QueueRow], query: Mapping[str, str]) -> list[QueueRow]:
    carrier, reason, merchant = query.get("carrier", ""), query.get("reason", ""), query.get("merchant", "")
    age = int(query["age"]) if query.get("age", "").isdigit() else 0
    return [r for r in rows if (not carrier or r.carrier == carrier) and (not reason or r.reason == reason)
            and (not merchant or r.merchant_id == merchant) and r.age_h >= age]


async def queue(request: web.Request) -> tuple[list[QueueRow], list[QueueRow]]:
    """All open cases as rows, and those the query's filters keep; oldest first."""
    cases = await request.app[keys.OPS].nprs.open_cases()
    names = await merchant_names(request, (c.merchant_id for c in cases))
    now = request.app[keys.CLOCK].now()
    rows = [queue_row(c, names, now) for c in cases if c.attempts]
    return rows, filtered(rows, request.query)


async def stuck(request: web.Request) -> list[StuckRow]:
    ops, store = request.app[keys.OPS], request.app[keys.RETURNS]
    flagged = await ops.stuck.flagged()
    names = await merchant_names(request, (mid for mid, _, _ in flagged))
    now = request.app[keys.CLOCK].now().timestamp()
    rows = []
    for mid, rid, since in flagged:
        ret = await store.get(mid, rid)
        if ret is None or ret.shipment is None:
            continue
        rows.append(StuckRow(mid, names[mid], rid, ret.order_id, ret.shipment.carrier, ret.shipment.awb,
                             ret.status.value, _when(datetime.fromtimestamp(since, tz=UTC)),
                             int((now - since) // 3600)))
    return rows


def csv_response(name: str, rows: Sequence[Any], header: Sequence[str] | None = None) -> web.Response:
    """Rows of dataclasses (or dicts with `header`) as a CSV download."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = list(header) if header is not None else ([f.name for f in fields(rows[0])] if rows else [])
    writer.writerow(columns)
    for row in rows:
        values = row if isinstance(row, dict) else asdict(row)
        writer.writerow([_safe(values.get(c, "")) for c in columns])
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _safe(value: object) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: carrier remarks must not become one.
    cell = "" if value is None else str(value)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
