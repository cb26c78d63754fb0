from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlmodel import Session, col, select

from fieldscope.auth.deps import CurrentDevice, CurrentUser
from fieldscope.auth.models import DeviceToken, Membership, Role, User
from fieldscope.auth.schemas import (
    DeviceTokenOut,
    LoginRequest,
    MemberCreate,
    MemberOut,
    MembershipOut,
    MeOut,
    SetupRequest,
    TokenOut,
    UserCreate,
    UserOut,
)
from fieldscope.auth.service import (
    authenticate_password,
    create_user,
    issue_token,
    normalise_email,
    require_role,
    revoke_token,
    use_setup_token,
)
from fieldscope.db import SessionDep
from fieldscope.errors import AppError, forbidden, not_found

router = APIRouter(tags=["auth"])


def _me(session: Session, user: User) -> MeOut:
    rows = session.exec(select(Membership).where(Membership.user_id == user.id)).all()
    return MeOut(
        **UserOut.model_validate(user).model_dump(),
        memberships=[MembershipOut.model_validate(m) for m in rows],
    )


def _token_out(session: Session, user: User, label: str) -> TokenOut:
    token, row = issue_token(session, user, label)
    return TokenOut(
        token=token, token_id=row.id, expires_at=row.expires_at, user=_me(session, user)
    )


@router.post("/auth/login", response_model=TokenOut)
def login(body: LoginRequest, session: SessionDep) -> TokenOut:
    """Sign in with email and password; returns a bearer token for this device."""
    user = authenticate_password(session, body.email, body.password)
    return _token_out(session, user, body.device_label)


@router.post("/auth/setup", response_model=TokenOut, status_code=status.HTTP_201_CREATED)
def setup(body: SetupRequest, session: SessionDep) -> TokenOut:
    """Create the first administrator with the one-time link printed by `fieldscope serve`."""
    use_setup_token(session, body.setup_token)
    user = create_user(session, body.email, body.password, body.display_name, admin=True)
    return _token_out(session, user, "setup")


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(device: CurrentDevice, session: SessionDep) -> None:
    """Revoke the token this request was made with."""
    user, token = device
    revoke_token(session, user, token.id)


@router.get("/auth/me", response_model=MeOut)
def read_me(user: CurrentUser, session: SessionDep) -> MeOut:
    return _me(session, user)


@router.get("/auth/tokens", response_model=list[DeviceTokenOut])
def list_device_tokens(device: CurrentDevice, session: SessionDep) -> list[DeviceTokenOut]:
    """The devices signed in as you; revoke a lost tablet from here."""
    user, current = device
    rows = session.exec(
        select(DeviceToken)
        .where(DeviceToken.user_id == user.id)
        .order_by(col(DeviceToken.created_at))
    ).all()
    return [
        DeviceTokenOut.model_validate(r).model_copy(update={"current": r.id == current.id})
        for r in rows
    ]


@router.delete("/auth/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_device_token(token_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    revoke_token(session, user, token_id)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_account(body: UserCreate, user: CurrentUser, session: SessionDep) -> User:
    """Instance administrators create accounts."""
    if not user.is_admin:
        raise forbidden("Only an administrator can create accounts.")
    return create_user(session, body.email, body.password, body.display_name, admin=body.is_admin)


@router.get("/studies/{study_id}/members", response_model=list[MemberOut])
def list_members(study_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> list[MemberOut]:
    require_role(session, user, study_id, Role.pi)
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.study_id == study_id)
        .order_by(User.email)
    ).all()
    return [
        MemberOut(
            id=m.id,
            user_id=u.id,
            study_id=m.study_id,
            role=m.role,
            email=u.email,
            display_name=u.display_name,
        )
        for m, u in rows
    ]


@router.post(
    "/studies/{study_id}/members", response_model=MemberOut, status_code=status.HTTP_201_CREATED
)
def add_member(
    study_id: uuid.UUID, body: MemberCreate, user: CurrentUser, session: SessionDep
) -> MemberOut:
    """A PI gives an existing account a role in the study (or changes it)."""
    require_role(session, user, study_id, Role.pi)
    target = session.exec(select(User).where(User.email == normalise_email(body.email))).first()
    if target is None:
        raise AppError(
            404, "not_found", f"No account uses {body.email}; ask an admin to create it."
        )
    row = session.exec(
        select(Membership).where(Membership.user_id == target.id, Membership.study_id == study_id)
    ).first()
    if row is None:
        row = Membership(user_id=target.id, study_id=study_id, role=body.role)
    else:
        row.role = body.role
    session.add(row)
    session.flush()
    return MemberOut(
        id=row.id,
        user_id=target.id,
        study_id=study_id,
        role=row.role,
        email=target.email,
        display_name=target.display_name,
    )


@router.delete("/studies/{study_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(
    study_id: uuid.UUID, member_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> None:
    require_role(session, user, study_id, Role.pi)
    row = session.get(Membership, member_id)
    if row is None or row.study_id != study_id:
        raise not_found("Member")
    if row.user_id == user.id:
        raise AppError(409, "last_pi", "You cannot remove yourself; ask another PI.")
    session.delete(row)
