"""Passwords (argon2), opaque device tokens (stored as SHA-256), study roles."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from fieldscope.auth.models import DeviceToken, Membership, Role, SetupToken, User
from fieldscope.common.models import utcnow
from fieldscope.errors import AppError, forbidden, not_found
from fieldscope.settings import get_settings

_hasher = PasswordHasher()
# Verified against when the email is unknown, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    minimum = get_settings().password_min_length
    if len(password) < minimum:
        raise AppError(
            422,
            "weak_password",
            f"Passwords need at least {minimum} characters.",
            errors=[{"field": "password", "message": f"at least {minimum} characters"}],
        )


def create_user(
    session: Session, email: str, password: str, display_name: str = "", *, admin: bool = False
) -> User:
    email = normalise_email(email)
    check_password_strength(password)
    if session.exec(select(User).where(User.email == email)).first():
        raise AppError(409, "email_taken", f"A user with email {email} already exists.")
    user = User(
        email=email,
        display_name=display_name or email.split("@")[0],
        password_hash=hash_password(password),
        is_admin=admin,
    )
    session.add(user)
    session.flush()
    return user


def authenticate_password(session: Session, email: str, password: str) -> User:
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        verify_password(_DUMMY_HASH, password)
    if user is None or not verify_password(user.password_hash, password) or not user.is_active:
        raise AppError(401, "bad_credentials", "That email and password do not match.")
    return user


def issue_token(session: Session, user: User, device_label: str = "") -> tuple[str, DeviceToken]:
    token = "fs_" + secrets.token_urlsafe(32)
    now = utcnow()
    row = DeviceToken(
        user_id=user.id,
        token_hash=sha256(token),
        device_label=device_label,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=get_settings().token_ttl_days),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_token(session: Session, token: str) -> tuple[User, DeviceToken]:
    """The user behind a live bearer token (see `touch_token` for the sliding expiry)."""
    unauthorised = AppError(
        401,
        "invalid_token",
        "Your sign-in has ended; please sign in again.",
        headers={"WWW-Authenticate": "Bearer"},
    )
    # One query for both rows: every authenticated request starts here.
    found = session.exec(
        select(DeviceToken, User)
        .join(User, col(User.id) == DeviceToken.user_id)
        .where(DeviceToken.token_hash == sha256(token))
    ).first()
    if found is None:
        raise unauthorised
    row, user = found
    if row.revoked_at is not None or row.expires_at <= utcnow() or not user.is_active:
        raise unauthorised
    return user, row


def needs_touch(row: DeviceToken) -> bool:
    """Slide expiry at most once a minute: a busy device should not write on every request."""
    return (utcnow() - row.last_used_at) > timedelta(minutes=1)


def touch_token(session: Session, token_id: uuid.UUID) -> None:
    row = session.get(DeviceToken, token_id)
    if row is not None and row.revoked_at is None:
        now = utcnow()
        row.last_used_at = now
        row.expires_at = now + timedelta(days=get_settings().token_ttl_days)
        session.add(row)


def revoke_token(session: Session, user: User, token_id: uuid.UUID) -> DeviceToken:
    row = session.get(DeviceToken, token_id)
    if row is None or (row.user_id != user.id and not user.is_admin):
        raise not_found("Device token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row


def membership(session: Session, user: User, study_id: uuid.UUID) -> Membership | None:
    return session.exec(
        select(Membership).where(Membership.user_id == user.id, Membership.study_id == study_id)
    ).first()


def require_role(session: Session, user: User, study_id: uuid.UUID, *roles: Role) -> Role | None:
    """Allow members with one of `roles` (any member if none given); admins always.

    Outsiders get 404, not 403, so a study's existence does not leak. Returns the role
    (None for an admin without membership).
    """
    member = membership(session, user, study_id)
    if member is None:
        if user.is_admin:
            return None
        raise not_found("Study")
    if roles and member.role not in roles:
        allowed = " or ".join(r.value.upper() if r is Role.pi else r.value for r in roles)
        raise forbidden(f"Only a {allowed} of this study can do this.")
    return member.role


def new_setup_token(session: Session) -> str:
    token = secrets.token_urlsafe(24)
    session.add(SetupToken(token_hash=sha256(token)))
    session.flush()
    return token


def use_setup_token(session: Session, token: str) -> None:
    row = session.exec(select(SetupToken).where(SetupToken.token_hash == sha256(token))).first()
    if row is None or row.used_at is not None:
        raise AppError(403, "invalid_setup_token", "This setup link is invalid or already used.")
    if session.exec(select(User).where(User.is_admin)).first() is not None:
        raise AppError(409, "already_set_up", "An administrator already exists.")
    row.used_at = utcnow()
    session.add(row)
