"""/api/v1/users: accounts of every role."""

from flask_smorest import Blueprint
from marshmallow import fields, validate

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models import User
from fieldsvc.models.enums import Role
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.users import UserInputSchema, UserPatchSchema, UserSchema
from fieldsvc.services import users as service


class UserListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in username, name and email"})
    role = fields.Enum(Role, by_value=True)
    active = fields.Boolean()
    technician_id = fields.Integer(validate=validate.Range(min=1))
    dealership_id = fields.Integer(validate=validate.Range(min=1))


users_blp = Blueprint("users", __name__, url_prefix=f"{API_PREFIX}/users",
                      description="User accounts")
register_crud(
    users_blp,
    Resource(
        name="users",
        model=User,
        schema=UserSchema,
        create_schema=UserInputSchema,
        update_schema=UserPatchSchema,
        list_args=UserListArgs,
        filters={"role": User.role, "active": User.active,
                 "technician_id": User.technician_id, "dealership_id": User.dealership_id},
        sortable={"id": User.id, "username": User.username, "full_name": User.full_name,
                  "created_at": User.created_at, "last_login_at": User.last_login_at},
        default_sort=(User.username,),
        search=(User.username, User.full_name, User.email),
        create=service.register_user,
        update=service.update_user,
        delete=service.delete_user,
        label="user",
    ),
)

blueprints = [users_blp]
