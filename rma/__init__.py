"""Return material authorizations (RMA), advance exchange included: a plugin of fieldsvc.

May import `fieldsvc`; `fieldsvc` imports this package only in fieldsvc/blueprints.py, to
call `register(app)`, which adds rma's tables to the shared metadata, its API and console
blueprints and its command (`fieldsvc rma flag-overdue`), and fills fieldsvc's hooks
(fieldsvc/hooks.py) with what rma shows on fieldsvc's pages: the customer screen's RMAs and
the RMA failure codes of the recurring faults report.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add the RMA tables, API (/api/v1/rmas, /api/v1/work-orders/{id}/rmas,
    /api/v1/reports/returns), the console's RMA form, the command and the hooks to `app`."""
    import rma.models  # noqa: F401 - the rma tables join the shared metadata
    from fieldsvc.hooks import hooks_of
    from rma import hooks
    from rma.api import blueprints
    from rma.cli import rma_group
    from rma.console import bp as console_bp

    api = app.extensions["fieldsvc_api"]
    for blp in blueprints:
        api.register_blueprint(blp)
    app.register_blueprint(console_bp)
    app.cli.add_command(rma_group)
    hooks_of(app).register(customer_rmas=hooks.customer_rmas, rma_faults=hooks.rma_faults)
