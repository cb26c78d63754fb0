from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.sql import Select
from sqlmodel import col, select

from fieldscope.common.days import on_or_after, on_or_before
from fieldscope.meetings.models import Meeting, StageOfChange
from fieldscope.participants.models import Level


def meetings_query(
    study_id: uuid.UUID,
    *,
    site_id: uuid.UUID | None = None,
    level: Level | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    stage_of_change: StageOfChange | None = None,
) -> Select[Any]:
    """Live meetings of a study matching every filter, earliest first (unscheduled last).

    `date_from`/`date_to` are inclusive UTC days of `scheduled_start`; with either,
    meetings without a scheduled start are left out.
    """
    stmt: Any = select(Meeting).where(
        Meeting.study_id == study_id, col(Meeting.deleted_at).is_(None)
    )
    if site_id is not None:
        stmt = stmt.where(Meeting.site_id == site_id)
    if level is not None:
        stmt = stmt.where(Meeting.level == level)
    if stage_of_change is not None:
        stmt = stmt.where(Meeting.stage_of_change == stage_of_change)
    if date_from is not None:
        stmt = stmt.where(on_or_after(col(Meeting.scheduled_start), date_from))
    if date_to is not None:
        stmt = stmt.where(on_or_before(col(Meeting.scheduled_start), date_to))
    ordered: Select[Any] = stmt.order_by(
        col(Meeting.scheduled_start).asc().nulls_last(), col(Meeting.created_at), col(Meeting.id)
    )
    return ordered
