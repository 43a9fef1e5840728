"""The REST API under /api/v1: one blueprint per resource, OpenAPI from the schemas.

The blueprints are listed in fieldsvc/blueprints.py.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

API_PREFIX = "/api/v1"


class FieldsvcApi(Api):
    """flask-smorest's Api, with errors left to our problem+json handlers."""

    def _register_error_handlers(self):
        pass


def register_api(app: Flask) -> FieldsvcApi:
    app.config.setdefault("API_TITLE", "fieldsvc")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = FieldsvcApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Field service management: customers, assets, work orders, "
                "RMAs, recalls and dispatch. Errors are application/problem+json (RFC 9457)."
            }
        },
    )
    app.extensions["fieldsvc_api"] = api
    return api
