"""/api/v1/audit-log: who changed what and when (read-only)."""

from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models import AuditEntry
from fieldsvc.schemas.audit import AuditEntrySchema
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.pm_plans import Instant
from fieldsvc.services import audit as service


class AuditListArgs(ListArgs):
    entity_type = fields.String(validate=validate.Length(min=1, max=60),
                                metadata={"description": "Table name, e.g. customer"})
    entity_id = fields.String(validate=validate.Length(min=1, max=40))
    actor_id = fields.Integer(validate=validate.Range(min=1))
    action = fields.String(validate=validate.Length(min=1, max=40),
                           metadata={"description": "create, update, delete, ..."})
    at_from = Instant(data_key="from")
    at_to = Instant(data_key="to")

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("at_from") and data.get("at_to") and data["at_from"] > data["at_to"]:
            raise ValidationError("'from' must not be after 'to'.", "from")


audit_blp = Blueprint("audit_log", __name__, url_prefix=f"{API_PREFIX}/audit-log",
                      description="Audit trail of every write")
register_crud(
    audit_blp,
    Resource(
        name="audit-log",
        model=AuditEntry,
        schema=AuditEntrySchema,
        list_args=AuditListArgs,
        filters={"entity_type": service.entity_type, "entity_id": AuditEntry.entity_id,
                 "actor_id": AuditEntry.actor_id, "action": AuditEntry.action,
                 "at_from": service.since, "at_to": service.until},
        sortable={"id": AuditEntry.id, "at": AuditEntry.at},
        default_sort=(AuditEntry.id.desc(),),
        actions=frozenset({"list", "get"}),
        label="audit entry",
    ),
)

blueprints = [audit_blp]
