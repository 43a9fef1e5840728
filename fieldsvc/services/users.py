"""User accounts and password hashing (argon2id)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.models import Technician, User
from fieldsvc.models.enums import Role
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.recall.models import Dealership

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
    email: str | None = None,
    agent_skills: str | None = None,
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
        email=email,
        agent_skills=agent_skills,
    )
    session.add(user)
    session.flush()
    return user


def create_or_reset_user(session: Session, *, username: str, password: str, role: str,
                         **details) -> tuple[User, int | None]:
    """`fieldsvc create-user`: create the account, or give an existing one of the same role
    a new password; (user, None) when created, else (user, tokens and sessions ended).

    The operator's way back into an account whose password is lost; another role is
    refused, so a typo cannot turn someone else's account into an admin's.
    """
    existing = session.scalar(select(User).where(User.username == username)) \
        if username else None
    if existing is None:
        return create_user(session, username=username, password=password, role=role,
                           **details), None
    if existing.role.value != role:
        raise Conflict(f"The user '{username}' exists with the role {existing.role.value}; "
                       "give that role to set a new password.")
    return existing, change_password(session, existing, password)


# Account administration (REST /api/v1/users) ---------------------------------------------

_LINKS = {Role.TECHNICIAN: "technician_id", Role.DEALERSHIP: "dealership_id"}


def register_user(session: Session, data: dict, actor) -> User:
    """Create an account from validated API input (the create hook of /users)."""
    _check_unique_technician(session, data.get("technician_id"))
    return create_user(
        session,
        username=data["username"],
        password=data["password"],
        role=data["role"].value if isinstance(data["role"], Role) else data["role"],
        technician_id=data.get("technician_id"),
        dealership_id=data.get("dealership_id"),
        full_name=data.get("full_name"),
        email=data.get("email"),
        agent_skills=data.get("agent_skills"),
    )


def _check_unique_technician(session: Session, technician_id: int | None,
                             user_id: int | None = None) -> None:
    if technician_id is None:
        return
    other = select(User.id).where(User.technician_id == technician_id)
    if user_id is not None:
        other = other.where(User.id != user_id)
    if session.scalar(other) is not None:
        raise Conflict(f"Technician {technician_id} already has a user account.")


def update_user(session: Session, user: User, data: dict, actor) -> User:
    """Change an account; a role change drops links the new role cannot have."""
    role = data.get("role", user.role)
    links = {key: data.get(key, getattr(user, key)) for key in _LINKS.values()}
    errors: dict[str, list[str]] = {}
    for link_role, key in _LINKS.items():
        if role is link_role:
            if links[key] is None:
                errors[key] = [f"A {link_role.value} user needs an existing {key[:-3]} id."]
        elif key in data and data[key] is not None:
            errors[key] = [f"Only {link_role.value} users link to a {key[:-3]}."]
        else:
            links[key] = None
    if errors:
        raise InvalidInput(errors)
    _check_unique_technician(session, links["technician_id"], user.id)
    if actor is not None and actor.id == user.id:
        if data.get("active") is False:
            raise Conflict("You cannot deactivate your own account.")
        if "role" in data and role is not user.role and user.role is Role.ADMIN:
            raise Conflict("You cannot take the admin role from yourself.")
    for key in ("full_name", "email", "agent_skills", "active"):
        if key in data:
            setattr(user, key, data[key])
    user.role = role
    for key, value in links.items():
        setattr(user, key, value)
    if "password" in data:  # flushes the other changes with it: one audit entry
        keep = actor.token_id if actor is not None and actor.id == user.id \
            and data.get("keep_signed_in") else None
        change_password(session, user, data["password"], keep_token_id=keep)
    else:
        session.flush()
    return user


def change_password(session: Session, user: User, password: str,
                    keep_token_id: int | None = None) -> int:
    """Set a new password and end every token and console session issued before it, but
    `keep_token_id` (the caller's own, when it asks to stay signed in); the number ended.

    Whoever knew the old password (or holds a token got with it) is out once it changes.
    """
    # Imported here: fieldsvc.auth.tokens reaches this module through fieldsvc.auth.login.
    from fieldsvc.auth.tokens import revoke_all

    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput({"password": [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return revoke_all(session, user.id, keep_token_id)


def has_history(session: Session, user: User) -> bool:
    """Whether any row anywhere refers to this user (audit entries, calls, runs, tokens…)."""
    from sqlalchemy import literal

    from fieldsvc.models import Base

    for table in Base.metadata.sorted_tables:
        if table.name == User.__tablename__:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name != User.__tablename__:
                continue
            found = session.execute(
                select(literal(1)).select_from(table).where(fk.parent == user.id).limit(1)
            ).first()
            if found is not None:
                return True
    return False


def delete_user(session: Session, user: User, actor) -> None:
    """Delete an account nobody refers to; deactivate one with history instead."""
    if actor is not None and actor.id == user.id:
        raise Conflict("You cannot delete your own account.")
    if has_history(session, user):
        user.active = False
        return
    session.delete(user)
