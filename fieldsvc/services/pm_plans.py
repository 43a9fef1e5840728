"""Preventive maintenance plans: recurrence rules, their occurrences, and plan writes.

`occurrences` is pure (no database, no Flask) so the PM generator, the API and tests can
all evaluate a plan the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import HOURLY, MINUTELY, SECONDLY, rrule, rrulestr
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.dates import configured_zone_name
from fieldsvc.models import Asset, Part, PmPlan, PmPlanPart, PmPlanSkill, Skill, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.problems import Conflict, InvalidInput

NEXT_COUNT = 5
# A work order is keyed by (plan, due day, asset): at most one occurrence per local day.
_TOO_FREQUENT = {SECONDLY: "SECONDLY", MINUTELY: "MINUTELY", HOURLY: "HOURLY"}


class RuleError(ValueError):
    """An RRULE that cannot be used for a maintenance plan."""


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone `name`; raise RuleError when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise RuleError(f"Unknown time zone '{name}'. Use an IANA name like Asia/Tehran.") \
            from exc


def _strip_prefix(text: str) -> str:
    text = text.strip()
    if "\n" in text or "\r" in text or "DTSTART" in text.upper():
        raise RuleError("Give one RRULE line only; the start goes in dtstart.")
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:"):]
    return text


def build_rule(plan_rrule: str, dtstart: datetime, tz: str | ZoneInfo) -> rrule:
    """Parse `plan_rrule` anchored at `dtstart` as wall-clock time in `tz`.

    The rule runs on aware local times, so 09:00 stays 09:00 across daylight saving
    changes. A naive UNTIL is read as local time, a UTC one (…Z) as UTC.
    """
    if dtstart.tzinfo is None:
        raise RuleError("dtstart must carry a time zone.")
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    start = dtstart.astimezone(tzinfo)
    text = _strip_prefix(plan_rrule)
    try:
        try:
            rule = rrulestr(text, dtstart=start)
        except ValueError as exc:
            if "UNTIL" not in str(exc):
                raise
            naive = rrulestr(text, dtstart=start.replace(tzinfo=None))
            rule = naive.replace(dtstart=start, until=naive._until.replace(tzinfo=tzinfo))
    except RuleError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise RuleError(f"Not a valid RRULE: {exc}.") from exc
    if not isinstance(rule, rrule):
        raise RuleError("Give a single RRULE.")
    if rule._freq in _TOO_FREQUENT:
        raise RuleError(f"FREQ={_TOO_FREQUENT[rule._freq]} is too frequent for maintenance; "
                        "use DAILY or slower.")
    if rule._interval < 1:
        raise RuleError("INTERVAL must be at least 1.")
    for name, values in (("BYHOUR", rule._byhour), ("BYMINUTE", rule._byminute),
                         ("BYSECOND", rule._bysecond)):
        if values is not None and len(values) > 1:
            raise RuleError(f"{name} may hold one value: at most one occurrence a day.")
    return rule


def _local(when: datetime, tzinfo: ZoneInfo) -> datetime:
    # A wall time that does not exist (skipped by a spring-forward) becomes the
    # equivalent real instant, shown in the zone's offset at that instant.
    return when.astimezone(UTC).astimezone(tzinfo)


def occurrences(plan_rrule: str, dtstart: datetime, tz: str, start: datetime,
                end: datetime) -> list[datetime]:
    """Due times of the rule in [start, end), aware, in the plan's time zone."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    tzinfo = zone(tz)
    rule = build_rule(plan_rrule, dtstart, tzinfo)
    found = (_local(when, tzinfo) for when in rule.between(start, end, inc=True))
    return [when for when in found if start <= when < end]


def next_after(plan_rrule: str, dtstart: datetime, tz: str, after: datetime,
               count: int = NEXT_COUNT) -> list[datetime]:
    """The next `count` due times strictly after `after`."""
    tzinfo = zone(tz)
    rule = build_rule(plan_rrule, dtstart, tzinfo)
    return [_local(when, tzinfo) for when in rule.xafter(after, count=count, inc=False)]


def next_occurrences(plan: PmPlan, now: datetime | None = None) -> list[datetime]:
    """The plan's next due times from now; empty for meter plans or broken data."""
    if not plan.rrule or plan.dtstart is None:
        return []
    try:
        return next_after(plan.rrule, plan.dtstart, plan.timezone, now or utcnow())
    except RuleError:
        return []


def _missing(session: Session, model: type, ids: Iterable[int]) -> list[int]:
    wanted = set(ids)
    if not wanted:
        return []
    found = set(session.scalars(select(model.id).where(model.id.in_(wanted))))
    return sorted(wanted - found)


def check_trigger(state: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors of a plan's trigger: exactly one of a calendar rule or a meter interval."""
    errors: dict[str, list[str]] = {}
    has_rule = state.get("rrule") is not None
    has_meter = state.get("meter_interval") is not None
    if has_rule == has_meter:
        message = ("Give either rrule (with dtstart) or meter_interval (with meter_unit), "
                   "not both." if has_rule else
                   "Give either rrule (with dtstart) or meter_interval (with meter_unit).")
        errors["rrule"] = [message]
        errors["meter_interval"] = [message]
        return errors
    tz_name = state.get("timezone") or configured_zone_name()
    try:
        zone(tz_name)
    except RuleError as exc:
        errors["timezone"] = [str(exc)]
    if has_rule:
        if state.get("dtstart") is None:
            errors["dtstart"] = ["A calendar plan needs dtstart."]
        if state.get("meter_unit") is not None:
            errors["meter_unit"] = ["Only meter plans have a meter unit."]
        if not errors:
            try:
                rule = build_rule(state["rrule"], state["dtstart"], tz_name)
                if rule.after(state["dtstart"], inc=True) is None:
                    errors["rrule"] = ["The rule never produces an occurrence."]
            except RuleError as exc:
                errors["rrule"] = [str(exc)]
    else:
        if not state.get("meter_unit"):
            errors["meter_unit"] = ["A meter plan needs meter_unit."]
        if state.get("dtstart") is not None:
            errors["dtstart"] = ["Only calendar plans have dtstart."]
    return errors


def _check_links(session: Session, data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "asset_ids" in data:
        ids = data["asset_ids"]
        if len(set(ids)) != len(ids):
            errors["asset_ids"] = ["An asset is listed twice."]
        elif missing := _missing(session, Asset, ids):
            errors["asset_ids"] = [f"No asset with id {', '.join(map(str, missing))}."]
    for key, model, ref in (("skills", Skill, "skill_id"), ("parts", Part, "part_id")):
        if key not in data:
            continue
        ids = [row[ref] for row in data[key]]
        if len(set(ids)) != len(ids):
            errors[key] = [f"A {model.__tablename__} is listed twice."]
        elif missing := _missing(session, model, ids):
            errors[key] = [f"No {model.__tablename__} with id {', '.join(map(str, missing))}."]
    return errors


_PLAIN = ("name", "description", "rrule", "dtstart", "timezone", "meter_interval", "meter_unit",
          "lead_days", "estimated_minutes", "priority", "checklist", "tools", "active")


def _apply(session: Session, plan: PmPlan, data: dict[str, Any]) -> None:
    for key in _PLAIN:
        if key in data:
            setattr(plan, key, data[key])
    if "rrule" in data and data["rrule"] is not None:
        plan.rrule = data["rrule"].strip()
    if "asset_ids" in data:
        ids = data["asset_ids"]
        plan.assets = list(session.scalars(select(Asset).where(Asset.id.in_(ids)))) if ids else []
    if ("skills" in data or "parts" in data) and plan.id is not None:
        # A replaced list may name the same skill or part again: delete the old rows first.
        if "skills" in data:
            plan.skills = []
        if "parts" in data:
            plan.parts = []
        session.flush()
    if "skills" in data:
        plan.skills = [PmPlanSkill(skill_id=s["skill_id"], min_level=s["min_level"])
                       for s in data["skills"]]
    if "parts" in data:
        plan.parts = [PmPlanPart(part_id=p["part_id"], quantity=p["quantity"])
                      for p in data["parts"]]


def _state(plan: PmPlan | None, data: dict[str, Any]) -> dict[str, Any]:
    keys = ("rrule", "dtstart", "timezone", "meter_interval", "meter_unit")
    state = {k: getattr(plan, k) for k in keys} if plan is not None else {}
    state.update({k: data[k] for k in keys if k in data})
    return state


def create_plan(session: Session, data: dict[str, Any], actor: Actor) -> PmPlan:
    errors = check_trigger(_state(None, data)) | _check_links(session, data)
    if errors:
        raise InvalidInput(errors)
    plan = PmPlan()
    _apply(session, plan, data)
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan: PmPlan, data: dict[str, Any], actor: Actor) -> PmPlan:
    errors = _check_links(session, data)
    if any(k in data for k in ("rrule", "dtstart", "timezone", "meter_interval", "meter_unit")):
        errors = check_trigger(_state(plan, data)) | errors
    if errors:
        raise InvalidInput(errors)
    _apply(session, plan, data)
    session.flush()
    return plan


def delete_plan(session: Session, plan: PmPlan, actor: Actor) -> None:
    """Delete a plan that generated nothing yet; one with work orders is deactivated instead."""
    used = session.scalar(select(WorkOrder.id).where(WorkOrder.pm_plan_id == plan.id).limit(1))
    if used is not None:
        raise Conflict("This plan has generated work orders; deactivate it instead "
                       "(PATCH active=false).")
    plan.assets = []
    session.flush()
    session.delete(plan)
