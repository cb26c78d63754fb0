"""Read queries behind the totals, in SQLAlchemy Core (no ORM objects).

The union of co-observed sessions and the sums per site x level are kept by `coverage` on
every write, so the totals read at most sites x 3 rows plus the clinical leaders' count.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from fieldscope.participants.models import Participant
from fieldscope.studies.models import Site
from fieldscope.totals.models import SiteLevelCoverage as C


@dataclass(frozen=True)
class SiteRow:
    id: uuid.UUID
    code: str
    name: str
    target_hours: float
    target_meetings: int


def sites(session: Session, study_id: uuid.UUID) -> list[SiteRow]:
    """The study's live sites, by code."""
    stmt = (
        select(
            col(Site.id),
            col(Site.code),
            col(Site.name),
            col(Site.target_hours),
            col(Site.target_meetings),
        )
        .where(col(Site.study_id) == study_id, col(Site.deleted_at).is_(None))
        .order_by(col(Site.code))
    )
    return [
        SiteRow(r[0], r[1], r[2], float(r[3]), int(r[4]))
        for r in session.connection().execute(stmt)
    ]


@dataclass(frozen=True)
class Cell:
    """Aggregates of one site x level."""

    site_id: uuid.UUID
    level: str
    meetings: int
    seconds: float
    observer_seconds: float
    sessions: int
    co_observed: int
    open_sessions: int


def _name(value: object) -> str:
    return "" if value is None else str(getattr(value, "value", value))


def cells(session: Session, study_id: uuid.UUID) -> list[Cell]:
    stmt = select(
        col(C.site_id),
        col(C.level),
        col(C.meetings),
        col(C.observed_seconds),
        col(C.observer_seconds),
        col(C.sessions),
        col(C.co_observed_meetings),
        col(C.open_sessions),
    ).where(col(C.study_id) == study_id)
    return [
        Cell(
            site_id=r[0],
            level=_name(r[1]),
            meetings=int(r[2]),
            seconds=float(r[3]),
            observer_seconds=float(r[4]),
            sessions=int(r[5]),
            co_observed=int(r[6]),
            open_sessions=int(r[7]),
        )
        for r in session.connection().execute(stmt)
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
    return [
        (site_id, _name(level), int(n)) for site_id, level, n in session.connection().execute(stmt)
    ]
