"""Who may do what: one matrix of role × resource × action, as data, and the rules that
apply it to a request (by its URL rule), to one object (BOLA) and to a list query.

The resource of a request is the path segment after /api/v1/ (so a resource module added
later is covered by its name); the action comes from the method and any sub-path:

    GET/HEAD             → read
    POST on a collection → create
    PUT/PATCH            → update
    DELETE               → delete
    POST …/{id}/<verb>   → the named action <verb> (e.g. transitions → "transition")

A (resource, action) pair the matrix does not name is refused for every role but admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Technician, WorkOrder
from fieldsvc.problems import Forbidden, NotFound
from fieldsvc.recall.models import Dealership, RecallAppointment

READ, CREATE, UPDATE, DELETE = "read", "create", "update", "delete"
WRITE = frozenset({CREATE, UPDATE, DELETE})
CRUD = frozenset({READ}) | WRITE
ANY = "*"

ADMIN, MANAGER, DISPATCHER, AGENT, TECHNICIAN, DEALERSHIP = (
    "admin", "manager", "dispatcher", "agent", "technician", "dealership")
ROLES = (ADMIN, MANAGER, DISPATCHER, AGENT, TECHNICIAN, DEALERSHIP)

# Sub-path verbs spelled as nouns in URLs, named as actions in the matrix.
# POST .../optimization-runs/territories requests runs: the same right as one run.
ACTION_ALIASES = {"transitions": "transition", "territories": "create"}

# Resource names of SPEC §6 plus the few non-CRUD areas (reports, recall lookup, mobile).
RESOURCES = (
    "customers", "sites", "products", "assets", "contracts", "skills", "technicians", "parts",
    "warehouses", "stock-levels", "stock-movements", "tickets", "work-orders", "pm-plans",
    "rmas", "recall-campaigns", "dealerships", "recall-appointments", "recalls",
    "interactions", "optimization-runs", "audit-log", "users", "reports", "mobile", "auth",
)
OPERATIONAL = tuple(r for r in RESOURCES if r not in {"audit-log", "users", "mobile", "auth"})
APPOINTMENT_WRITES = frozenset({CREATE, UPDATE, "cancel", "reschedule", "transition", "book"})


def _grant(table: dict[str, set[str]], resources: Iterable[str], actions: Iterable[str]):
    for resource in resources:
        table.setdefault(resource, set()).update(actions)


def _build() -> dict[str, dict[str, frozenset[str]]]:
    m: dict[str, dict[str, set[str]]] = {role: {} for role in ROLES}
    # Every signed-in user may refresh, revoke and look at their own token, and change
    # their own password.
    for role in ROLES:
        _grant(m[role], ["auth"], {READ, "refresh", "revoke", "password"})

    _grant(m[MANAGER], [r for r in RESOURCES if r not in {"mobile", "auth"}], {READ})
    _grant(m[MANAGER], ["pm-plans", "contracts"], CRUD | {"generate"})
    _grant(m[MANAGER], ["recall-campaigns"], CRUD | {"activate", "close", "allocate", "invite",
                                                     "vins", "phases"})
    _grant(m[MANAGER], ["dealerships"], CRUD | {"capacity", "holidays"})
    _grant(m[MANAGER], ["products", "skills"], CRUD)
    _grant(m[MANAGER], ["technicians"], {"absences", "certifications"})
    _grant(m[MANAGER], ["assets"], {"meter-readings"})
    _grant(m[MANAGER], ["rmas"], {UPDATE, "transition"})  # approve, reject, inspect, close
    _grant(m[MANAGER], ["rmas"], {"goodwill"})  # waive the charge of a chargeable RMA
    _grant(m[MANAGER], ["reports"], {"weights"})  # PUT /reports/kpis/weights

    _grant(m[DISPATCHER], OPERATIONAL, {READ})
    _grant(m[DISPATCHER], ["work-orders"], {CREATE, UPDATE, "transition", "parts", "assign",
                                            "pin", "unpin"})
    _grant(m[DISPATCHER], ["optimization-runs"], {CREATE, "publish", "cancel", "release"})
    _grant(m[DISPATCHER], ["technicians"], {"release"})  # send a technician's day
    _grant(m[DISPATCHER], ["work-orders"], {"insertion", "accept"})  # emergency insertion
    _grant(m[DISPATCHER], ["work-orders"], {"slot-offers", "book"})  # the slot finder
    _grant(m[DISPATCHER], ["tickets", "interactions"], {CREATE, UPDATE})
    _grant(m[DISPATCHER], ["tickets"], {"work-orders"})  # open a job from a ticket
    _grant(m[DISPATCHER], ["technicians"], {"absences"})
    _grant(m[DISPATCHER], ["assets"], {"meter-readings"})
    _grant(m[DISPATCHER], ["rmas"], {"transition"})  # ship replacements, receive returns
    _grant(m[DISPATCHER], ["work-orders"], {"rmas"})  # open an RMA from a job
    # Record parts taken from a warehouse into a van (transfers only, see VALUE_RULES).
    _grant(m[DISPATCHER], ["stock-movements"], {CREATE})

    _grant(m[AGENT], ["customers", "sites", "assets", "products", "contracts", "dealerships",
                      "recall-campaigns", "recalls", "skills"], {READ})
    # A caller nobody knows yet becomes a customer (with a site) while on the phone, and
    # the unit they call about is registered then (an asset: product, serial or VIN).
    _grant(m[AGENT], ["customers", "sites"], {CREATE, UPDATE})
    _grant(m[AGENT], ["assets"], {CREATE})
    _grant(m[AGENT], ["tickets", "interactions"], {READ, CREATE, UPDATE, "transition"})
    _grant(m[AGENT], ["tickets"], {"work-orders"})
    _grant(m[AGENT], ["work-orders", "rmas"], {READ, CREATE})
    _grant(m[AGENT], ["work-orders"], {"rmas"})
    # Offer a caller the best feasible visits and book the one they choose.
    _grant(m[AGENT], ["work-orders"], {"slot-offers", "book"})
    _grant(m[AGENT], ["recall-appointments"], {READ} | APPOINTMENT_WRITES)

    _grant(m[TECHNICIAN], ["work-orders"], {READ, UPDATE, "transition"})
    # A faulty part found on their own job; they see RMAs only through their jobs.
    _grant(m[TECHNICIAN], ["work-orders"], {"rmas"})
    _grant(m[TECHNICIAN], ["technicians", "parts", "skills", "products"], {READ})
    _grant(m[TECHNICIAN], ["mobile"], {ANY})

    _grant(m[DEALERSHIP], ["dealerships", "recall-campaigns", "recalls"], {READ})
    _grant(m[DEALERSHIP], ["recall-appointments"], {READ} | APPOINTMENT_WRITES)
    # Day of service and re-inviting no-shows; per-day capacity overrides of its own.
    _grant(m[DEALERSHIP], ["recall-appointments"], {"complete", "no-show", "reinvite"})
    _grant(m[DEALERSHIP], ["dealerships"], {"capacity"})
    _grant(m[AGENT], ["recall-appointments"], {"reinvite"})
    return {role: {res: frozenset(acts) for res, acts in table.items()}
            for role, table in m.items()}


MATRIX: dict[str, dict[str, frozenset[str]]] = _build()


def allowed(role: str | None, resource: str, action: str) -> bool:
    """True when `role` may do `action` on `resource`; admin may do everything."""
    if role == ADMIN:
        return True
    actions = MATRIX.get(role or "", {}).get(resource, frozenset())
    return action in actions or ANY in actions


# ---------------------------------------------------------------- object-level scopes


@dataclass(frozen=True)
class Scope:
    """Rows of `model` a role sees: those whose `column` equals the actor's `actor_attr`."""

    model: type
    column: str
    actor_attr: str

    def owns(self, actor: Actor, obj: Any) -> bool:
        mine = getattr(actor, self.actor_attr)
        return mine is not None and getattr(obj, self.column) == mine

    def where(self, actor: Actor):
        mine = getattr(actor, self.actor_attr)
        column = getattr(self.model, self.column)
        # No link means no rows (the role's links are enforced by a CHECK constraint).
        return column == mine if mine is not None else false()


SCOPES: dict[tuple[str, str], Scope] = {
    (TECHNICIAN, "work-orders"): Scope(WorkOrder, "technician_id", "technician_id"),
    (TECHNICIAN, "technicians"): Scope(Technician, "id", "technician_id"),
    (DEALERSHIP, "dealerships"): Scope(Dealership, "id", "dealership_id"),
    (DEALERSHIP, "recall-appointments"): Scope(RecallAppointment, "dealership_id",
                                               "dealership_id"),
}


def scope_for(actor: Actor, resource: str | None = None, model: type | None = None):
    if actor.role is None or actor.role == ADMIN:
        return None
    if resource is not None:
        scope = SCOPES.get((actor.role, resource))
        # A resource description may list a related model (e.g. a work order's history).
        return scope if scope is not None and (model is None or scope.model is model) else None
    for (role, _), scope in SCOPES.items():
        if role == actor.role and scope.model is model:
            return scope
    return None


def check_object(actor: Actor, obj: Any, resource: str | None = None,
                 label: str | None = None, ident: Any = None) -> None:
    """Raise 404 (never 403: existence is not revealed) when `actor` may not see `obj`."""
    scope = scope_for(actor, resource, type(obj))
    if scope is not None and not scope.owns(actor, obj):
        what = label or obj.__tablename__.replace("_", " ")
        raise NotFound(f"No {what} with id {ident if ident is not None else obj.id}.")


# Ids beyond a 64-bit integer exist nowhere; SQLite's driver would overflow on them.
MAX_ID = 2**63 - 1


def get_or_404(session: Session, model: type, ident: int, actor: Actor, *,
               resource: str | None = None, label: str | None = None) -> Any:
    """The row `ident` of `model` if it exists and `actor` may see it; 404 otherwise.

    The one lookup of a single row by id, for the API and the console alike: a row outside
    the actor's scope is "not found" too (its existence is not revealed).
    """
    what = label or str(getattr(model, "__tablename__", model.__name__)).replace("_", " ")
    obj = session.get(model, ident) if 0 < ident <= MAX_ID else None
    if obj is None:
        raise NotFound(f"No {what} with id {ident}.")
    check_object(actor, obj, resource, label=what, ident=ident)
    return obj


def scope_query(actor: Actor, stmt: Select, resource: str | None, model: type) -> Select:
    """Narrow a list query to the rows `actor` may see."""
    scope = scope_for(actor, resource, model)
    if scope is None:
        return stmt
    return stmt.where(scope.where(actor))


# ---------------------------------------------------------------- field-level rules

# Mass assignment: what a role may send, per (role, resource, action).
FIELD_WHITELIST: dict[tuple[str, str, str], frozenset[str]] = {
    # A technician records how the job went, nothing about planning or billing.
    (TECHNICIAN, "work-orders", UPDATE): frozenset({"resolution", "resolution_code",
                                                   "checklist"}),
    # Moving their own job along; not rescheduling or reassigning it.
    (TECHNICIAN, "work-orders", "transition"): frozenset({"to", "reason", "at", "lat", "lon",
                                                         "resolution", "resolution_code"}),
}
# Values a role may put in a field, per (role, resource, action).
VALUE_RULES: dict[tuple[str, str, str], dict[str, frozenset[str]]] = {
    # Dispatchers move the goods; approving, inspecting and closing are managers' calls.
    (DISPATCHER, "rmas", "transition"): {
        "to": frozenset({"replacement_shipped", "defective_received"}),
    },
    # A dispatcher records transfers (a pick-up into a van); receipts, issues, scrapping
    # and reservations stay with the administrator and the services that own them.
    (DISPATCHER, "stock-movements", CREATE): {"kind": frozenset({"transfer"})},
    (TECHNICIAN, "work-orders", "transition"): {
        "to": frozenset({"en_route", "on_site", "completed", "on_hold", "cannot_complete"}),
    },
}
# Fields that must name the actor's own linked row.
PINNED_FIELDS: dict[tuple[str, str], dict[str, str]] = {
    (DEALERSHIP, "recall-appointments"): {"dealership_id": "dealership_id"},
    (TECHNICIAN, "work-orders"): {"technician_id": "technician_id"},
}


def check_body(actor: Actor, resource: str, action: str, body: Any) -> None:
    """Refuse (403) fields or values this role may not write."""
    if actor.role == ADMIN or not isinstance(body, dict):
        return
    key = (actor.role or "", resource, action)
    whitelist = FIELD_WHITELIST.get(key)
    if whitelist is not None:
        extra = sorted(set(body) - whitelist)
        if extra:
            raise Forbidden(
                f"Your role may not change: {', '.join(extra)}. "
                f"Allowed: {', '.join(sorted(whitelist))}.", fields=extra)
    for field, values in VALUE_RULES.get(key, {}).items():
        if field in body and body[field] not in values:
            raise Forbidden(f"Your role may not set {field} to {body[field]!r}.",
                            fields=[field])
    for field, attr in PINNED_FIELDS.get((actor.role or "", resource), {}).items():
        if field in body and body[field] != getattr(actor, attr):
            raise Forbidden(f"{field} must be your own ({getattr(actor, attr)}).",
                            fields=[field])


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Target:
    resource: str
    action: str
    item_arg: str | None  # name of the URL argument holding the object id, if any


def classify(rule: str, method: str) -> Target:
    """Resource, action and item argument of a URL rule such as
    /api/v1/work-orders/<int:ident>/transitions."""
    if rule.startswith("/api/mobile/"):
        resource, tail = "mobile", []
    else:
        rest = rule.removeprefix("/api/v1/") if rule.startswith("/api/v1/") else \
            rule.removeprefix("/api/")
        parts = [p for p in rest.split("/") if p]
        resource, tail = (parts[0] if parts else ""), parts[1:]
    item_arg = None
    if tail and tail[0].startswith("<"):
        item_arg = tail[0].strip("<>").split(":")[-1]
    verbs = [p for p in tail if not p.startswith("<")]
    method = method.upper()
    if method in {"GET", "HEAD", "OPTIONS"}:
        action = READ
    elif verbs:
        action = ACTION_ALIASES.get(verbs[-1], verbs[-1])
    elif method == "POST":
        action = CREATE if item_arg is None else UPDATE
    elif method in {"PUT", "PATCH"}:
        action = UPDATE
    elif method == "DELETE":
        action = DELETE
    else:
        action = method.lower()
    return Target(resource, action, item_arg)


def authorize(actor: Actor, rule: str, method: str, view_args: dict[str, Any] | None,
              body: Any, load) -> Target:
    """Apply the matrix, the object scope and the field rules to one request.

    `load(model, ident)` fetches an object (None if missing); it is called only for item
    URLs of a scoped (role, resource).
    """
    target = classify(rule, method)
    if not allowed(actor.role, target.resource, target.action):
        raise Forbidden(f"The {actor.role} role may not {target.action} {target.resource}.")
    scope = scope_for(actor, target.resource)
    if scope is not None and target.item_arg and view_args:
        ident = view_args.get(target.item_arg)
        obj = load(scope.model, ident) if ident is not None else None
        if obj is None or not scope.owns(actor, obj):
            label = scope.model.__tablename__.replace("_", " ")
            raise NotFound(f"No {label} with id {ident}.")
    if method.upper() not in {"GET", "HEAD", "OPTIONS", "DELETE"}:
        check_body(actor, target.resource, target.action, body)
    return target
