"""What every carrier sandbox shares: a manual clock, injected faults, scenarios and bookings.

A carrier sandbox is its wire routes plus a lifecycle script. `new_sandbox_app` gives it an
aiohttp app that already has the control routes under `/__sandbox/` and the fault middleware;
the carrier adds its own routes and stores `SandboxBooking`s on the control.

Control routes (JSON):
    POST   /__sandbox/faults    {"kind": "5xx", "times": 1, "path": "/api/cmu", "delay_s": 30}
    DELETE /__sandbox/faults
    POST   /__sandbox/clock     {"advance_s": 3600} or {"set": "2026-11-02T10:00:00+05:30"}
    POST   /__sandbox/scenario  {"scenario": "pickup_failed", "times": 1, ...params}
    GET    /__sandbox/state
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast, get_args

from aiohttp import web

from carriers.clock import ManualClock

FaultKind = Literal["timeout", "5xx", "429", "drop", "malformed"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
CONTROL_PREFIX = "/__sandbox/"
# Cut off mid-token so no JSON parser can accept it.
MALFORMED_BODY = b'{"success": true, "packages": [{"waybill": "12'


@dataclass
class Fault:
    """One injected failure: hits the next `times` carrier requests whose path starts with `path`."""

    kind: FaultKind
    times: int = 1
    path: str = ""
    delay_s: float = 30.0
    retry_after_s: int = 1


@dataclass
class Scenario:
    """A non-happy lifecycle the next `times` bookings follow, with carrier-specific params."""

    name: str
    times: int = 1
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One scan in a lifecycle script, `after` the booking; `scan` is in the carrier's words."""

    after: timedelta
    scan: Mapping[str, str]


@dataclass
class SandboxBooking:
    """A booking the sandbox holds, with the scans it will reveal as the clock moves."""

    reference: str
    awb: str
    booked_at: datetime
    script: list[Step]
    request: dict[str, Any] = field(default_factory=dict)
    scenario: str = "happy"

    def scans(self, now: datetime) -> list[tuple[datetime, Step]]:
        """The steps that have happened by `now`, oldest first."""
        due = [(self.booked_at + s.after, s) for s in self.script]
        return sorted((p for p in due if p[0] <= now), key=lambda p: p[0])

    def last_scan(self, now: datetime) -> Step | None:
        done = self.scans(now)
        return done[-1][1] if done else None

    def interrupt(self, now: datetime, scan: Mapping[str, str]) -> None:
        """Drop every step still to come and end the script with `scan` at `now`."""
        elapsed = now - self.booked_at
        self.script = [s for s in self.script if s.after <= elapsed]
        self.script.append(Step(elapsed, scan))

    def restart(self, now: datetime, script: list[Step]) -> None:
        """Keep what happened and append a new script that starts at `now`."""
        elapsed = now - self.booked_at
        self.script = [s for s in self.script if s.after <= elapsed]
        self.script += [Step(elapsed + s.after, s.scan) for s in script]

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "awb": self.awb,
            "booked_at": self.booked_at.isoformat(),
            "scenario": self.scenario,
            "scans": [dict(step.scan, at=at.isoformat()) for at, step in self.scans(now)],
        }


class SandboxControl:
    """The switches of one sandbox: clock, faults, scenarios, bookings and call counts."""

    def __init__(self, clock: ManualClock | None = None,
                 non_serviceable_prefixes: tuple[str, ...] = ("79", "744")) -> None:
        self.clock = clock or ManualClock()
        self.non_serviceable_prefixes = non_serviceable_prefixes
        self.faults: list[Fault] = []
        self.scenarios: list[Scenario] = []
        self.bookings: dict[str, SandboxBooking] = {}
        self.booking_calls: Counter[str] = Counter()
        self._released = asyncio.Event()

    def add_fault(self, kind: str, times: int = 1, path: str = "", delay_s: float = 30.0,
                  retry_after_s: int = 1) -> Fault:
        """Queue a fault. Raises: ValueError for an unknown kind or a non-positive `times`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(cast(FaultKind, kind), times, path, delay_s, retry_after_s)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def take_fault(self, path: str) -> Fault | None:
        """The first pending fault for `path`, counting one use of it."""
        for fault in self.faults:
            if path.startswith(fault.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def set_scenario(self, name: str, times: int = 1, **params: str) -> None:
        self.scenarios.append(Scenario(name, times, dict(params)))

    def take_scenario(self) -> Scenario | None:
        """The scenario the next booking follows, None for the happy path."""
        if not self.scenarios:
            return None
        scenario = self.scenarios[0]
        scenario.times -= 1
        if scenario.times <= 0:
            self.scenarios.pop(0)
        return scenario

    def advance(self, seconds: float) -> datetime:
        return self.clock.advance(timedelta(seconds=seconds))

    def is_serviceable(self, postcode: str) -> bool:
        return not postcode.startswith(self.non_serviceable_prefixes)

    def record_booking_call(self, reference: str) -> None:
        self.booking_calls[reference] += 1

    def bookings_for(self, reference: str) -> list[SandboxBooking]:
        return [b for b in self.bookings.values() if b.reference == reference]

    def state(self) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "now": now.isoformat(),
            "bookings": [b.to_json(now) for b in self.bookings.values()],
            "booking_calls": dict(self.booking_calls),
            "faults": [vars(f) for f in self.faults],
            "scenarios": [vars(s) for s in self.scenarios],
        }

    async def sleep(self, delay_s: float) -> None:
        """Sleep, but wake early when the app shuts down so tests never wait on a hung fault."""
        try:
            await asyncio.wait_for(self._released.wait(), delay_s)
        except TimeoutError:
            pass

    async def release(self, _app: web.Application) -> None:
        self._released.set()

    async def rearm(self, _app: web.Application) -> None:
        self._released.clear()


CONTROL_KEY = web.AppKey("sandbox_control", SandboxControl)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the next pending fault to a carrier request; control routes are never faulted."""
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    control = request.app[CONTROL_KEY]
    fault = control.take_fault(request.path)
    if fault is None:
        return await handler(request)
    if fault.kind == "timeout":
        # The carrier did the work and the answer got lost: the worst case for idempotency.
        response = await handler(request)
        await control.sleep(fault.delay_s)
        return response
    if fault.kind == "5xx":
        return web.Response(status=503, text="<html><body>503 Service Unavailable</body></html>",
                            content_type="text/html")
    if fault.kind == "429":
        return web.Response(status=429, text="Too Many Requests",
                            headers={"Retry-After": str(fault.retry_after_s)})
    if fault.kind == "malformed":
        return web.Response(status=200, body=MALFORMED_BODY, content_type="application/json")
    # "drop": close the socket; the response below then has nowhere to go.
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object. Raises: HTTPBadRequest when it is not one."""
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


async def _post_fault(request: web.Request) -> web.Response:
    body = await read_json(request)
    try:
        fault = request.app[CONTROL_KEY].add_fault(
            str(body.get("kind")), int(body.get("times", 1)), str(body.get("path", "")),
            float(body.get("delay_s", 30.0)), int(body.get("retry_after_s", 1)))
    except (TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response(vars(fault), status=201)


async def _delete_faults(request: web.Request) -> web.Response:
    request.app[CONTROL_KEY].clear_faults()
    return web.json_response({"faults": []})


async def _post_clock(request: web.Request) -> web.Response:
    body = await read_json(request)
    control = request.app[CONTROL_KEY]
    try:
        if "set" in body:
            control.clock.set(datetime.fromisoformat(str(body["set"])))
        else:
            control.advance(float(body.get("advance_s", 0)))
    except (TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response({"now": control.clock.now().isoformat()})


async def _post_scenario(request: web.Request) -> web.Response:
    body = await read_json(request)
    name = body.pop("scenario", None)
    if not isinstance(name, str) or not name:
        raise web.HTTPBadRequest(text="scenario name missing")
    times = int(body.pop("times", 1))
    request.app[CONTROL_KEY].set_scenario(name, times, **{k: str(v) for k, v in body.items()})
    return web.json_response({"scenario": name, "times": times}, status=201)


async def _get_state(request: web.Request) -> web.Response:
    return web.json_response(request.app[CONTROL_KEY].state())


def new_sandbox_app(control: SandboxControl | None = None) -> web.Application:
    """An app with the control routes and fault middleware; the carrier adds its wire routes."""
    control = control or SandboxControl()
    app = web.Application(middlewares=[fault_middleware])
    app[CONTROL_KEY] = control
    app.on_startup.append(control.rearm)
    app.on_shutdown.append(control.release)
    app.router.add_post(CONTROL_PREFIX + "faults", _post_fault)
    app.router.add_delete(CONTROL_PREFIX + "faults", _delete_faults)
    app.router.add_post(CONTROL_PREFIX + "clock", _post_clock)
    app.router.add_post(CONTROL_PREFIX + "scenario", _post_scenario)
    app.router.add_get(CONTROL_PREFIX + "state", _get_state)
    return app


class TokenIssuer:
    """The sandbox side of OAuth client credentials: issues bearer tokens that expire on the sandbox clock."""

    def __init__(self, control: SandboxControl, client_id: str, client_secret: str,
                 lifetime_s: int = 3600) -> None:
        self.control = control
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime_s = lifetime_s
        self.tokens: dict[str, datetime] = {}
        self.issued = 0

    def issue(self, client_id: str, client_secret: str) -> tuple[str, int] | None:
        """A new token and its lifetime, or None when the credentials are wrong."""
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return None
        self.issued += 1
        token = f"sbx-{self.issued}-{id(self):x}"
        self.tokens[token] = self.control.clock.now() + timedelta(seconds=self.lifetime_s)
        return token, self.lifetime_s

    def is_valid(self, authorization: str) -> bool:
        """Whether an `Authorization: Bearer <token>` header carries a live token."""
        scheme, _, token = authorization.partition(" ")
        expires = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return expires is not None and self.control.clock.now() < expires
