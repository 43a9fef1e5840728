"""Skills and technicians: skill levels, weekly shifts, absences, certifications, the van."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import (
    Absence,
    Certification,
    PmPlanSkill,
    ProductSkill,
    Shift,
    Skill,
    Technician,
    TechnicianSkill,
    User,
    Warehouse,
    WorkOrder,
    WorkOrderSkill,
)
from fieldsvc.models.enums import WarehouseKind
from fieldsvc.problems import Conflict, InvalidInput, NotFound
from fieldsvc.recall.models import RecallCampaign
from fieldsvc.services.catalog import ensure_unique, refuse_if_referenced

# --- skills ---------------------------------------------------------------------------------


def create_skill(session: Session, data: dict[str, Any], actor: Actor) -> Skill:
    ensure_unique(session, Skill.code, data["code"], field="code", label="skill")
    skill = Skill(**data)
    session.add(skill)
    return skill


def update_skill(session: Session, skill: Skill, data: dict[str, Any], actor: Actor) -> Skill:
    if "code" in data:
        ensure_unique(session, Skill.code, data["code"], field="code", label="skill",
                      exclude_id=skill.id)
    for key, value in data.items():
        setattr(skill, key, value)
    return skill


def delete_skill(session: Session, skill: Skill, actor: Actor) -> None:
    refuse_if_referenced(session, "skill", skill.id, [
        ("technicians", TechnicianSkill.skill_id),
        ("work orders", WorkOrderSkill.skill_id),
        ("preventive maintenance plans", PmPlanSkill.skill_id),
        ("certifications", Certification.skill_id),
        ("recall campaigns", RecallCampaign.skill_id),
        ("products", ProductSkill.skill_id),
    ])
    session.delete(skill)


# --- technicians ----------------------------------------------------------------------------

_FIELDS = ("code", "name", "email", "phone", "territory", "home_address", "home_latitude",
           "home_longitude", "timezone", "break_minutes", "break_window_start",
           "break_window_end", "max_work_minutes", "overtime_limit_minutes", "active",
           "van_warehouse_id")


def van_code(technician_code: str) -> str:
    return f"VAN-{technician_code}"


def _check_breaks(values: dict[str, Any]) -> None:
    start, end = values.get("break_window_start"), values.get("break_window_end")
    errors: dict[str, list[str]] = {}
    if (start is None) != (end is None):
        key = "break_window_end" if end is None else "break_window_start"
        errors[key] = ["Give both ends of the break window, or neither."]
    elif start is not None and end <= start:
        errors["break_window_end"] = ["Must be after break_window_start."]
    elif start is not None:
        window = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if values["break_minutes"] > window:
            errors["break_minutes"] = [f"Longer than the break window ({window} minutes)."]
    if values["break_minutes"] >= values["max_work_minutes"]:
        errors.setdefault("break_minutes", []).append("Must be shorter than max_work_minutes.")
    if errors:
        raise InvalidInput(errors)


def _check_van(session: Session, warehouse_id: int, technician_id: int | None) -> Warehouse:
    van = session.get(Warehouse, warehouse_id)
    if van is None:  # already refused by the reference check; kept for direct callers
        raise InvalidInput({"van_warehouse_id": [f"No warehouse with id {warehouse_id}."]})
    if van.kind != WarehouseKind.VAN:
        raise InvalidInput({"van_warehouse_id": [
            f"Warehouse {van.id} ({van.code}) is a {van.kind.value} warehouse, not a van."]})
    holder = session.scalar(select(Technician.id).where(Technician.van_warehouse_id == van.id))
    if holder is not None and holder != technician_id:
        raise Conflict(f"Van {van.code} (warehouse {van.id}) already belongs to technician "
                       f"{holder}.", field="van_warehouse_id")
    return van


def _provide_van(session: Session, code: str, name: str) -> Warehouse:
    """The technician's own van: an unused VAN-<code> warehouse, or a new one."""
    existing = session.scalar(select(Warehouse).where(Warehouse.code == van_code(code)))
    if existing is not None:
        # A van left behind by a deleted technician of the same code is taken over.
        return _check_van(session, existing.id, None)
    van = Warehouse(code=van_code(code), name=f"Van of {name}"[:200], kind=WarehouseKind.VAN)
    session.add(van)
    session.flush()
    return van


def _check_skill_ids(session: Session, skills: list[dict]) -> None:
    wanted = {item["skill_id"] for item in skills}
    known = set(session.scalars(select(Skill.id).where(Skill.id.in_(wanted)))) if wanted else set()
    errors = {
        str(i): {"skill_id": [f"No skill with id {item['skill_id']}."]}
        for i, item in enumerate(skills) if item["skill_id"] not in known
    }
    if errors:
        raise InvalidInput({"skills": errors})


def _set_skills(session: Session, tech: Technician, skills: list[dict]) -> None:
    if tech.skills:
        tech.skills.clear()
        # Old rows must be gone before new ones reuse their (technician, skill) keys.
        session.flush()
    for item in skills:
        tech.skills.append(TechnicianSkill(skill_id=item["skill_id"], level=item["level"]))


def _set_shifts(session: Session, tech: Technician, shifts: list[dict]) -> None:
    if tech.shifts:
        tech.shifts.clear()
        session.flush()
    for item in sorted(shifts, key=lambda s: s["weekday"]):
        tech.shifts.append(Shift(**item))


def create_technician(session: Session, data: dict[str, Any], actor: Actor) -> Technician:
    values = dict(data)
    skills = values.pop("skills", [])
    shifts = values.pop("shifts", [])
    _check_breaks(values)
    _check_skill_ids(session, skills)
    ensure_unique(session, Technician.code, values["code"], field="code", label="technician")
    if values.get("van_warehouse_id") is not None:
        _check_van(session, values["van_warehouse_id"], None)
    else:
        values["van_warehouse_id"] = _provide_van(session, values["code"], values["name"]).id
    tech = Technician(**values)
    session.add(tech)
    _set_skills(session, tech, skills)
    _set_shifts(session, tech, shifts)
    return tech


def update_technician(session: Session, tech: Technician, data: dict[str, Any],
                      actor: Actor) -> Technician:
    changes = dict(data)
    skills = changes.pop("skills", None)
    shifts = changes.pop("shifts", None)
    values = {key: getattr(tech, key) for key in _FIELDS} | changes
    _check_breaks(values)
    if skills is not None:
        _check_skill_ids(session, skills)
    if "code" in changes:
        ensure_unique(session, Technician.code, changes["code"], field="code",
                      label="technician", exclude_id=tech.id)
    if "van_warehouse_id" in changes:
        if changes["van_warehouse_id"] is None:
            raise InvalidInput({"van_warehouse_id": ["A technician always has a van."]})
        _check_van(session, changes["van_warehouse_id"], tech.id)
    for key, value in changes.items():
        setattr(tech, key, value)
    if skills is not None:
        _set_skills(session, tech, skills)
    if shifts is not None:
        _set_shifts(session, tech, shifts)
    return tech


def delete_technician(session: Session, tech: Technician, actor: Actor) -> None:
    """Remove a technician never assigned work; their van warehouse stays (it may hold stock)."""
    refuse_if_referenced(session, "technician", tech.id, [
        ("work orders", WorkOrder.technician_id),
        ("user accounts", User.technician_id),
    ])
    session.delete(tech)


# --- absences and certifications ------------------------------------------------------------


def absences_query(tech: Technician):
    return (select(Absence).where(Absence.technician_id == tech.id)
            .order_by(Absence.starts_at, Absence.id))


def add_absence(session: Session, tech: Technician, data: dict[str, Any],
                actor: Actor) -> Absence:
    overlapping = session.scalar(
        select(Absence).where(Absence.technician_id == tech.id,
                              Absence.starts_at < data["ends_at"],
                              Absence.ends_at > data["starts_at"])
        .order_by(Absence.starts_at).limit(1)
    )
    if overlapping is not None:
        raise Conflict(
            f"Overlaps absence {overlapping.id} of this technician "
            f"({overlapping.starts_at.isoformat()} – {overlapping.ends_at.isoformat()}).",
            overlapping_absence_id=overlapping.id,
        )
    absence = Absence(technician_id=tech.id, **data)
    session.add(absence)
    return absence


def remove_absence(session: Session, tech: Technician, absence_id: int, actor: Actor) -> None:
    absence = session.get(Absence, absence_id)
    if absence is None or absence.technician_id != tech.id:
        raise NotFound(f"Technician {tech.id} has no absence with id {absence_id}.")
    session.delete(absence)


def certifications_query(tech: Technician):
    return (select(Certification).where(Certification.technician_id == tech.id)
            .order_by(Certification.expires_on.is_(None), Certification.expires_on,
                      Certification.id))


def add_certification(session: Session, tech: Technician, data: dict[str, Any],
                      actor: Actor) -> Certification:
    cert = Certification(technician_id=tech.id, **data)
    session.add(cert)
    return cert


def remove_certification(session: Session, tech: Technician, cert_id: int,
                         actor: Actor) -> None:
    cert = session.get(Certification, cert_id)
    if cert is None or cert.technician_id != tech.id:
        raise NotFound(f"Technician {tech.id} has no certification with id {cert_id}.")
    session.delete(cert)
