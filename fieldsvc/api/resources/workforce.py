"""/api/v1/skills and /api/v1/technicians (with absences and certifications)."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, paginate, register_crud
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import Skill, Technician, TechnicianSkill
from fieldsvc.schemas.common import ListArgs, check_references, page_schema
from fieldsvc.schemas.workforce import (
    AbsenceSchema,
    CertificationSchema,
    SkillSchema,
    TechnicianSchema,
)
from fieldsvc.services import workforce as service


class SkillListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in code and name"})


skills_blp = Blueprint("skills", __name__, url_prefix=f"{API_PREFIX}/skills",
                       description="Skills technicians hold at a level 1–5")
register_crud(
    skills_blp,
    Resource(
        name="skills",
        model=Skill,
        schema=SkillSchema,
        list_args=SkillListArgs,
        sortable={"id": Skill.id, "code": Skill.code, "name": Skill.name},
        default_sort=(Skill.code,),
        search=(Skill.code, Skill.name),
        create=service.create_skill,
        update=service.update_skill,
        delete=service.delete_skill,
    ),
)


class TechnicianListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in code, name, email, phone"})
    territory = fields.String()
    active = fields.Boolean()
    skill = fields.String(metadata={"description": "Skill code the technician holds"})
    min_level = fields.Integer(validate=validate.Range(min=1, max=5),
                               metadata={"description": "With skill: at least this level"})

    @validates_schema
    def _level_needs_skill(self, data, **kwargs):
        if "min_level" in data and "skill" not in data:
            raise ValidationError("Give skill together with min_level.", "min_level")

    @post_load
    def _skill_with_level(self, data, **kwargs):
        # One filter reads both: min_level only means something with a skill.
        if "skill" in data:
            data["skill"] = (data["skill"].strip().lower(), data.pop("min_level", 1))
        return data


def _has_skill(stmt, skill):
    code, level = skill
    holders = (select(TechnicianSkill.technician_id)
               .join(Skill, Skill.id == TechnicianSkill.skill_id)
               .where(Skill.code == code, TechnicianSkill.level >= level))
    return stmt.where(Technician.id.in_(holders))


class SubListArgs(ListArgs):
    """Absences and certifications come in their natural order: no sort parameter."""

    class Meta(ListArgs.Meta):
        exclude = ("sort",)


technicians_blp = Blueprint("technicians", __name__, url_prefix=f"{API_PREFIX}/technicians",
                            description="Technicians: skills, shifts, absences, van")
technicians = Resource(
    name="technicians",
    model=Technician,
    schema=TechnicianSchema,
    list_args=TechnicianListArgs,
    filters={"territory": Technician.territory, "active": Technician.active,
             "skill": _has_skill},
    sortable={"id": Technician.id, "code": Technician.code, "name": Technician.name,
              "territory": Technician.territory},
    default_sort=(Technician.code,),
    search=(Technician.code, Technician.name, Technician.email, Technician.phone),
    options=(selectinload(Technician.skills).selectinload(TechnicianSkill.skill),
             selectinload(Technician.shifts)),
    create=service.create_technician,
    update=service.update_technician,
    delete=service.delete_technician,
)
register_crud(technicians_blp, technicians)


@technicians_blp.route("/<int:ident>/absences", endpoint="technicians_absences")
class TechnicianAbsences(MethodView):
    @technicians_blp.arguments(SubListArgs, location="query", unknown=RAISE)
    @technicians_blp.response(200, page_schema(AbsenceSchema))
    @technicians_blp.doc(summary="List a technician's absences")
    def get(self, args, ident):
        tech = get_or_404(technicians, ident)
        return paginate(service.absences_query(tech), args)

    @technicians_blp.arguments(AbsenceSchema)
    @technicians_blp.response(201, AbsenceSchema)
    @technicians_blp.doc(summary="Record an absence (must not overlap another)")
    def post(self, data, ident):
        tech = get_or_404(technicians, ident)
        absence = service.add_absence(db.session, tech, data, current_actor())
        db.session.flush()
        return absence


@technicians_blp.route("/<int:ident>/absences/<int:absence_id>",
                       endpoint="technicians_absence")
class TechnicianAbsence(MethodView):
    @technicians_blp.response(204)
    @technicians_blp.doc(summary="Remove an absence")
    def delete(self, ident, absence_id):
        tech = get_or_404(technicians, ident)
        service.remove_absence(db.session, tech, absence_id, current_actor())
        db.session.flush()


@technicians_blp.route("/<int:ident>/certifications", endpoint="technicians_certifications")
class TechnicianCertifications(MethodView):
    @technicians_blp.arguments(SubListArgs, location="query", unknown=RAISE)
    @technicians_blp.response(200, page_schema(CertificationSchema))
    @technicians_blp.doc(summary="List a technician's certifications")
    def get(self, args, ident):
        tech = get_or_404(technicians, ident)
        return paginate(service.certifications_query(tech), args)

    @technicians_blp.arguments(CertificationSchema)
    @technicians_blp.response(201, CertificationSchema)
    @technicians_blp.doc(summary="Record a certification")
    def post(self, data, ident):
        tech = get_or_404(technicians, ident)
        check_references(db.session, CertificationSchema(), data)
        cert = service.add_certification(db.session, tech, data, current_actor())
        db.session.flush()
        return cert


@technicians_blp.route("/<int:ident>/certifications/<int:cert_id>",
                       endpoint="technicians_certification")
class TechnicianCertification(MethodView):
    @technicians_blp.response(204)
    @technicians_blp.doc(summary="Remove a certification")
    def delete(self, ident, cert_id):
        tech = get_or_404(technicians, ident)
        service.remove_certification(db.session, tech, cert_id, current_actor())
        db.session.flush()


blueprints = [skills_blp, technicians_blp]
