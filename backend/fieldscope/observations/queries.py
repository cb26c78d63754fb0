"""Read queries of the observation API: filtered, paginated, index-backed.

Every list counts and pages with the same WHERE clause; the orderings match the composite
indexes in `models.py` so a page of a million-row table is an index range scan.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import FieldNote, Intervention, ObservationSession
from fieldscope.observations.schemas import InterventionFilters, SessionFilters

T = TypeVar("T", ObservationSession, Intervention, FieldNote)


def _page(
    db: Session,
    model: type[T],
    where: list[ColumnElement[bool]],
    order: Sequence[Any],
    limit: int,
    offset: int,
) -> tuple[list[T], int]:
    total = db.exec(select(func.count()).select_from(model).where(*where)).one()
    items = db.exec(select(model).where(*where).order_by(*order).limit(limit).offset(offset)).all()
    return list(items), int(total)


def list_sessions(
    db: Session, study_id: uuid.UUID, f: SessionFilters, only_observer: uuid.UUID | None
) -> tuple[list[ObservationSession], int]:
    s = ObservationSession
    where: list[ColumnElement[bool]] = [col(s.study_id) == study_id, col(s.deleted_at).is_(None)]
    if only_observer is not None:
        where.append(col(s.observer_id) == only_observer)
    if f.site_id is not None:
        where.append(col(s.site_id) == f.site_id)
    if f.meeting_id is not None:
        where.append(col(s.meeting_id) == f.meeting_id)
    if f.observer_id is not None:
        where.append(col(s.observer_id) == f.observer_id)
    if f.started_from is not None:
        where.append(col(s.started_at) >= f.started_from)
    if f.started_before is not None:
        where.append(col(s.started_at) < f.started_before)
    if f.ended is not None:
        where.append(col(s.ended_at).is_not(None) if f.ended else col(s.ended_at).is_(None))
    if f.retrospective is not None:
        where.append(col(s.retrospective).is_(f.retrospective))
    order = (col(s.started_at).desc(), col(s.id).desc())
    return _page(db, s, where, order, f.limit, f.offset)


def list_study_interventions(
    db: Session, study_id: uuid.UUID, f: InterventionFilters, only_observer: uuid.UUID | None
) -> tuple[list[Intervention], int]:
    i, s = Intervention, ObservationSession
    where: list[ColumnElement[bool]] = [col(i.deleted_at).is_(None)]
    if only_observer is not None:
        where.append(col(i.observer_id) == only_observer)
    for name in ("site_id", "participant_id", "session_id", "observer_id", "code_key"):
        value = getattr(f, name)
        if value is not None:
            where.append(col(getattr(i, name)) == value)
    if f.level is not None or f.started_from is not None or f.started_before is not None:
        # Session-level filters pick the (few) matching sessions first, then their
        # interventions through the session index, instead of joining a million rows.
        sessions = select(s.id).where(col(s.study_id) == study_id)
        if f.started_from is not None:
            sessions = sessions.where(col(s.started_at) >= f.started_from)
        if f.started_before is not None:
            sessions = sessions.where(col(s.started_at) < f.started_before)
        if f.level is not None:
            sessions = sessions.join(Meeting, col(Meeting.id) == col(s.meeting_id)).where(
                col(Meeting.level) == f.level
            )
        # The sessions are the study's, so their interventions are too (derived, immutable):
        # no study_id test, which would make the count read the rows, not just the index.
        where.append(col(i.session_id).in_(sessions))
    else:
        where.append(col(i.study_id) == study_id)
    order = (col(i.created_at), col(i.id))
    return _page(db, i, where, order, f.limit, f.offset)


def list_session_interventions(
    db: Session, session_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[Intervention], int]:
    i = Intervention
    where: list[ColumnElement[bool]] = [
        col(i.session_id) == session_id,
        col(i.deleted_at).is_(None),
    ]
    order = (col(i.offset_seconds), col(i.created_at), col(i.id))
    return _page(db, i, where, order, limit, offset)


def list_session_notes(
    db: Session, session_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[FieldNote], int]:
    n = FieldNote
    where: list[ColumnElement[bool]] = [
        col(n.session_id) == session_id,
        col(n.deleted_at).is_(None),
    ]
    # Notes without an offset (written around the meeting) come last, in creation order.
    order = (
        col(n.offset_seconds).is_(None),
        col(n.offset_seconds),
        col(n.created_at),
        col(n.id),
    )
    return _page(db, n, where, order, limit, offset)


def timeline(db: Session, session_id: uuid.UUID) -> list[Intervention | FieldNote]:
    """Interventions and notes by offset; ties (and notes without offset) by creation order."""
    interventions = db.exec(
        select(Intervention).where(
            Intervention.session_id == session_id, col(Intervention.deleted_at).is_(None)
        )
    ).all()
    notes = db.exec(
        select(FieldNote).where(
            FieldNote.session_id == session_id, col(FieldNote.deleted_at).is_(None)
        )
    ).all()
    items: list[Intervention | FieldNote] = [*interventions, *notes]

    def key(r: Intervention | FieldNote) -> tuple[bool, float, Any, str]:
        offset = r.offset_seconds
        return (offset is None, offset or 0.0, r.created_at, str(r.id))

    return sorted(items, key=key)
