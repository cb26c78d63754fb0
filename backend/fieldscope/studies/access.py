"""Study-scoped access and write helpers every domain uses.

`authorise` is the one rule: a missing or deleted study and a non-member are both 404 (a
study's existence does not leak), a member with the wrong role is 403 saying who can do
it, and an instance admin passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from fieldscope.auth.models import Role, User
from fieldscope.auth.service import membership
from fieldscope.common.models import Record
from fieldscope.errors import conflict, forbidden, invalid, not_found
from fieldscope.studies.models import Study


def who(roles: Iterable[Role]) -> str:
    names = ["PI" if r is Role.pi else r.value for r in roles]
    return "a " + " or ".join(names)


def live_study(session: Session, study_id: uuid.UUID) -> Study:
    study = session.get(Study, study_id)
    if study is None or study.deleted_at is not None:
        raise not_found("Study")
    return study


def member_role(
    session: Session, user: User, study_id: uuid.UUID, roles: tuple[Role, ...], action: str
) -> Role | None:
    """The user's role in the study if it is one of `roles` (any if empty); None = admin."""
    member = membership(session, user, study_id)
    if member is None:
        if user.is_admin:
            return None
        raise not_found("Study")
    if roles and member.role not in roles:
        raise forbidden(f"Only {who(roles)} of this study can {action}.")
    return member.role


def authorise(
    session: Session, user: User, study_id: uuid.UUID, *roles: Role, action: str = "do this"
) -> Role | None:
    live_study(session, study_id)
    return member_role(session, user, study_id, roles, action)


def is_pi(role: Role | None) -> bool:
    """PIs and instance admins (role None) manage a study."""
    return role is Role.pi or role is None


def is_deleting(changed: dict[str, tuple[object, object]], record: Record) -> bool:
    return "deleted_at" in changed and record.deleted_at is not None


def refuse_from_device(session: Session, what: str) -> None:
    if session.info.get("via") == "sync":
        raise forbidden(f"{what} are managed on the server by a PI; devices only read them.")


def immutable(changed: dict[str, tuple[object, object]], *names: str) -> None:
    for name in names:
        if name in changed:
            raise invalid(f"{name} cannot change once the record exists.", name, "immutable")


def flush_unique(session: Session, detail: str, code: str) -> None:
    """Flush, turning a unique-constraint race into the same 409 a pre-check gives."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict(detail, code) from exc
