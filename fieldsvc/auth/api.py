"""/api/v1/auth: token, refresh, revoke, password, me; and POST /api/v1/customers/{id}/erase."""

from __future__ import annotations

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import fields, validate

from fieldsvc.auth import tokens
from fieldsvc.auth.login import BadCredentials, authenticate, check_password
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import AuthToken, User
from fieldsvc.problems import InvalidInput
from fieldsvc.schemas.common import StrictSchema
from fieldsvc.schemas.users import Password
from fieldsvc.services.erasure import erase_customer
from fieldsvc.services.users import change_password
from fieldsvc.storage import storage_for

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRequestSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             load_only=True)


class TokenSchema(StrictSchema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})


class PasswordChangeSchema(StrictSchema):
    current_password = fields.String(required=True, load_only=True,
                                     validate=validate.Length(min=1, max=1024))
    new_password = Password(required=True)
    keep_signed_in = fields.Boolean(load_default=True, metadata={"description": (
        "Keep the token making this request; every other token and console session of "
        "the account ends either way.")})


class PasswordChangedSchema(StrictSchema):
    sessions_ended = fields.Integer(metadata={
        "description": "API tokens and console sessions revoked"})


class MeSchema(StrictSchema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String(allow_none=True)
    role = fields.String()
    technician_id = fields.Integer(allow_none=True)
    dealership_id = fields.Integer(allow_none=True)
    token_expires_at = fields.AwareDateTime()


class ErasureSchema(StrictSchema):
    customer_id = fields.Integer()
    erased_at = fields.AwareDateTime()
    first_time = fields.Boolean(metadata={"description": "false when it had been erased"})
    sites = fields.Integer()
    tickets = fields.Integer()
    interactions = fields.Integer()
    attachments = fields.Integer(metadata={"description": "signatures and photos removed"})
    files_deleted = fields.Integer()
    audit_entries_scrubbed = fields.Integer()


def _caller() -> tuple[AuthToken, User]:
    """The token of this request and its user, as ORM objects (the gate keeps only ids)."""
    token = db.session.get(AuthToken, g.auth_token_id)
    return token, db.session.get(User, g.auth_user_id)


auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth",
                     description="API tokens: issue, refresh, revoke")


def _token_answer(raw: str):
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    return {"access_token": raw, "token_type": "Bearer", "expires_in": ttl}, 200, NO_STORE


@auth_blp.route("/token", methods=["POST"])  # rate-limited in limits.limit_login
@auth_blp.arguments(TokenRequestSchema)
@auth_blp.response(200, TokenSchema)
@auth_blp.doc(summary="Issue a bearer token for a username and password", security=[])
def issue_token(data):
    user = authenticate(db.session, data["username"], data["password"], "api")
    raw, _ = tokens.issue(db.session, user, current_app.config["TOKEN_TTL_SECONDS"])
    return _token_answer(raw)


@auth_blp.route("/refresh", methods=["POST"])
@auth_blp.response(200, TokenSchema)
@auth_blp.doc(summary="Exchange a valid token for a new one (the old one is revoked)")
def refresh_token():
    token, user = _caller()
    tokens.revoke(db.session, token)
    raw, _ = tokens.issue(db.session, user, current_app.config["TOKEN_TTL_SECONDS"])
    return _token_answer(raw)


@auth_blp.route("/revoke", methods=["POST"])
@auth_blp.response(204)
@auth_blp.doc(summary="Revoke the token sent with this request")
def revoke_token():
    tokens.revoke(db.session, _caller()[0])


@auth_blp.route("/password", methods=["POST"])
@auth_blp.arguments(PasswordChangeSchema)
@auth_blp.response(200, PasswordChangedSchema)
@auth_blp.doc(summary="Change your own password; ends your other tokens and sessions")
def change_own_password(data):
    token, user = _caller()
    try:
        # The current password is checked under the login lockout: a stolen token gives
        # no more guesses at it than the sign-in form does.
        check_password(db.session, user.username, data["current_password"], "api",
                       action="password-check")
    except BadCredentials:
        raise InvalidInput({"current_password": ["Wrong password, or the account is "
                                                 "locked after too many wrong ones."]},
                           detail="The current password is wrong.") from None
    user = db.session.get(User, user.id)
    keep = token.id if data["keep_signed_in"] else None
    ended = change_password(db.session, user, data["new_password"], keep_token_id=keep)
    return {"sessions_ended": ended}


@auth_blp.route("/me", methods=["GET"])
@auth_blp.response(200, MeSchema)
@auth_blp.doc(summary="Who this token belongs to")
def me():
    token, user = _caller()
    return {"id": user.id, "username": user.username, "full_name": user.full_name,
            "role": user.role.value, "technician_id": user.technician_id,
            "dealership_id": user.dealership_id, "token_expires_at": token.expires_at}


erasure_blp = Blueprint("customer-erasure", __name__, url_prefix="/api/v1/customers",
                        description="Erasure of a customer's personal data (admin only)")


@erasure_blp.route("/<int:ident>/erase", methods=["POST"])
@erasure_blp.response(200, ErasureSchema)
@erasure_blp.doc(summary="Irreversibly anonymize a customer's personal data")
def erase(ident: int):
    return erase_customer(db.session, ident, current_actor(),
                          storage=storage_for(current_app))
