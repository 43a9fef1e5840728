"""fieldsvc: field service and mobile workforce management."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

PACKAGE_DIR = Path(__file__).resolve().parent


def _templates_dir() -> str:
    # Installed wheels carry the templates inside the package; a source checkout keeps
    # them in the top-level templates/ folder.
    installed = PACKAGE_DIR / "templates"
    return str(installed if installed.is_dir() else PACKAGE_DIR.parent / "templates")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the Flask application; `config` overrides the environment."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=_templates_dir(),
        static_folder=str(PACKAGE_DIR / "static"),
    )
    from fieldsvc.config import from_environment

    if config and config.get("INSTANCE_PATH"):
        app.instance_path = config["INSTANCE_PATH"]
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(from_environment(app.instance_path))
    if config:
        app.config.update(config)
    from fieldsvc.services.interactions import parse_hours

    parse_hours(app.config["WORKING_HOURS"])  # a bad setting stops the start, not a call

    from fieldsvc import ops

    # First: the request id and the request's metrics wrap every other hook.
    ops.init_app(app)

    trusted = int(app.config.get("TRUSTED_PROXIES") or 0)
    if trusted:
        # Behind load balancers: the client's address, scheme and host come from the
        # X-Forwarded-* headers, trusting only the last `trusted` hops (the ones we run);
        # anything a client wrote further left is ignored.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted,
                                x_host=trusted, x_port=trusted)

    from sqlalchemy.orm import Session

    from fieldsvc import audit, db_setup, work_order_versions  # noqa: F401 - db_setup: pragmas
    from fieldsvc.errors import register_error_handlers
    from fieldsvc.extensions import db, migrate

    db.init_app(app)
    with app.app_context():
        db_setup.install_timeouts(app, db.engine)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True,
                     compare_type=True)
    work_order_versions.install(Session)
    audit.install(Session)

    register_error_handlers(app)

    from fieldsvc import request_body

    request_body.install(app)

    from fieldsvc import auth
    from fieldsvc.transaction import register_request_transaction

    # The auth gate identifies the caller before the transaction binds it as the actor.
    auth.init_app(app)
    register_request_transaction(app)

    # Every blueprint, page and plugin is listed in fieldsvc/blueprints.py.
    from fieldsvc.blueprints import register_blueprints

    register_blueprints(app)

    from fieldsvc import events

    events.register(app)  # the outbox's channels (webhooks)
    return app
