from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldscope.common.pagination import Page
from fieldscope.common.validation import Body, CleanStr, Instant, reject_null
from fieldscope.meetings.models import StageOfChange
from fieldscope.participants.models import Level


class MeetingFields(BaseModel):
    """What a device may write (docs/sync-protocol.md) and a REST client may send."""

    site_id: uuid.UUID
    level: Level
    title: CleanStr = Field(min_length=1, max_length=200, description="Title or forum")
    theme: CleanStr = Field(default="", max_length=200)
    scheduled_start: Instant | None = Field(
        default=None, description="With a time zone offset, e.g. 2026-03-04T10:00:00+00:00."
    )
    location: CleanStr = Field(default="", max_length=200)
    stage_of_change: StageOfChange | None = None


class MeetingCreate(Body, MeetingFields):
    pass


class MeetingState(MeetingFields):
    """A meeting as stored; what `check_meeting` validates."""

    study_id: uuid.UUID


class MeetingUpdate(Body):
    """Only the keys sent change; `null` clears the optional ones."""

    site_id: uuid.UUID | None = None
    level: Level | None = None
    title: CleanStr | None = Field(default=None, min_length=1, max_length=200)
    theme: CleanStr | None = Field(default=None, max_length=200)
    scheduled_start: Instant | None = None
    location: CleanStr | None = Field(default=None, max_length=200)
    stage_of_change: StageOfChange | None = None

    _not_null = field_validator("site_id", "level", "title", "theme", "location")(reject_null)


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    site_id: uuid.UUID
    level: Level
    title: str
    theme: str
    scheduled_start: datetime | None
    location: str
    stage_of_change: StageOfChange | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class MeetingPage(Page[MeetingOut]):
    pass


class AttendeeCreate(Body):
    participant_id: uuid.UUID


class AttendeeState(BaseModel):
    meeting_id: uuid.UUID
    participant_id: uuid.UUID


class AttendeeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    meeting_id: uuid.UUID
    participant_id: uuid.UUID
    participant_code: str = Field(description="The attendee's pseudonym code")
    created_at: datetime
