from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field

from fieldscope.common.models import JSONType, Record, UTCDateTime


class NoteKind(StrEnum):
    observation = "observation"
    reflection = "reflection"
    informal_interview = "informal_interview"
    method = "method"


class _Observed(Record):
    """Records a fieldworker owns: scoped to their study, site and themselves."""

    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    site_id: uuid.UUID = Field(foreign_key="sites.id", index=True)
    observer_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    # Set when a sync conflict touched the record; cleared when a PI resolves it.
    needs_review: bool = False

    def owner_scope(self) -> uuid.UUID | None:
        return self.observer_id


class ObservationSession(_Observed, table=True):
    """One fieldworker's observation of one meeting. Duration is derived, never typed."""

    __tablename__ = "observation_sessions"
    # Study lists filter by start date and page newest first.
    __table_args__ = (Index("ix_observation_sessions_study_started", "study_id", "started_at"),)
    sync_entity = "observation_session"

    meeting_id: uuid.UUID = Field(foreign_key="meetings.id", index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # [{"start": iso, "end": iso | null}], non-overlapping, inside [started_at, ended_at].
    pauses: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    retrospective: bool = False
    # Derived from start, end and pauses on every write; null while the session runs.
    duration_seconds: float | None = None
    device_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Intervention(_Observed, table=True):
    """A clinical leader's intervention, tagged with one primary contribution code."""

    __tablename__ = "interventions"
    # Lists count and page live rows from these alone: the study's in recording order, by
    # code, and a session's (or a set of sessions') by offset. deleted_at comes last: PostgreSQL
    # does not treat `IS NULL` as fixing a column, so before the sort keys it spoils the order.
    __table_args__ = (
        Index("ix_interventions_study_live", "study_id", "created_at", "id", "deleted_at"),
        Index(
            "ix_interventions_study_code_live",
            "study_id",
            "code_key",
            "created_at",
            "id",
            "deleted_at",
        ),
        Index("ix_interventions_session_live", "session_id", "offset_seconds", "deleted_at"),
        # Covers the dashboard's contribution counts (index-only, per session).
        Index(
            "ix_interventions_session_code",
            "session_id",
            "code_key",
            "participant_id",
            "deleted_at",
        ),
    )
    sync_entity = "intervention"

    # Indexed by ix_interventions_session_live.
    session_id: uuid.UUID = Field(foreign_key="observation_sessions.id")
    participant_id: uuid.UUID = Field(foreign_key="participants.id", index=True)
    codebook_version_id: uuid.UUID = Field(foreign_key="codebook_versions.id")
    code_key: str = Field(max_length=64)
    form_key: str | None = Field(default=None, max_length=64)
    offset_seconds: float = Field(ge=0)
    device_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    quote: str = Field(default="")
    note: str = Field(default="")
    agenda_item: str = Field(default="", max_length=200)
    # The code was retired after the tablet's codebook version: accepted, flagged.
    code_retired: bool = False


class FieldNote(_Observed, table=True):
    __tablename__ = "field_notes"
    sync_entity = "field_note"

    session_id: uuid.UUID = Field(foreign_key="observation_sessions.id", index=True)
    kind: NoteKind = Field(default=NoteKind.observation, max_length=32)
    offset_seconds: float | None = Field(default=None, ge=0)
    device_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    text: str = Field(default="")


class JournalEntry(_Observed, table=True):
    """The field-journal write-up of one session, written after the meeting."""

    __tablename__ = "journal_entries"
    sync_entity = "journal_entry"

    session_id: uuid.UUID = Field(foreign_key="observation_sessions.id", index=True, unique=True)
    text: str = Field(default="")
