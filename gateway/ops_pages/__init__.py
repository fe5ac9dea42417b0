"""The ops console (`/ops`): failed pickups, stuck shipments, carrier health, alerts. Plain HTML forms."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.AbstractRouteDef]:
    """Every console route, for `app.add_routes`."""
    from gateway.ops_pages import actions, views

    return [*actions.routes, *views.routes]
