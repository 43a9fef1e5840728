"""User accounts and password hashing (argon2id)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.errors import Conflict, InvalidInput
from fieldsvc.models import Dealership, Technician, User
from fieldsvc.models.enums import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    technician_id: int | None = None,
    dealership_id: int | None = None,
    full_name: str | None = None,
) -> User:
    """Create a user, checking the role's links; raise a 4xx Problem on bad input."""
    errors: dict[str, list[str]] = {}
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = [f"Unknown role. One of: {', '.join(r.value for r in Role)}."]
        role_value = None
    if not username or len(username) > 80:
        errors["username"] = ["Give a username of 1 to 80 characters."]
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if role_value is Role.TECHNICIAN:
        if technician_id is None or session.get(Technician, technician_id) is None:
            errors["technician_id"] = ["A technician user needs an existing technician id."]
    elif technician_id is not None:
        errors["technician_id"] = ["Only technician users link to a technician."]
    if role_value is Role.DEALERSHIP:
        if dealership_id is None or session.get(Dealership, dealership_id) is None:
            errors["dealership_id"] = ["A dealership user needs an existing dealership id."]
    elif dealership_id is not None:
        errors["dealership_id"] = ["Only dealership users link to a dealership."]
    if errors:
        raise InvalidInput(errors)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"The username '{username}' is taken.")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role_value,
        technician_id=technician_id,
        dealership_id=dealership_id,
        full_name=full_name,
    )
    session.add(user)
    session.flush()
    return user
