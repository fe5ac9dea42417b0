"""Non-pickup reports (NPRs): one case per return, one attempt per `pickup_failed` event.

A case opens at a return's first failed pickup and lists every failed attempt (carrier, AWB,
attempt number at that AWB, unified and raw reason, agent remarks, time, suspicious flags) and
every remediation step taken. It is resolved when the parcel is picked up and closed when
the return is cancelled or given up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import WatchError

from gateway.models import Return
from gateway.ops.config import PickupWindow
from gateway.pages.estimates import CUSTOMER_RESCHEDULE
from gateway.store.keys import Keys
from gateway.store.server import text
from normalizers.machine import ordered
from normalizers.taxonomy import Reason, Status, TrackingEvent

CaseState = Literal["open", "resolved", "closed"]
Outcome = Literal["ok", "failed", "skipped"]
FLAGS = ("no_out_for_pickup", "outside_window", "unavailable_during_reschedule")
_LIST_MAX = 1000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NprAttempt(_Model):
    """One failed pickup attempt as the carrier reported it."""

    attempt: int
    carrier: str
    awb: str
    reason: Reason | None
    raw_code: str
    raw_reason: str = ""
    remarks: str = ""
    at: datetime
    fingerprint: str
    suspicious: list[str] = Field(default_factory=list)


class NprAction(_Model):
    """A remediation step: by Backhaul (`auto`) or by an ops user."""

    at: datetime
    action: str
    actor: str
    outcome: Outcome = "ok"
    detail: str = ""


class NprCase(_Model):
    return_id: str
    merchant_id: str
    order_id: str
    carrier: str
    awb: str
    opened_at: datetime
    updated_at: datetime
    state: CaseState = "open"
    attempts: list[NprAttempt] = Field(default_factory=list)
    actions: list[NprAction] = Field(default_factory=list)
    carriers_tried: list[str] = Field(default_factory=list)

    @property
    def last(self) -> NprAttempt:
        return self.attempts[-1]

    @property
    def attempts_here(self) -> int:
        """Failed attempts at the current booking."""
        return sum(1 for a in self.attempts if a.awb == self.awb)


def suspicious(event: TrackingEvent, history: Sequence[TrackingEvent], window: PickupWindow) -> list[str]:
    """Why a failure looks doubtful: no out-for-pickup scan, outside the pickup window, or
    'customer unavailable' while the customer's own reschedule request was still open."""
    before = [e for e in ordered(history) if e.occurred_at <= event.occurred_at and e.fingerprint != event.fingerprint]
    since = [e for e in before if e.awb == event.awb or e.raw_code.startswith("backhaul/")]
    last_failure = max((i for i, e in enumerate(since) if e.status is Status.PICKUP_FAILED), default=-1)
    since = since[last_failure + 1:]
    flags = []
    if not any(e.status is Status.OUT_FOR_PICKUP and e.awb == event.awb for e in since):
        flags.append("no_out_for_pickup")
    local = event.occurred_at + timedelta(minutes=event.local_offset_min)
    if not window.start <= local.time() <= window.end:
        flags.append("outside_window")
    asked = [_day(e.remarks) for e in since if e.raw_code == CUSTOMER_RESCHEDULE]
    if event.reason is Reason.CUSTOMER_UNAVAILABLE and any(d is not None and d > local.date() for d in asked):
        flags.append("unavailable_during_reschedule")
    return flags


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def attempt_of(case: NprCase | None, event: TrackingEvent, flags: list[str]) -> NprAttempt:
    here = sum(1 for a in case.attempts if a.awb == event.awb) if case else 0
    return NprAttempt(attempt=here + 1, carrier=event.carrier, awb=event.awb, reason=event.reason,
                      raw_code=event.raw_code, raw_reason=event.raw_description, remarks=event.remarks,
                      at=event.occurred_at, fingerprint=event.fingerprint, suspicious=flags)


class NprStore:
    """NPR cases in Redis, with the open ones in a sorted set by when they opened."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def get(self, mid: str, rid: str) -> NprCase | None:
        raw = await self.redis.get(self.keys.npr(mid, rid))
        return NprCase.model_validate_json(raw) if raw else None

    async def record(self, ret: Return, event: TrackingEvent, flags: list[str], now: datetime) -> NprCase | None:
        """Add one failed attempt (or update it, by fingerprint); None when it was known and unchanged."""
        def change(case: NprCase | None) -> NprCase | None:
            known = {a.fingerprint: i for i, a in enumerate(case.attempts)} if case else {}
            if case is None:
                assert ret.shipment is not None
                case = NprCase(return_id=ret.id, merchant_id=ret.merchant_id, order_id=ret.order_id,
                               carrier=ret.shipment.carrier, awb=ret.shipment.awb, opened_at=event.occurred_at,
                               updated_at=now, carriers_tried=[ret.shipment.carrier])
            attempts = list(case.attempts)
            if event.fingerprint in known:
                index = known[event.fingerprint]
                updated = attempt_of(None, event, flags).model_copy(update={"attempt": attempts[index].attempt})
                if updated == attempts[index]:
                    return None
                attempts[index] = updated
            else:
                attempts.append(attempt_of(case, event, flags))
            return case.model_copy(update={"attempts": attempts, "updated_at": now, "state": "open"})

        return await self.change(ret.merchant_id, ret.id, change)

    async def change(self, mid: str, rid: str, fn: Callable[[NprCase | None], NprCase | None]) -> NprCase | None:
        """Read-modify-write one case under WATCH; `fn` answers None to leave it as it is.

        Most calls change nothing (every pickup asks to resolve a case most returns never had),
        so a plain read decides first; only a change pays for the transaction.
        """
        key = self.keys.npr(mid, rid)
        raw = await self.redis.get(key)
        if fn(NprCase.model_validate_json(raw) if raw else None) is None:
            return None
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    after = fn(NprCase.model_validate_json(raw) if raw else None)
                    if after is None:
                        return None
                    pipe.multi()
                    pipe.set(key, after.model_dump_json())
                    member = f"{mid} {rid}"
                    if after.state == "open":
                        pipe.zadd(self.keys.npr_open(), {member: after.opened_at.timestamp()})
                    else:
                        pipe.zrem(self.keys.npr_open(), member)
                    await pipe.execute()
                    return after
                except WatchError:
                    continue  # another worker wrote the case between our read and write: read again

    async def add_action(self, mid: str, rid: str, action: NprAction, state: CaseState | None = None,
                         **fields: Any) -> NprCase | None:
        def change(case: NprCase | None) -> NprCase | None:
            if case is None:
                return None
            update = {"actions": [*case.actions, action], "updated_at": action.at, **fields}
            return case.model_copy(update=update | ({"state": state} if state else {}))

        return await self.change(mid, rid, change)

    async def open_cases(self, limit: int = _LIST_MAX) -> list[NprCase]:
        """Open cases, oldest first."""
        members = [text(m) for m in cast(list[Any], await self.redis.zrange(self.keys.npr_open(), 0, limit - 1))]
        refs = [m.split(" ", 1) for m in members]
        docs = await self.redis.mget([self.keys.npr(mid, rid) for mid, rid in refs]) if refs else []
        return [NprCase.model_validate_json(d) for d in docs if d]
