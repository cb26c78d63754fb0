from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from fieldscope.auth.models import Role
from fieldscope.common.pagination import Page
from fieldscope.common.validation import Body, CleanStr, Day, reject_null

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SITE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("use lowercase letters, digits and single hyphens, e.g. 'ics-study-2026'")
    return value


def _site_code(value: str) -> str:
    if not _SITE_CODE.fullmatch(value):
        raise ValueError("use letters, digits, '-', '_' or '.', starting with a letter or digit")
    return value


Slug = Annotated[CleanStr, AfterValidator(_slug)]
SiteCode = Annotated[CleanStr, AfterValidator(_site_code)]
TargetHours = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]
TargetMeetings = Annotated[int, Field(ge=0, le=100_000)]


class _Dates(BaseModel):
    starts_on: Day | None = None
    ends_on: Day | None = None

    @field_validator("ends_on")
    @classmethod
    def _ordered(cls, value: date | None, info: ValidationInfo) -> date | None:
        starts_on = info.data.get("starts_on")
        if value and starts_on and value < starts_on:
            raise ValueError(f"must not be before starts_on ({starts_on.isoformat()})")
        return value


class StudyCreate(Body, _Dates):
    name: CleanStr = Field(min_length=1, max_length=200)
    slug: Slug = Field(min_length=1, max_length=64)
    description: CleanStr = Field(default="", max_length=5000)
    ethics_reference: CleanStr = Field(default="", max_length=120)


class StudyUpdate(Body):
    """Only the keys sent change; `null` clears the dates."""

    name: CleanStr | None = Field(default=None, min_length=1, max_length=200)
    slug: Slug | None = Field(default=None, min_length=1, max_length=64)
    description: CleanStr | None = Field(default=None, max_length=5000)
    ethics_reference: CleanStr | None = Field(default=None, max_length=120)
    starts_on: Day | None = None
    ends_on: Day | None = None

    _not_null = field_validator("name", "slug", "description", "ethics_reference")(reject_null)


class StudyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    name: str
    slug: str
    description: str
    ethics_reference: str
    starts_on: date | None
    ends_on: date | None
    created_at: datetime
    updated_at: datetime
    my_role: Role | None = Field(
        default=None, description="Your role in the study; null for an administrator."
    )


class StudyPage(Page[StudyOut]):
    pass


class SiteCreate(Body):
    code: SiteCode = Field(min_length=1, max_length=16)
    name: CleanStr = Field(min_length=1, max_length=200)
    target_hours: TargetHours = 0.0
    target_meetings: TargetMeetings = 0


class SiteState(SiteCreate):
    """A site as stored; what `check_site` validates."""

    study_id: uuid.UUID


class SiteUpdate(Body):
    code: SiteCode | None = Field(default=None, min_length=1, max_length=16)
    name: CleanStr | None = Field(default=None, min_length=1, max_length=200)
    target_hours: TargetHours | None = None
    target_meetings: TargetMeetings | None = None

    _not_null = field_validator("code", "name", "target_hours", "target_meetings")(reject_null)


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    code: str
    name: str
    target_hours: float
    target_meetings: int
    created_at: datetime
    updated_at: datetime
