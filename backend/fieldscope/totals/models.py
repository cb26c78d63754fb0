from __future__ import annotations

import uuid

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from fieldscope.participants.models import Level


class MeetingCoverage(SQLModel, table=True):
    """Derived: how much of one meeting was observed. Not a synced record.

    `totals.coverage` rewrites a meeting's row in the same transaction as every ORM write
    to the meeting or its sessions, so totals are one GROUP BY over these narrow rows. A
    row exists while the meeting is not deleted and has at least one non-deleted session.
    """

    __tablename__ = "meeting_coverage"
    # Covers the totals query: an index-only scan per study.
    __table_args__ = (
        Index(
            "ix_meeting_coverage_totals",
            "study_id",
            "site_id",
            "level",
            "sessions",
            "open_sessions",
            "observed_seconds",
            "observer_seconds",
        ),
    )

    meeting_id: uuid.UUID = Field(foreign_key="meetings.id", primary_key=True)
    study_id: uuid.UUID = Field(foreign_key="studies.id")
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    level: Level = Field(max_length=16)
    sessions: int = Field(description="Ended, non-deleted sessions.")
    open_sessions: int = Field(description="Running (not ended), non-deleted sessions.")
    observed_seconds: float = Field(description="Union of the ended sessions' observed time.")
    observer_seconds: float = Field(description="Sum of the ended sessions' durations.")


class SiteLevelCoverage(SQLModel, table=True):
    """Derived: `MeetingCoverage` summed per site x level, so a study's totals read at most
    sites x 3 rows. Recomputed (not incremented) for the touched cells on every write."""

    __tablename__ = "site_level_coverage"

    site_id: uuid.UUID = Field(foreign_key="sites.id", primary_key=True)
    level: Level = Field(max_length=16, primary_key=True)
    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    meetings: int = Field(default=0, description="Meetings with an ended session.")
    sessions: int = 0
    co_observed_meetings: int = 0
    open_sessions: int = 0
    observed_seconds: float = 0.0
    observer_seconds: float = 0.0
