"""Read queries behind the totals, in SQLAlchemy Core (no ORM objects: speed at 25k sessions).

The database does the bulk of the work: one GROUP BY per meeting, folded into site x level
cells. A meeting with exactly one ended session is "simple": its observed time is that
session's `duration_seconds`, summed in SQL. Only sessions of co-observed meetings (or of
the rare session without a stored duration) come back to Python for the interval union.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, case, func, select
from sqlmodel import Session, col

from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import ObservationSession as S
from fieldscope.participants.models import Participant


@dataclass(frozen=True)
class Cell:
    """Aggregates of one site x level."""

    site_id: uuid.UUID
    level: str
    meetings: int
    simple_seconds: float
    observer_seconds: float  # sessions whose duration is stored
    sessions: int
    co_observed: int
    open_sessions: int


@dataclass(frozen=True)
class SessionSpan:
    site_id: uuid.UUID
    level: str
    meeting_id: uuid.UUID
    started_at: datetime
    ended_at: datetime
    pauses: list[dict[str, Any]]
    duration_seconds: float | None


def _per_meeting(study_id: uuid.UUID) -> CTE:
    ended = col(S.ended_at).is_not(None)
    known = ended & col(S.duration_seconds).is_not(None)
    return (
        select(
            col(S.meeting_id).label("meeting_id"),
            func.sum(case((ended, 1), else_=0)).label("ended"),
            func.sum(case((ended, 0), else_=1)).label("open"),
            func.sum(case((known, col(S.duration_seconds)), else_=0.0)).label("seconds"),
            func.sum(case((ended & col(S.duration_seconds).is_(None), 1), else_=0)).label(
                "unknown"
            ),
        )
        .where(col(S.study_id) == study_id, col(S.deleted_at).is_(None))
        .group_by(col(S.meeting_id))
        .cte("per_meeting")
    )


def cells(session: Session, study_id: uuid.UUID) -> list[Cell]:
    pm = _per_meeting(study_id)
    simple = (pm.c.ended == 1) & (pm.c.unknown == 0)
    stmt = (
        select(
            col(Meeting.site_id),
            col(Meeting.level),
            func.sum(case((pm.c.ended > 0, 1), else_=0)),
            func.sum(case((simple, pm.c.seconds), else_=0.0)),
            func.sum(pm.c.seconds),
            func.sum(pm.c.ended),
            func.sum(case((pm.c.ended > 1, 1), else_=0)),
            func.sum(pm.c.open),
        )
        .join_from(pm, Meeting, col(Meeting.id) == pm.c.meeting_id)
        .where(col(Meeting.study_id) == study_id, col(Meeting.deleted_at).is_(None))
        .group_by(col(Meeting.site_id), col(Meeting.level))
    )
    return [
        Cell(
            site_id=r[0],
            level=str(r[1].value if hasattr(r[1], "value") else r[1]),
            meetings=int(r[2] or 0),
            simple_seconds=float(r[3] or 0),
            observer_seconds=float(r[4] or 0),
            sessions=int(r[5] or 0),
            co_observed=int(r[6] or 0),
            open_sessions=int(r[7] or 0),
        )
        for r in session.execute(stmt)
    ]


def spans_to_union(session: Session, study_id: uuid.UUID) -> list[SessionSpan]:
    """Ended sessions of meetings whose observed time is not a single stored duration."""
    pm = _per_meeting(study_id)
    needs_union = select(pm.c.meeting_id).where(
        pm.c.ended > 0, (pm.c.ended > 1) | (pm.c.unknown > 0)
    )
    stmt = (
        select(
            col(Meeting.site_id),
            col(Meeting.level),
            col(S.meeting_id),
            col(S.started_at),
            col(S.ended_at),
            col(S.pauses),
            col(S.duration_seconds),
        )
        .join(Meeting, col(Meeting.id) == col(S.meeting_id))
        .where(
            col(S.study_id) == study_id,
            col(S.deleted_at).is_(None),
            col(S.ended_at).is_not(None),
            col(Meeting.deleted_at).is_(None),
            col(S.meeting_id).in_(needs_union),
        )
    )
    return [
        SessionSpan(
            site_id=r[0],
            level=str(r[1].value if hasattr(r[1], "value") else r[1]),
            meeting_id=r[2],
            started_at=r[3],
            ended_at=r[4],
            pauses=list(r[5] or []),
            duration_seconds=r[6],
        )
        for r in session.execute(stmt)
    ]


def clinical_leaders(session: Session, study_id: uuid.UUID) -> list[tuple[uuid.UUID, str, int]]:
    """(site_id, level or "", count) of clinical leaders who are not deleted."""
    stmt = (
        select(col(Participant.site_id), col(Participant.level), func.count())
        .where(
            col(Participant.study_id) == study_id,
            col(Participant.is_clinical_leader).is_(True),
            col(Participant.deleted_at).is_(None),
        )
        .group_by(col(Participant.site_id), col(Participant.level))
    )
    out: list[tuple[uuid.UUID, str, int]] = []
    for site_id, level, n in session.execute(stmt):
        name = "" if level is None else str(getattr(level, "value", level))
        out.append((site_id, name, int(n)))
    return out
