"""What every merchant API handler needs: the caller's merchant and a validated body."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway import keys
from gateway.models import Merchant
from gateway.problems import Problem, from_validation

M = TypeVar("M", bound=BaseModel)


async def merchant_of(request: web.Request) -> Merchant:
    """Raises: Problem 401 without a valid `Authorization: Bearer <key>`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "unauthorized", "An API key is required",
                      "Send the key as 'Authorization: Bearer <key>'.")
    merchant = await request.app[keys.MERCHANTS].by_api_key(token.strip())
    if merchant is None:
        raise Problem(401, "unauthorized", "The API key is not valid")
    return merchant


def public_base(request: web.Request, merchant: Merchant) -> str:
    return merchant.public_base(request.app[keys.SETTINGS].public_url)


def parse_json(raw: bytes) -> Any:
    """Raises: Problem 400 naming the line and column of broken JSON."""
    if not raw.strip():
        raise Problem(400, "malformed-json", "The request body is empty", "Send a JSON object.")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed-json", "The request body is not UTF-8", str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise Problem(400, "malformed-json", "The request body is not valid JSON",
                      f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from exc


def validate(model: type[M], data: Any) -> M:
    """Raises: Problem 422 with every field path that is wrong."""
    if not isinstance(data, dict):
        raise Problem(422, "validation-error", "The request body is not valid",
                      "(body): expected a JSON object",
                      [{"field": "(body)", "message": "expected a JSON object", "type": "dict_type"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))
