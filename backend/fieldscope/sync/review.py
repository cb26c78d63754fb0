"""PIs review sync conflicts: keep the current value, or restore the one that lost."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, func, select

from fieldscope.auth.models import Role, User
from fieldscope.auth.service import require_role
from fieldscope.changes import set_actor
from fieldscope.common.models import Record, utcnow
from fieldscope.common.pagination import PageParams, fetch_page
from fieldscope.errors import AppError, not_found
from fieldscope.registry import specs
from fieldscope.sync.models import SyncConflict
from fieldscope.sync.schemas import ConflictOut, ConflictPage


def list_conflicts(
    session: Session,
    user: User,
    study_id: uuid.UUID,
    paging: PageParams,
    *,
    unresolved: bool | None,
    entity: str | None,
    record_id: uuid.UUID | None,
) -> ConflictPage:
    require_role(session, user, study_id, Role.pi)
    stmt = select(SyncConflict).where(SyncConflict.study_id == study_id)
    if unresolved is not None:
        resolved_at = col(SyncConflict.resolved_at)
        stmt = stmt.where(resolved_at.is_(None) if unresolved else resolved_at.is_not(None))
    if entity is not None:
        stmt = stmt.where(SyncConflict.entity == entity)
    if record_id is not None:
        stmt = stmt.where(SyncConflict.record_id == record_id)
    stmt = stmt.order_by(col(SyncConflict.created_at), col(SyncConflict.id))
    items, total = fetch_page(session, stmt, paging)
    return ConflictPage(
        items=[ConflictOut.model_validate(c, from_attributes=True) for c in items],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


def resolve_conflict(
    session: Session, user: User, study_id: uuid.UUID, conflict_id: uuid.UUID, resolution: str
) -> ConflictOut:
    require_role(session, user, study_id, Role.pi)
    conflict = session.get(SyncConflict, conflict_id)
    if conflict is None or conflict.study_id != study_id:
        raise not_found("Conflict")
    if conflict.resolved_at is not None:
        raise AppError(
            409,
            "already_resolved",
            f"This conflict was already resolved ({conflict.resolution}).",
        )
    spec = specs().get(conflict.entity)
    record = session.get(spec.model, conflict.record_id) if spec is not None else None
    if spec is None or record is None:
        raise not_found("The record of this conflict")
    set_actor(session, user.id, via="api")
    if resolution == "restore_losing":
        _restore(conflict, record)
    conflict.resolved_at = utcnow()
    conflict.resolved_by = user.id
    conflict.resolution = resolution
    session.add(conflict)
    _clear_review_flag(session, conflict, record)
    if resolution == "restore_losing":
        # The restore is a normal change: the entity's own check authorises and validates it.
        spec.check(session, record, user, False)
    session.add(record)
    session.flush()
    return ConflictOut.model_validate(conflict, from_attributes=True)


def _restore(conflict: SyncConflict, record: Record) -> None:
    value = conflict.losing_value
    if conflict.field == "deleted_at":
        record.deleted_at = datetime.fromisoformat(value) if isinstance(value, str) else None
    else:
        setattr(record, conflict.field, value)


def _clear_review_flag(session: Session, conflict: SyncConflict, record: Record) -> None:
    if "needs_review" not in type(record).model_fields:
        return
    with session.no_autoflush:
        open_left = session.exec(
            select(func.count())
            .select_from(SyncConflict)
            .where(
                SyncConflict.record_id == conflict.record_id,
                SyncConflict.entity == conflict.entity,
                col(SyncConflict.resolved_at).is_(None),
                SyncConflict.id != conflict.id,
            )
        ).one()
    if not open_left:
        record.needs_review = False
