"""The REST API under /api/v1: one blueprint per resource, OpenAPI from the schemas.

The blueprints are listed in fieldsvc/blueprints.py.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

API_PREFIX = "/api/v1"


class FieldsvcApi(Api):
    """flask-smorest's Api, with errors left to our problem+json handlers.

    The document describes them as they are: problem+json with the Problem schema, and
    each operation lists its error statuses (fieldsvc.api.openapi).
    """

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        from fieldsvc.api.openapi import register_problem_responses

        register_problem_responses(self.spec)


def register_api(app: Flask) -> FieldsvcApi:
    app.config.setdefault("API_TITLE", "fieldsvc")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    from fieldsvc.api.openapi import ErrorResponsesPlugin

    api = FieldsvcApi(
        app,
        spec_kwargs={
            "extra_plugins": [ErrorResponsesPlugin()],
            "info": {
                "description": "Field service management: customers, assets, work orders, "
                "RMAs, recalls and dispatch. Errors are application/problem+json (RFC 9457)."
            }
        },
    )
    app.extensions["fieldsvc_api"] = api

    from fieldsvc.schemas.inventory import Money

    # A Money value is exchanged as a decimal string ("12.50"), never a JSON number.
    api.register_field(Money, "string", "decimal")
    return api
