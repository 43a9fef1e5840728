"""What the OpenAPI document says about errors: the Problem schema and who answers what.

Every error of the API is `application/problem+json` (fieldsvc.errors). Rather than repeat
the same error responses on some 150 views, `ErrorResponsesPlugin` adds them to each
operation from what the operation declares, by rules that mirror how the app answers:

- 401 everywhere (no or an expired token; at the token endpoint, wrong credentials) and
  403 for any the access policy may refuse;
- 404 when the path names a row (a path parameter), and for everything under the mobile
  API (an account without a technician has no day there);
- 400 (malformed JSON), 413 (body over the size limit) and 422 when it takes a body;
  422 when it takes query arguments;
- 409 and 429 (the write rate limit) for writes;
- 412 when it reads `If-Match`.

Anything else (a 500) falls under `default`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from marshmallow import Schema, fields

from fieldsvc.problems import PROBLEM_MIMETYPE

WRITES = {"post", "put", "patch", "delete"}
MOBILE_PREFIX = "/api/mobile/"


class ProblemSchema(Schema):
    """RFC 9457 problem details; members beyond these depend on the problem."""

    class Meta:
        unknown = "include"

    type = fields.String(required=True, metadata={
        "description": "A URI naming the kind of problem, e.g. .../problems/validation"})
    title = fields.String(required=True, metadata={"description": "Short summary of the kind"})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status"})
    detail = fields.String(metadata={"description": "What went wrong this time"})
    errors = fields.Dict(metadata={
        "description": "422: messages per field (nested for nested input)"})


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_MIMETYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def register_problem_responses(spec) -> None:
    """A problem+json response component per error status, plus the default one."""
    spec.components.schema("Problem", schema=ProblemSchema)
    # The Problem schema allows extension members (current_version, job, ...).
    spec.components.schemas["Problem"]["additionalProperties"] = True
    for status in HTTPStatus:
        if status >= 400:
            spec.components.response(status.name, problem_response(status.phrase), lazy=True)
    spec.components.response("DEFAULT_ERROR", problem_response("Unexpected error"), lazy=True)


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses `operation` can answer, from what it declares."""
    parameters = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
    where = {p.get("in") for p in parameters}
    headers = {p.get("name", "").lower() for p in parameters if p.get("in") == "header"}
    statuses: set[int] = {401, 403}
    if "{" in path or path.startswith(MOBILE_PREFIX):
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if "query" in where:
        statuses.add(422)
    if method in WRITES:
        statuses |= {409, 429}
    if "if-match" in headers:
        statuses.add(412)
    return statuses


class ErrorResponsesPlugin(BasePlugin):
    """Document the error responses of every operation (see the module docstring)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(path or "", method, operation)):
                key = str(status)
                if key not in responses:
                    responses[key] = HTTPStatus(status).name
