"""User accounts: the password is write-only and its hash is never shown."""

from __future__ import annotations

from marshmallow import fields, validate

from fieldsvc.models import Technician
from fieldsvc.models.enums import Role
from fieldsvc.recall.models import Dealership
from fieldsvc.schemas.common import Ref, StrictBoolean, StrictSchema, Text
from fieldsvc.services.users import MIN_PASSWORD_LENGTH

USERNAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$",
                           error="Use letters, digits and _ . @ - only.")
# argon2 copes with long input, but nobody types a megabyte; refuse before hashing.
MAX_PASSWORD_LENGTH = 256


def Password(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(load_only=True, validate=validate.Length(
        min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH), **kwargs)


class UserInputSchema(StrictSchema):
    username = fields.String(required=True, validate=[validate.Length(min=1, max=80), USERNAME])
    password = Password(required=True)
    role = fields.Enum(Role, by_value=True, required=True)
    full_name = Text(200, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    technician_id = Ref(Technician, allow_none=True,
                        metadata={"description": "Required for role technician"})
    dealership_id = Ref(Dealership, allow_none=True,
                        metadata={"description": "Required for role dealership"})
    agent_skills = Text(400, allow_none=True,
                        metadata={"description": "Comma-separated skill codes (agents)"})


class UserPatchSchema(StrictSchema):
    """What can change on an account; the username is permanent."""

    password = Password()
    role = fields.Enum(Role, by_value=True)
    full_name = Text(200, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    technician_id = Ref(Technician, allow_none=True)
    dealership_id = Ref(Dealership, allow_none=True)
    agent_skills = Text(400, allow_none=True)
    active = StrictBoolean()
    keep_signed_in = StrictBoolean(load_only=True, metadata={"description": (
        "With a new password for your own account: keep the token making this request. "
        "Every other token and console session of the account ends either way.")})


class UserSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    role = fields.Enum(Role, by_value=True, dump_only=True)
    full_name = fields.String(allow_none=True, dump_only=True)
    email = fields.String(allow_none=True, dump_only=True)
    technician_id = fields.Integer(allow_none=True, dump_only=True)
    dealership_id = fields.Integer(allow_none=True, dump_only=True)
    agent_skills = fields.String(allow_none=True, dump_only=True)
    active = StrictBoolean(dump_only=True)
    locked_until = fields.AwareDateTime(allow_none=True, dump_only=True)
    last_login_at = fields.AwareDateTime(allow_none=True, dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
