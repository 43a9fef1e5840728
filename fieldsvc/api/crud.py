"""Collection and item endpoints built from a resource description.

Each resource module describes its model, schemas, filters and the service hooks that hold
its rules; this module turns that into list/get/create/update/delete views with OpenAPI
documentation, the SPEC §6 list envelope and problem+json errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from fieldsvc.auth import policy
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.problems import InvalidInput, PreconditionFailed
from fieldsvc.schemas.common import ListArgs, check_references, page_schema, patch_schema

MAX_ID = policy.MAX_ID

Filter = InstrumentedAttribute | Callable[[Select, Any], Select]


@dataclass
class Resource:
    """What a REST resource is made of; hooks receive (session, ..., actor)."""

    name: str
    model: type[Any]
    schema: type[Schema]
    create_schema: type[Schema] | None = None
    update_schema: type[Schema] | None = None
    list_args: type[Schema] = ListArgs
    filters: dict[str, Filter] = field(default_factory=dict)
    sortable: dict[str, InstrumentedAttribute] = field(default_factory=dict)
    default_sort: Sequence[Any] = ()
    search: Sequence[InstrumentedAttribute] = ()
    options: Sequence[Any] = ()  # loader options of the list query
    list_schema: type[Schema] | None = None  # what a list shows of each item (default: all)
    create: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    delete: Callable[..., Any] | None = None
    actions: frozenset[str] = frozenset({"list", "get", "create", "update", "delete"})
    label: str | None = None
    # When create/update answer more than the item: their response schemas. The update
    # hook's result is then the body (create's always is), and must still expose `.id`.
    created_schema: type[Schema] | None = None
    updated_schema: type[Schema] | None = None

    @property
    def title(self) -> str:
        return self.label or self.model.__tablename__.replace("_", " ")


def get_or_404(resource: Resource | type, ident: int, label: str | None = None):
    """The item `ident` of a resource (or model), by the access policy's one lookup."""
    model = resource.model if isinstance(resource, Resource) else resource
    what = label or (resource.title if isinstance(resource, Resource) else None)
    return policy.get_or_404(db.session, model, ident, current_actor(),
                             resource=resource.name if isinstance(resource, Resource) else None,
                             label=what)


def apply_sort(stmt: Select, sort: str | None, resource: Resource) -> Select:
    if not sort:
        order = list(resource.default_sort) or [resource.model.id]
        return stmt.order_by(*order)
    clauses = []
    for raw in sort.split(","):
        key = raw.strip()
        desc = key.startswith("-")
        key = key.lstrip("-+")
        column = resource.sortable.get(key)
        if column is None:
            allowed = ", ".join(sorted(resource.sortable)) or "none"
            raise InvalidInput({"sort": [f"Cannot sort by '{key}'. Sortable: {allowed}."]})
        clauses.append(column.desc() if desc else column.asc())
    clauses.append(resource.model.id.asc())  # stable pages
    return stmt.order_by(*clauses)


def apply_filters(stmt: Select, args: dict[str, Any], resource: Resource) -> Select:
    for name, flt in resource.filters.items():
        if name not in args or args[name] is None:
            continue
        value = args[name]
        if isinstance(flt, InstrumentedAttribute):
            stmt = stmt.where(flt.in_(value) if isinstance(value, list) else flt == value)
        else:
            stmt = flt(stmt, value)
    q = args.get("q")
    if q and resource.search:
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(or_(*(col.ilike(pattern) for col in resource.search)))
    return stmt


def paginate(stmt: Select, args: dict[str, Any]) -> dict[str, Any]:
    """Run a select as one page of the list envelope; per_page is capped, not refused."""
    cap = current_app.config["API_MAX_PER_PAGE"]
    page = args.get("page", 1)
    per_page = min(args.get("per_page") or current_app.config["API_DEFAULT_PER_PAGE"], cap)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def list_query(resource: Resource, args: dict[str, Any]) -> Select:
    stmt: Select[Any] = select(resource.model)
    if resource.options:
        stmt = stmt.options(*resource.options)
    stmt = apply_filters(stmt, args, resource)
    # Lists show only the rows the caller may see (a technician's own jobs, ...).
    stmt = policy.scope_query(current_actor(), stmt, resource.name, resource.model)
    return apply_sort(stmt, args.get("sort"), resource)


def _etag_headers(obj) -> dict[str, str]:
    version = getattr(obj, "version", None)
    return {"ETag": f'"{version}"'} if isinstance(version, int) else {}


def check_if_match(obj) -> None:
    """412 when the caller's If-Match names another version of a versioned row.

    Rows with a `version` column answer it as their ETag; a write sent with the ETag it
    was made against is refused once someone else changed the row in between."""
    raw = request.headers.get("If-Match")
    version = getattr(obj, "version", None)
    if raw is None or not isinstance(version, int):
        return
    tags = [t.strip().removeprefix("W/").strip('"') for t in raw.split(",")]
    if "*" in tags or str(version) in tags:
        return
    raise PreconditionFailed(
        f"It changed since you loaded it (now version {version}, you sent {raw.strip()}); "
        "load it again and redo your change.",
        current_version=version, headers={"ETag": f'"{version}"'})


def register_crud(blp: Blueprint, res: Resource) -> None:
    """Add the collection and item views of `res` to `blp`."""
    item_schema = res.schema
    create_schema = res.create_schema or res.schema
    update_schema = res.update_schema or patch_schema(create_schema)
    actions = res.actions
    endpoint_item = f"{blp.name}.{res.name}_item"

    def _location(obj) -> str:
        return url_for(endpoint_item, ident=obj.id)

    collection_methods: dict[str, Any] = {}
    if "list" in actions:

        @blp.arguments(res.list_args, location="query", unknown=RAISE)
        @blp.response(200, page_schema(res.list_schema or item_schema))
        @blp.doc(summary=f"List {res.name}")
        def get(self, args):
            return paginate(list_query(res, args), args)

        collection_methods["get"] = get

    if "create" in actions:

        @blp.arguments(create_schema)
        @blp.response(201, res.created_schema or item_schema)
        @blp.doc(summary=f"Create a {res.title}")
        def post(self, data):
            check_references(db.session, create_schema(), data)
            actor = current_actor()
            if res.create:
                obj = res.create(db.session, data, actor)
            else:
                obj = res.model(**data)
                db.session.add(obj)
            db.session.flush()
            return obj, 201, {"Location": _location(obj)}

        collection_methods["post"] = post

    if collection_methods:
        view = type(f"{res.name.title().replace('-', '')}Collection", (MethodView,),
                    collection_methods)
        blp.add_url_rule("", f"{res.name}_collection", view)

    item_methods: dict[str, Any] = {}
    if "get" in actions:

        @blp.response(200, item_schema)
        @blp.doc(summary=f"Get a {res.title}")
        def get_item(self, ident):
            obj = get_or_404(res, ident)
            return obj, 200, _etag_headers(obj)

        item_methods["get"] = get_item

    if "update" in actions:

        @blp.arguments(update_schema)
        @blp.response(200, res.updated_schema or item_schema)
        @blp.doc(summary=f"Change a {res.title}")
        def patch(self, data, ident):
            obj = get_or_404(res, ident)
            check_if_match(obj)
            check_references(db.session, update_schema(), data)
            actor = current_actor()
            body = obj
            if res.update:
                result = res.update(db.session, obj, data, actor)
                if res.updated_schema is not None:
                    body = result
            else:
                for key, value in data.items():
                    setattr(obj, key, value)
            db.session.flush()
            return body, 200, _etag_headers(obj)

        item_methods["patch"] = patch

    if "delete" in actions:

        @blp.response(204)
        @blp.doc(summary=f"Delete a {res.title}")
        def delete(self, ident):
            obj = get_or_404(res, ident)
            if res.delete:
                res.delete(db.session, obj, current_actor())
            else:
                db.session.delete(obj)
            db.session.flush()

        item_methods["delete"] = delete

    if item_methods:
        view = type(f"{res.name.title().replace('-', '')}Item", (MethodView,), item_methods)
        blp.add_url_rule("/<int:ident>", f"{res.name}_item", view)
