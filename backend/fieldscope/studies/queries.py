from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_
from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from fieldscope.auth.models import Membership, User
from fieldscope.studies.models import Site, Study


def studies_visible_to(user: User) -> Select[Any]:
    """(Study, role) rows: the user's studies; every live study for an admin."""
    join = and_(col(Membership.study_id) == col(Study.id), col(Membership.user_id) == user.id)
    stmt: Any = select(Study, col(Membership.role))
    stmt = stmt.outerjoin(Membership, join) if user.is_admin else stmt.join(Membership, join)
    ordered: Select[Any] = stmt.where(col(Study.deleted_at).is_(None)).order_by(
        col(Study.name), col(Study.id)
    )
    return ordered


def sites_of(session: Session, study_id: uuid.UUID) -> list[Site]:
    return list(
        session.exec(
            select(Site)
            .where(Site.study_id == study_id, col(Site.deleted_at).is_(None))
            .order_by(col(Site.code))
        ).all()
    )
