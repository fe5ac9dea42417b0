"""Customer-facing HTML pages: the branded tracking page, its actions and its live updates."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.AbstractRouteDef]:
    """Every page route, for `app.add_routes`."""
    from gateway.pages import actions, dropoff_label, live, tracking

    return [*tracking.routes, *actions.routes, *live.routes, *dropoff_label.routes]
