"""Alerts: raised by rules, deduplicated by key, acknowledged and resolved by ops or by Backhaul.

An alert's key is `<rule>:<subject>` (a return id, a carrier, a code). While an alert with that
key is open, firing again only counts; a new alert for a key notifies the sinks unless the
key notified within `cooldown_s` (a flapping condition does not page twice an hour). Sink
deliveries go through an outbox list the ops worker drains, so raising an alert never waits
on the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, cast

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict
from redis.exceptions import WatchError

from carriers.clock import Clock
from gateway.metrics import Metrics
from gateway.models import new_id
from gateway.ops.config import SEVERITY_RANK, AlertsConfig, Severity
from gateway.store.keys import Keys
from gateway.store.server import text

AlertState = Literal["firing", "acknowledged", "resolved"]


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    rule: str
    key: str
    severity: Severity
    title: str
    detail: str = ""
    state: AlertState = "firing"
    count: int = 1
    first_at: datetime
    last_at: datetime
    merchant_id: str | None = None
    return_id: str | None = None
    carrier: str | None = None
    acked_by: str = ""
    resolved_by: str = ""
    resolved_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"key", "merchant_id"})


class AlertCenter:
    """Raise, deduplicate, acknowledge, resolve and list alerts."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, clock: Clock, config: AlertsConfig,
                 metrics: Metrics) -> None:
        self.redis, self.keys, self.clock, self.config, self.metrics = redis, keys, clock, config, metrics

    async def fire(self, rule: str, subject: str, title: str, detail: str = "", *, merchant_id: str | None = None,
                   return_id: str | None = None, carrier: str | None = None) -> Alert | None:
        """Raise (or count again) the alert `<rule>:<subject>`; None when the rule is off."""
        settings = self.config.rule(rule)
        if not settings.enabled:
            return None
        key, now = f"{rule}:{subject}", self.clock.now()
        alert = Alert(id=new_id("alr"), rule=rule, key=key, severity=settings.severity, title=title[:200],
                      detail=detail[:2000], first_at=now, last_at=now, merchant_id=merchant_id,
                      return_id=return_id, carrier=carrier)
        if not await self.redis.hsetnx(self.keys.alerts_open(), key, alert.id):
            open_id = text(await self.redis.hget(self.keys.alerts_open(), key))
            bumped = await self._change(open_id, lambda a: a.model_copy(update={
                "count": a.count + 1, "last_at": now, "detail": detail[:2000] or a.detail}))
            if bumped is not None:
                return bumped
            await self.redis.hset(self.keys.alerts_open(), key, alert.id)  # the open entry pointed at nothing
        await self._save(alert)
        self.metrics.alerts_fired.labels(rule, alert.severity).inc()
        if await self._may_notify(key, now):
            await self._enqueue("firing", alert)
        return alert

    async def resolve_key(self, rule: str, subject: str, actor: str = "backhaul") -> Alert | None:
        """Resolve the open alert `<rule>:<subject>`, if there is one."""
        open_id = await self.redis.hget(self.keys.alerts_open(), f"{rule}:{subject}")
        return await self.resolve(text(open_id), actor) if open_id else None

    async def resolve(self, aid: str, actor: str) -> Alert | None:
        now = self.clock.now()
        alert = await self._change(aid, lambda a: None if a.state == "resolved" else a.model_copy(
            update={"state": "resolved", "resolved_by": actor, "resolved_at": now, "last_at": now}))
        if alert is not None:
            # Only the entry that still points at this alert is removed: a newer one stays open.
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(self.keys.alerts_open())
                current = await pipe.hget(self.keys.alerts_open(), alert.key)
                pipe.multi()
                if current is not None and text(current) == alert.id:
                    pipe.hdel(self.keys.alerts_open(), alert.key)
                try:
                    await pipe.execute()
                except WatchError:
                    pass  # the key was reopened meanwhile; the new alert keeps it
            await self._enqueue("resolved", alert)
        return alert

    async def acknowledge(self, aid: str, actor: str) -> Alert | None:
        return await self._change(aid, lambda a: None if a.state != "firing" else a.model_copy(
            update={"state": "acknowledged", "acked_by": actor}))

    async def get(self, aid: str) -> Alert | None:
        raw = await self.redis.get(self.keys.alert(aid))
        return Alert.model_validate_json(raw) if raw else None

    async def recent(self, limit: int = 200, merchant_id: str | None = None) -> list[Alert]:
        """Newest first: all alerts, or those about one merchant's returns."""
        index = self.keys.merchant_alerts(merchant_id) if merchant_id else self.keys.alerts()
        ids = [text(i) for i in cast(list[Any], await self.redis.zrevrange(index, 0, limit - 1))]
        docs = await self.redis.mget([self.keys.alert(i) for i in ids]) if ids else []
        return [Alert.model_validate_json(d) for d in docs if d]

    async def open_counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(self.config.rules, 0)
        for key in cast(list[Any], await self.redis.hkeys(self.keys.alerts_open())):
            rule = text(key).split(":", 1)[0]
            counts[rule] = counts.get(rule, 0) + 1
        return counts

    async def take_outbox(self, limit: int = 100) -> list[dict[str, Any]]:
        raw = await self.redis.lpop(self.keys.alerts_outbox(), limit)
        return [json.loads(r) for r in cast(list[Any], raw or [])]

    async def retry_later(self, entry: dict[str, Any]) -> None:
        await self.redis.rpush(self.keys.alerts_outbox(), json.dumps(entry | {"tries": entry.get("tries", 0) + 1}))

    async def trim(self) -> None:
        """Forget the oldest resolved alerts beyond `alerts_kept`."""
        old = [text(i) for i in cast(list[Any], await self.redis.zrange(self.keys.alerts(), 0,
                                                                         -self.config.alerts_kept - 1))]
        for alert in [a for a in [await self.get(i) for i in old] if a is not None and a.state == "resolved"]:
            await self.redis.zrem(self.keys.alerts(), alert.id)
            await self.redis.delete(self.keys.alert(alert.id))

    async def _may_notify(self, key: str, now: datetime) -> bool:
        until = await self.redis.hget(self.keys.alerts_cooldown(), key)
        if until is not None and float(text(until)) > now.timestamp():
            return False
        await self.redis.hset(self.keys.alerts_cooldown(), key, str(now.timestamp() + self.config.cooldown_s))
        return True

    async def _enqueue(self, event: str, alert: Alert) -> None:
        sinks = [i for i, s in enumerate(self.config.sinks)
                 if SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[s.min_severity]
                 and (event == "firing" or s.notify_resolved)]
        if sinks:
            await self.redis.rpush(self.keys.alerts_outbox(), *[
                json.dumps({"sink": i, "event": event, "alert_id": alert.id, "tries": 0}) for i in sinks])

    async def _save(self, alert: Alert) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.alert(alert.id), alert.model_dump_json())
            pipe.zadd(self.keys.alerts(), {alert.id: alert.last_at.timestamp()})
            if alert.merchant_id:
                pipe.zadd(self.keys.merchant_alerts(alert.merchant_id), {alert.id: alert.first_at.timestamp()})
            await pipe.execute()

    async def _change(self, aid: str, fn: Callable[[Alert], Alert | None]) -> Alert | None:
        key = self.keys.alert(aid)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    after = fn(Alert.model_validate_json(raw)) if raw else None
                    if after is None:
                        return None
                    pipe.multi()
                    pipe.set(key, after.model_dump_json())
                    pipe.zadd(self.keys.alerts(), {aid: after.last_at.timestamp()})
                    await pipe.execute()
                    return after
                except WatchError:
                    continue  # changed by someone else between read and write: read again
