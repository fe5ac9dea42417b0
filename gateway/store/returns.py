"""Returns in Redis: the document, its indexes, its tracking events and the poll schedule."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from carriers.clock import Clock
from carriers.errors import StoreError
from gateway.models import Return
from gateway.store.keys import Keys
from gateway.store.parsed import ParsedCache
from gateway.store.server import queue_script, text
from normalizers.machine import fold, ordered
from normalizers.taxonomy import TERMINAL, TrackingEvent

_CLAIM_DUE = resources.files("gateway.store").joinpath("claim_due.lua").read_text(encoding="utf-8")
_COMMIT_APPLY = resources.files("gateway.store").joinpath("commit_apply.lua").read_text(encoding="utf-8")
log = logging.getLogger(__name__)
_MAX_PAGE = 100
_AWB_CACHE_SIZE = 100_000

Change = Callable[[Return], Return]


def _ms(ret: Return) -> int:
    return int(ret.created_at.timestamp() * 1000)


def encode_cursor(score: int, rid: str) -> str:
    return base64.urlsafe_b64encode(f"{score}:{rid}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Raises: ValueError for a cursor this store did not hand out."""
    padded = cursor + "=" * (-len(cursor) % 4)
    score, rid = base64.urlsafe_b64decode(padded.encode()).decode().split(":", 1)
    return int(score), rid


class KeyedLocks:
    """An asyncio lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass(frozen=True)
class ApplyRequest:
    """Events for one return; `awb` set means they are void unless it is still the return's AWB."""

    mid: str
    rid: str
    events: Sequence[TrackingEvent]
    raw: str | None = None
    awb: str | None = None


@dataclass(frozen=True)
class ApplyResult:
    """What one `apply()` changed."""

    ret: Return
    new_events: list[TrackingEvent]
    # The new events' JSON as stored, so what follows need not serialize them again.
    event_texts: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.new_events)


class ReturnStore:
    """Reads and atomic writes of returns; `apply()` is the one way events enter."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, clock: Clock, raw_kept: int = 50,
                 feed_maxlen: int = 100_000) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.raw_kept = raw_kept
        self.feed_maxlen = feed_maxlen
        self._awb_refs: dict[str, tuple[str, str]] = {}
        self._parsed = ParsedCache()
        self._applying = KeyedLocks()
        self._claim = redis.register_script(_CLAIM_DUE)

    async def insert(self, ret: Return) -> None:
        k, mid = self.keys, ret.merchant_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(k.return_doc(mid, ret.id), ret.model_dump_json())
            pipe.zadd(k.returns(mid), {ret.id: _ms(ret)})
            pipe.zadd(k.returns_by_status(mid, ret.status.value), {ret.id: _ms(ret)})
            await pipe.execute()
        await self.redis.set(k.return_owner(ret.id), mid)  # ops finds a return by id alone
        # The token points at the return; it lives outside the merchant's slot on purpose.
        await self.redis.set(k.token(ret.tracking_token), f"{mid} {ret.id}")

    async def get(self, mid: str, rid: str) -> Return | None:
        raw = await self.redis.get(self.keys.return_doc(mid, rid))
        return Return.model_validate_json(raw) if raw else None

    async def get_many(self, refs: Sequence[tuple[str, str]]) -> list[Return | None]:
        """Several returns in one round trip; a document this process wrote or read lately is not parsed again."""
        if not refs:
            return []
        doc_keys = [self.keys.return_doc(mid, rid) for mid, rid in refs]
        # GETs in a pipeline, not MGET: the keys live in different merchants' hash slots.
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in doc_keys:
                pipe.get(key)
            docs = await pipe.execute()
        return [self._parsed.doc(key, text(doc)) if doc else None for key, doc in zip(doc_keys, docs, strict=True)]

    def parsed_event(self, event_json: str) -> TrackingEvent:
        """An event from its stored JSON, parsed once per process."""
        return self._parsed.event(event_json)

    async def set_poll_schedule(self, due: Sequence[tuple[str, str, float | None]]) -> None:
        """Schedule (a due time) or unschedule (None) the polls of several returns in one round trip."""
        if not due:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for mid, rid, at in due:
                if at is None:
                    pipe.zrem(self.keys.poll_due(), f"{mid} {rid}")
                else:
                    pipe.zadd(self.keys.poll_due(), {f"{mid} {rid}": at})
            await pipe.execute()

    async def by_token(self, token: str) -> Return | None:
        ref = await self._ref(self.keys.token(token))
        return await self.get(*ref) if ref else None

    async def by_awb(self, carrier: str, awb: str) -> tuple[str, str] | None:
        return (await self.by_awbs([(carrier, awb)]))[0]

    async def by_awbs(self, awbs: Sequence[tuple[str, str]]) -> list[tuple[str, str] | None]:
        """The (merchant, return) of each (carrier, AWB); the ones not cached are read in one round trip."""
        # An AWB never moves to another return, so its reference is cached once found.
        keys = [self.keys.awb(carrier, awb) for carrier, awb in awbs]
        missing = list(dict.fromkeys(key for key in keys if key not in self._awb_refs))
        if missing:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in missing:
                    pipe.get(key)
                found = await pipe.execute()
            for key, value in zip(missing, found, strict=True):
                ref = text(value)
                if ref:
                    if len(self._awb_refs) >= _AWB_CACHE_SIZE:
                        self._awb_refs.pop(next(iter(self._awb_refs)))
                    mid, rid = ref.split(" ", 1)
                    self._awb_refs[key] = (mid, rid)
        return [self._awb_refs.get(key) for key in keys]

    async def _ref(self, key: str) -> tuple[str, str] | None:
        ref = text(await self.redis.get(key))
        if not ref:
            return None
        mid, rid = ref.split(" ", 1)
        return mid, rid

    async def page(self, mid: str, status: str | None, cursor: str | None,
                   limit: int) -> tuple[list[Return], str | None]:
        """Newest first; `cursor` is the opaque position the previous page ended at."""
        index = self.keys.returns_by_status(mid, status) if status else self.keys.returns(mid)
        limit = max(1, min(limit, _MAX_PAGE))
        if cursor:
            score, last = decode_cursor(cursor)
            found = await self.redis.zrevrangebyscore(index, score, "-inf", start=0, num=limit + 50,
                                                      withscores=True)
        else:
            score, last = -1, ""
            found = await self.redis.zrevrange(index, 0, limit, withscores=True)
        members = [(text(m), int(s)) for m, s in cast(list[tuple[str, float]], found)]
        # Skip what the last page showed: same score and ids at or after `last`.
        members = [(m, s) for m, s in members if not (s == score and m >= last)]
        chosen = members[:limit]
        docs = await self.redis.mget([self.keys.return_doc(mid, m) for m, _ in chosen]) if chosen else []
        returns = [Return.model_validate_json(d) for d in docs if d]
        more = len(members) > limit
        next_cursor = encode_cursor(int(chosen[-1][1]), chosen[-1][0]) if more and chosen else None
        return returns, next_cursor

    async def update(self, mid: str, rid: str, change: Change) -> Return:
        """Read-modify-write one return under WATCH; `change` may be called more than once."""
        key = self.keys.return_doc(mid, rid)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise StoreError(f"return {rid} of merchant {mid} is gone")
                    before = Return.model_validate_json(raw)
                    after = change(before).model_copy(update={"updated_at": self.clock.now()})
                    pipe.multi()
                    self._write(pipe, before, after)
                    await pipe.execute()
                    return after
                except WatchError:
                    # Someone else wrote the return between our read and write: read it again.
                    continue

    def _write(self, pipe: aioredis.client.Pipeline, before: Return, after: Return) -> None:
        k, mid = self.keys, after.merchant_id
        pipe.set(k.return_doc(mid, after.id), after.model_dump_json())
        if before.status != after.status:
            pipe.zrem(k.returns_by_status(mid, before.status.value), after.id)
            pipe.zadd(k.returns_by_status(mid, after.status.value), {after.id: _ms(after)})

    async def discard(self, ret: Return) -> None:
        """Remove a return that never got booked because its input was refused."""
        k, mid = self.keys, ret.merchant_id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(k.return_doc(mid, ret.id), k.events(mid, ret.id), k.raw_payloads(mid, ret.id))
            pipe.zrem(k.returns(mid), ret.id)
            pipe.zrem(k.returns_by_status(mid, ret.status.value), ret.id)
            await pipe.execute()
        await self.redis.delete(k.token(ret.tracking_token))

    async def unindex_awb(self, carrier: str, awb: str) -> None:
        """Forget an AWB a return no longer uses; other processes' caches are harmless, as
        `apply()` ignores events of an AWB that is not the return's current one."""
        key = self.keys.awb(carrier, awb)
        self._awb_refs.pop(key, None)
        await self.redis.delete(key)

    async def index_awb(self, ret: Return) -> None:
        if ret.shipment is not None:
            await self.redis.set(self.keys.awb(ret.shipment.carrier, ret.shipment.awb),
                                 f"{ret.merchant_id} {ret.id}")

    async def apply(self, mid: str, rid: str, events: Sequence[TrackingEvent],
                    raw: str | None = None, awb: str | None = None) -> ApplyResult:
        """One atomic step: events new by fingerprint are recorded, the state re-folded, the feed appended.

        A retry of the same events (a reclaimed stream entry, a poll and a webhook of the same
        scan) finds them recorded and changes nothing, so each event reaches the feed once.
        """
        found = await self.apply_many([ApplyRequest(mid, rid, tuple(events), raw, awb)])
        if not found:
            raise StoreError(f"return {rid} of merchant {mid} is gone")
        return found[0]

    async def apply_many(self, requests: Sequence[ApplyRequest]) -> list[ApplyResult]:
        """`apply()` for many returns at once: one result per return, in order of first mention.

        A return that is gone is logged and left out, so it cannot hold up the others.

        Requests of one return are merged into one step. All returns are read in one round trip
        and committed in another; each commit is a compare-and-set in Lua, and the returns whose
        commit lost a race to another process are read again and retried.
        """
        by_return: dict[str, list[ApplyRequest]] = {}
        for request in requests:
            by_return.setdefault(self.keys.return_doc(request.mid, request.rid), []).append(request)
        results: dict[str, ApplyResult | None] = {}
        # One apply per return at a time in this process: side by side they would only lose
        # compare-and-set races to each other and read again, and under load the retries feed
        # on themselves. Other processes are still kept honest by the CAS. Locks are taken in
        # key order, so two batches sharing returns cannot wait for each other.
        async with contextlib.AsyncExitStack() as held:
            for doc_key in sorted(by_return):
                await held.enter_async_context(self._applying.hold(doc_key))
            pending = by_return
            while pending:
                lost = await self._apply_once(pending, results)
                pending = {doc_key: by_return[doc_key] for doc_key in lost}
        return [result for result in (results[doc_key] for doc_key in by_return) if result is not None]

    async def _apply_once(self, pending: dict[str, list[ApplyRequest]],
                          results: dict[str, ApplyResult | None]) -> list[str]:
        """Read, fold and commit each pending return; the doc keys whose commit lost a race."""
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for group in pending.values():
                pipe.get(k.return_doc(group[0].mid, group[0].rid))
                pipe.hgetall(k.events(group[0].mid, group[0].rid))
            replies = await pipe.execute()
        commits: list[tuple[str, ApplyResult]] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for (doc_key, group), doc, stored in zip(pending.items(), replies[::2], replies[1::2], strict=True):
                if doc is None:
                    log.warning("events for a return that is gone", extra={"merchant_id": group[0].mid,
                                                                            "return_id": group[0].rid})
                    results[doc_key] = None
                    continue
                before = self._parsed.doc(doc_key, doc)
                current = before.shipment.awb if before.shipment is not None else None
                # Events of an AWB the return no longer uses (re-allocated or re-booked) are not its own.
                group = [r for r in group if r.awb is None or r.awb == current]
                fresh = {e.fingerprint: e for r in group for e in r.events if e.fingerprint not in stored}
                if not fresh:
                    results[doc_key] = ApplyResult(before, [])
                    continue
                history = [self._parsed.event(v) for v in stored.values()]
                after = before.model_copy(update={"state": fold([*history, *fresh.values()]),
                                                  "updated_at": self.clock.now()})
                new_events = ordered(fresh.values())
                raws = [r.raw for r in group if r.raw]
                texts = self._queue_commit(pipe, before, doc, after, new_events, raws)
                commits.append((doc_key, ApplyResult(after, new_events, texts)))
            won = await pipe.execute() if commits else []
        lost = []
        for (doc_key, result), ok in zip(commits, won, strict=True):
            if ok:
                results[doc_key] = result
            else:
                lost.append(doc_key)
        return lost

    def _queue_commit(self, pipe: aioredis.client.Pipeline, before: Return, old_doc: str, after: Return,
                      new_events: list[TrackingEvent], raws: list[str]) -> tuple[str, ...]:
        """Queue the compare-and-set of one return on `pipe`; the new events' JSON as it will be stored."""
        k, mid = self.keys, after.merchant_id
        keys = [k.return_doc(mid, after.id), k.events(mid, after.id), k.raw_payloads(mid, after.id), k.feed(mid),
                k.returns_by_status(mid, before.status.value), k.returns_by_status(mid, after.status.value)]
        new_doc = after.model_dump_json()
        self._parsed.remember_doc(keys[0], new_doc, after)
        texts = tuple(event.model_dump_json() for event in new_events)
        args: list[Any] = [old_doc, new_doc, after.id, _ms(after), self.raw_kept, self.feed_maxlen,
                           len(raws), *raws, len(new_events)]
        for event, text_ in zip(new_events, texts, strict=True):
            self._parsed.remember_event(text_, event)
            fields = [part for pair in feed_entry(after, event, text_).items() for part in pair]
            args += [event.fingerprint, text_, len(fields), *fields]
        queue_script(pipe, _COMMIT_APPLY, keys, args)
        return texts

    async def replace_events(self, mid: str, rid: str, events: Sequence[TrackingEvent]) -> int:
        """Store re-normalized events under their (unchanged) fingerprints and re-fold the state.

        Events whose meaning changed go to the feed again, marked as corrections. Returns how many.
        """
        k = self.keys
        doc_key, events_key = k.return_doc(mid, rid), k.events(mid, rid)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(doc_key, events_key)
                    doc = await pipe.get(doc_key)
                    if doc is None:
                        return 0
                    before = Return.model_validate_json(doc)
                    stored = cast(dict[str, str], await pipe.hgetall(events_key))
                    old = {fp: TrackingEvent.model_validate_json(v) for fp, v in stored.items()}
                    changed = [e for e in events
                               if e.fingerprint in old and _meaning(old[e.fingerprint]) != _meaning(e)]
                    if not changed:
                        return 0
                    merged = {**old, **{e.fingerprint: e for e in changed}}
                    after = before.model_copy(update={"state": fold(merged.values()), "updated_at": self.clock.now()})
                    pipe.multi()
                    pipe.hset(events_key, mapping={e.fingerprint: e.model_dump_json() for e in changed})
                    self._write(pipe, before, after)
                    for event in ordered(changed):
                        entry = feed_entry(after, event) | {"correction": "1"}
                        pipe.xadd(k.feed(mid), entry, maxlen=self.feed_maxlen, approximate=True)
                    await pipe.execute()
                    return len(changed)
                except WatchError:
                    continue

    async def events(self, mid: str, rid: str) -> list[TrackingEvent]:
        values = await self.redis.hvals(self.keys.events(mid, rid))
        return [TrackingEvent.model_validate_json(v) for v in values]

    async def raw_payloads(self, mid: str, rid: str) -> list[str]:
        return [text(v) for v in await self.redis.lrange(self.keys.raw_payloads(mid, rid), 0, -1)]

    async def schedule_poll(self, mid: str, rid: str, due_epoch_s: float) -> None:
        await self.redis.zadd(self.keys.poll_due(), {f"{mid} {rid}": due_epoch_s})

    async def unschedule_poll(self, mid: str, rid: str) -> None:
        await self.redis.zrem(self.keys.poll_due(), f"{mid} {rid}")

    async def claim_due(self, now_s: float, lease_s: float, limit: int) -> list[tuple[str, str]]:
        members = await self._claim(keys=[self.keys.poll_due()], args=[now_s, now_s + lease_s, limit])
        pairs = [text(m).split(" ", 1) for m in members]
        return [(p[0], p[1]) for p in pairs]


def feed_entry(ret: Return, event: TrackingEvent, event_json: str | None = None) -> dict[Any, Any]:
    """The fields of one merchant feed entry; its stream id is the feed cursor."""
    return {"type": f"tracking.{event.status.value}", "return_id": ret.id, "order_id": ret.order_id,
            "return_status": ret.status.value, "event": event_json or event.model_dump_json()}


def _meaning(event: TrackingEvent) -> tuple[str, str | None, str, bool]:
    return event.status.value, event.reason.value if event.reason else None, event.description, event.is_correction


def is_done(ret: Return) -> bool:
    """Whether a return needs no more polling."""
    return ret.status in TERMINAL
