"""Schema building blocks shared by every resource."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from fieldsvc.problems import InvalidInput

# What no text column can hold: NUL (PostgreSQL refuses it in text) and UTF-16 surrogates
# (a JSON "\ud800" without its pair decodes to a str that no database driver can encode).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Contains a character that cannot be stored: NUL or a lone surrogate."


def unstorable_text(value: Any) -> dict | list[str] | None:
    """Where `value` (any decoded JSON, form or query input) holds unstorable text: the
    messages in marshmallow's shape (by key and index), or None when all of it is fine."""
    if isinstance(value, str):
        return [UNSTORABLE_MESSAGE] if _UNSTORABLE.search(value) else None
    if isinstance(value, Mapping):
        found = {}
        for key, item in value.items():
            if isinstance(key, str) and _UNSTORABLE.search(key):
                found[_UNSTORABLE.sub("\ufffd", key)] = [UNSTORABLE_MESSAGE]
            elif (inner := unstorable_text(item)) is not None:
                found[key] = inner
        return found or None
    if isinstance(value, list | tuple):
        found = {i: inner for i, item in enumerate(value)
                 if (inner := unstorable_text(item)) is not None}
        return found or None
    return None


# Integer columns hold signed 64 bits at most. PostgreSQL refuses a larger value (a 422
# through DataError); SQLite's driver raises OverflowError instead, so refuse it on input.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
OUT_OF_RANGE_MESSAGE = f"Out of range: an integer between {INT64_MIN} and {INT64_MAX}."
_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def _beyond_int64(raw: Any) -> bool:
    """Whether raw input (JSON number or query text) for an integer field is out of range."""
    if isinstance(raw, bool):
        return False
    if isinstance(raw, float):
        return not INT64_MIN <= raw <= INT64_MAX
    if isinstance(raw, str):
        if not _INTEGER_TEXT.fullmatch(raw):
            return False  # not an integer at all: the field says so
        if len(raw.strip().lstrip("+-")) > 19:
            return True
        raw = int(raw)
    return isinstance(raw, int) and not INT64_MIN <= raw <= INT64_MAX


def _integer_fields(schema: Schema) -> list[tuple[str, bool]]:
    """(input key, is a list) of the schema's integer fields."""
    found = []
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if isinstance(field, fields.Integer):
            found.append((key, False))
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Integer):
            found.append((key, True))
    return found


class StrictSchema(Schema):
    """Input is a whitelist: unknown or read-only fields are rejected, never ignored.

    Every input schema derives from this one, so it is also where what the databases
    cannot store is refused with a 422, whatever the field: text with NUL or a lone
    surrogate (`unstorable_text`) and integers beyond 64 bits.
    """

    class Meta:
        unknown = RAISE
        ordered = True

    _integer_keys: list[tuple[str, bool]] | None = None

    @pre_load(pass_collection=False)
    def _refuse_unstorable_values(self, data: Any, **kwargs: Any) -> Any:
        found = unstorable_text(data)
        if found is not None:
            raise ValidationError(found if isinstance(found, dict) else {"_schema": found})
        if not isinstance(data, Mapping):
            return data
        errors: dict[str, Any] = {}
        if self._integer_keys is None:  # per instance: `only`/`exclude` shape the fields
            self._integer_keys = _integer_fields(self)
        for key, is_list in self._integer_keys:
            raw = data.get(key)
            if is_list and isinstance(raw, list | tuple):
                bad = {i: [OUT_OF_RANGE_MESSAGE] for i, item in enumerate(raw)
                       if _beyond_int64(item)}
                if bad:
                    errors[key] = bad
            elif not is_list and _beyond_int64(raw):
                errors[key] = [OUT_OF_RANGE_MESSAGE]
        if errors:
            raise ValidationError(errors)
        return data


class StrictBoolean(fields.Boolean):
    """A JSON boolean: true or false only.

    marshmallow's Boolean also takes 1, 0, "yes", "on", ... which the OpenAPI document (type
    boolean) does not allow; a body is JSON, so only the two JSON literals are meant.
    Query-string flags keep `fields.Boolean` (a query value is always text).
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


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


class LocalTime(fields.Time):
    """A wall-clock time of day ("08:00"), local to a time zone given with it; a UTC offset
    ("11:49:38Z") is refused: the columns hold times without zone, compared as such."""

    default_error_messages = {
        "offset": "Give a local time of day without a UTC offset, e.g. 08:00.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed is not None and parsed.tzinfo is not None:
            raise self.make_error("offset")
        return parsed


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
    # Absent: the configured page size (FIELDSVC_DEFAULT_PER_PAGE); above the cap: capped.
    per_page = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "Items per page; default FIELDSVC_DEFAULT_PER_PAGE, capped at "
                       "FIELDSVC_MAX_PER_PAGE"})
    sort = fields.String(
        metadata={"description": "Comma-separated fields, '-' for descending: -created_at,id"}
    )


class RowId(fields.Integer):
    """Dumps a related row as its id: `fields.List(RowId(), attribute="assets")`."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any):
        return super()._serialize(getattr(value, "id", value), attr, obj, **kwargs)


def IdList(**kwargs: Any) -> fields.List:  # noqa: N802 - reads like a field type
    """A list of positive integer ids (existence is checked by the service)."""
    return fields.List(fields.Integer(strict=True, validate=validate.Range(min=1)),
                       validate=validate.Length(max=kwargs.pop("max_items", 1000)), **kwargs)


EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def sane_year(value) -> None:
    """Validator: dates and instants stay within years 1900-2200.

    Year 1 or 9999 with a UTC offset overflows on conversion; no service record needs them.
    """
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(f"Give a year between {EARLIEST_YEAR} and {LATEST_YEAR}.")


def Instant(**kwargs: Any) -> fields.AwareDateTime:  # noqa: N802
    """A timezone-aware timestamp within a sane range (naive input is refused)."""
    return fields.AwareDateTime(validate=sane_year, **kwargs)


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802
    return fields.Date(validate=sane_year, **kwargs)


def valid_zone(name: str) -> None:
    """Validator: `name` must be an IANA time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError(f"Unknown time zone '{name}'. Use an IANA name like "
                              "Asia/Tehran.") from exc


def TimeZone(**kwargs: Any) -> fields.String:  # noqa: N802
    return fields.String(validate=[validate.Length(min=1, max=64), valid_zone],
                         metadata={"description": "IANA time zone, e.g. Asia/Tehran"}, **kwargs)


def patch_schema(schema_cls: type[Schema]) -> type[Schema]:
    """The schema with its top-level fields optional; nested items stay complete.

    `partial=True` would also make the fields of nested list items optional, so a PATCH
    could store a skill requirement without a skill; naming the top-level fields does not.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", tuple(
            name for name, field in schema_cls._declared_fields.items() if not field.dump_only
        ))
        schema_cls.__init__(self, *args, **kwargs)

    name = schema_cls.__name__.removesuffix("Schema") + "PatchSchema"
    return type(name, (schema_cls,), {"__init__": __init__})
