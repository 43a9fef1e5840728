"""Schema building blocks shared by every resource."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from fieldsvc.errors import InvalidInput


class StrictSchema(Schema):
    """Input is a whitelist: unknown or read-only fields are rejected, never ignored."""

    class Meta:
        unknown = RAISE
        ordered = True


def Ref(model: type, **kwargs: Any) -> fields.Integer:  # noqa: N802 - reads like a field type
    """An integer id that must name an existing row of `model` (checked on write)."""
    metadata = kwargs.pop("metadata", {})
    metadata["ref"] = model
    return fields.Integer(strict=True, validate=validate.Range(min=1), metadata=metadata, **kwargs)


# C0 control characters other than tab, newline and carriage return. PostgreSQL refuses NUL
# in text while SQLite stores it, so refusing them here makes both databases answer alike.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_characters(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("Control characters are not allowed.")


def Text(max_len: int, **kwargs: Any) -> fields.String:  # noqa: N802
    return fields.String(
        validate=[validate.Length(max=max_len), no_control_characters], **kwargs
    )


def Name(max_len: int = 200, **kwargs: Any) -> fields.String:  # noqa: N802
    """A required-looking string: not blank, at most `max_len` characters."""
    return fields.String(
        validate=[validate.Length(min=1, max=max_len), no_control_characters], **kwargs
    )


def Latitude(**kwargs: Any) -> fields.Float:  # noqa: N802
    return fields.Float(validate=validate.Range(min=-90, max=90), allow_nan=False, **kwargs)


def Longitude(**kwargs: Any) -> fields.Float:  # noqa: N802
    return fields.Float(validate=validate.Range(min=-180, max=180), allow_nan=False, **kwargs)


def Priority(**kwargs: Any) -> fields.Integer:  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=4), **kwargs)


def check_references(session, schema: Schema, data: dict[str, Any]) -> None:
    """Raise 422 with one message per id field that names no existing row."""
    errors: dict[str, list[str]] = {}
    for name, field in schema.fields.items():
        model = field.metadata.get("ref")
        value = data.get(name)
        if model is None or value is None:
            continue
        if session.get(model, value) is None:
            label = model.__tablename__.replace("_", " ")
            errors[field.data_key or name] = [f"No {label} with id {value}."]
    if errors:
        raise InvalidInput(errors)


class PageSchema(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """The list envelope of SPEC §6: items, total, page, per_page."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item_schema))})


class ListArgs(StrictSchema):
    """Query arguments every list accepts; resources add their filters."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1))
    sort = fields.String(
        metadata={"description": "Comma-separated fields, '-' for descending: -created_at,id"}
    )
