from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from fieldscope.audit.models import AuditEvent
from fieldscope.auth.models import User


def audit_query(
    study_id: uuid.UUID,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
) -> Select[Any]:
    """Audit events of a study, newest first."""
    stmt: Any = select(AuditEvent).where(AuditEvent.study_id == study_id)
    if entity is not None:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    ordered: Select[Any] = stmt.order_by(col(AuditEvent.id).desc())
    return ordered


def emails_of(session: Session, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    ids = {u for u in user_ids if u is not None}
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.email).where(col(User.id).in_(ids))).all()
    return dict(rows)
