"""Every blueprint of the app, listed: the URLs that exist are read here, not discovered.

`api_blueprints()` are flask-smorest blueprints, registered on the API so that they appear
in /api/openapi.json; `web_blueprints()` are the server-rendered pages. A feature package
keeps its own route table (recalls: fieldsvc/recall/blueprint.py) and is listed here once.
`PLUGINS` are packages outside fieldsvc that register themselves (their models, blueprints,
commands and hooks) through their `register(app)`; fieldsvc imports them nowhere else.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def api_blueprints() -> list[Any]:
    """The REST blueprints under /api/v1 and /api/mobile/v1, in the OpenAPI document's order."""
    from fieldsvc.api.resources import (
        audit,
        catalog,
        contracts,
        customers,
        interactions,
        inventory,
        pm_plans,
        reports,
        runs,
        slots,
        stock,
        tickets,
        users,
        work_orders,
        workforce,
    )
    from fieldsvc.auth.api import auth_blp, erasure_blp
    from fieldsvc.events import api as events
    from fieldsvc.recall import blueprint as recall
    from mobile_api import views as mobile

    return [
        *audit.blueprints,         # /api/v1/audit
        *catalog.blueprints,       # /api/v1/products, /api/v1/assets
        *contracts.blueprints,     # /api/v1/contracts
        *customers.blueprints,     # /api/v1/customers, /api/v1/sites
        *events.blueprints,        # /api/v1/webhook-subscriptions, /api/v1/event-deliveries
        *interactions.blueprints,  # /api/v1/interactions
        *inventory.blueprints,     # /api/v1/parts, /api/v1/warehouses
        *mobile.blueprints,        # /api/mobile/v1 (the technician's phone)
        *pm_plans.blueprints,      # /api/v1/pm-plans
        *recall.api_blueprints,    # /api/v1/recall-campaigns, dealerships, recall-appointments,
                                   # recalls
        *reports.blueprints,       # /api/v1/reports (kpis, voice of the customer, ...)
        *runs.blueprints,          # /api/v1/optimization-runs, technician release, insertion
        *slots.blueprints,         # /api/v1/work-orders/{id}/slot-offers
        *stock.blueprints,         # /api/v1/stock-levels, stock-movements
        *tickets.blueprints,       # /api/v1/tickets
        *users.blueprints,         # /api/v1/users
        *work_orders.blueprints,   # /api/v1/work-orders
        *workforce.blueprints,     # /api/v1/skills, /api/v1/technicians
        auth_blp,                  # /api/v1/auth (tokens)
        erasure_blp,               # /api/v1/customers/{id}/erasure
    ]


def web_blueprints() -> list[Any]:
    """The pages: health and API docs, the console, the dealership portal, self-service."""
    from fieldsvc import web
    from fieldsvc.console import bp as console
    from fieldsvc.console import dispatch, reports
    from fieldsvc.console.views import (  # noqa: F401 - their pages are on the console blueprint
        customers,
        lists,
        slots,
        tickets,
        work_order_edit,
    )
    from fieldsvc.recall import blueprint as recall
    from fieldsvc.selfservice import blueprint as selfservice

    return [
        web.bp,                    # /healthz, /api/docs, /
        console,                   # /login, /logout, /console (contact center, lists)
        dispatch.bp,               # /console/dispatch (board, map, runs)
        reports.bp,                # /console/reports
        *recall.web_blueprints,    # /portal (dealerships)
        selfservice.bp,            # /self-service (customers, from signed links)
    ]


def plugins() -> list[Any]:
    """Packages that register themselves into the app: `module.register(app)`."""
    import rma

    return [rma]


def register_blueprints(app: Flask) -> None:
    """Register the API (with every REST blueprint), the pages, then the plugins."""
    from fieldsvc import auth
    from fieldsvc.api import register_api
    from fieldsvc.console import init_console

    api = register_api(app)
    for blp in api_blueprints():
        api.register_blueprint(blp)
    auth.register_api(app)
    init_console(app)
    for blp in web_blueprints():
        app.register_blueprint(blp)
    for plugin in plugins():
        plugin.register(app)
