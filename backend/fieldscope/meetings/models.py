from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field

from fieldscope.common.models import Record, UTCDateTime
from fieldscope.participants.models import Level


class StageOfChange(StrEnum):
    strategy = "strategy"  # early strategy setting
    delivery = "delivery"  # later collaborative working and delivery


class Meeting(Record, table=True):
    __tablename__ = "meetings"
    sync_entity = "meeting"

    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    site_id: uuid.UUID = Field(foreign_key="sites.id", index=True)
    level: Level = Field(max_length=16)
    title: str = Field(max_length=200)
    theme: str = Field(default="", max_length=200)
    scheduled_start: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    location: str = Field(default="", max_length=200)
    stage_of_change: StageOfChange | None = Field(default=None, max_length=16)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")


class MeetingAttendee(Record, table=True):
    __tablename__ = "meeting_attendees"
    # One live attendance per participant and meeting; a removed one (tombstone) may be
    # added again, as a new record a device can create offline.
    __table_args__ = (
        Index(
            "uq_meeting_attendees_live",
            "meeting_id",
            "participant_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    sync_entity = "meeting_attendee"

    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    meeting_id: uuid.UUID = Field(foreign_key="meetings.id", index=True)
    participant_id: uuid.UUID = Field(foreign_key="participants.id", index=True)
