from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.sql import Select
from sqlmodel import col, select

from fieldscope.audit.models import AuditEvent
from fieldscope.auth.models import User


def audit_query(
    study_id: uuid.UUID,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
) -> Select[Any]:
    """(AuditEvent, actor email) rows of a study, newest first."""
    stmt: Any = (
        select(AuditEvent, col(User.email))
        .outerjoin(User, col(User.id) == col(AuditEvent.actor_id))
        .where(AuditEvent.study_id == study_id)
    )
    if entity is not None:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    ordered: Select[Any] = stmt.order_by(col(AuditEvent.id).desc())
    return ordered
