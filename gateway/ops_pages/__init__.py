"""The ops console (`/ops`): failed pickups, stuck shipments, carrier health, analytics, alerts, one return.

Plain HTML forms, no JavaScript.
"""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.AbstractRouteDef]:
    """Every console route, for `app.add_routes`."""
    from gateway.ops_pages import actions, analytics_view, photos, return_page, views

    return [*actions.routes, *views.routes, *return_page.routes, *analytics_view.routes, *photos.routes]
