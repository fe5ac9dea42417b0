"""Errors as `application/problem+json` (RFC 9457), made in one middleware.

Handlers raise; they never build error responses by hand.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
    StoreError,
)

log = logging.getLogger(__name__)
PROBLEM_TYPE = "https://backhaul.dev/problems/"


class Problem(Exception):
    """An error with an HTTP status, a stable type slug and optional field errors."""

    def __init__(self, status: int, slug: str, title: str, detail: str = "",
                 errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


def field_errors(exc: ValidationError, root: str = "") -> list[dict[str, Any]]:
    """Pydantic errors as `{"field": "items[0].price", "message": ...}` entries."""
    out = []
    for err in exc.errors():
        path = root
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = err["msg"].removeprefix("Value error, ")
        out.append({"field": path or "(body)", "message": message, "type": err["type"]})
    return out


def from_validation(exc: ValidationError) -> Problem:
    errors = field_errors(exc)
    first = errors[0]
    return Problem(422, "validation-error", "The request body is not valid",
                   f"{first['field']}: {first['message']}", errors)


def _from_carrier(exc: CarrierError) -> Problem:
    kind: dict[type[CarrierError], tuple[int, str, str]] = {
        NotServiceable: (422, "not-serviceable", "No carrier serves this pickup"),
        CarrierRejected: (422, "carrier-rejected", "The carrier refused the request"),
        CarrierUnavailable: (503, "carrier-unavailable", "The carrier is not answering; try again"),
        CarrierAuthError: (502, "carrier-config", "Backhaul cannot authenticate with the carrier"),
        CarrierResponseInvalid: (502, "carrier-response-invalid", "The carrier answered with nonsense"),
    }
    status, slug, title = next((v for k, v in kind.items() if isinstance(exc, k)),
                               (502, "carrier-error", "Carrier error"))
    return Problem(status, slug, title, exc.detail, carrier=exc.carrier)


def render(problem: Problem, instance: str) -> web.Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + problem.slug,
        "title": problem.title,
        "status": problem.status,
        "instance": instance,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    headers = {}
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="backhaul"'
    return web.Response(status=problem.status, text=json.dumps(body),
                        content_type="application/problem+json", headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _translate(exc: Exception) -> Problem | None:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, ValidationError):
        return from_validation(exc)
    if isinstance(exc, CarrierError):
        return _from_carrier(exc)
    if isinstance(exc, StoreError):
        return Problem(503, "store-unavailable", "Storage is unavailable", str(exc))
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return Problem(413, "body-too-large", "The request body is too large", exc.text or "")
    if isinstance(exc, web.HTTPNotFound):
        return Problem(404, "not-found", "Not found")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return Problem(405, "method-not-allowed", "Method not allowed")
    return None


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        problem = _translate(exc)
        if problem is None:
            if isinstance(exc, web.HTTPException):
                raise
            log.exception("unhandled error", extra={"path": request.path})
            problem = Problem(500, "internal", "Internal error", "The error was logged.")
        if problem.status >= 500:
            log.warning("request failed: %s", problem.detail or problem.title)
        return render(problem, request.path)
