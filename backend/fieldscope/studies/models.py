from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from fieldscope.common.models import Record


class Study(Record, table=True):
    __tablename__ = "studies"
    sync_entity = "study"

    name: str = Field(max_length=200)
    slug: str = Field(max_length=64, unique=True, index=True)
    description: str = Field(default="", max_length=5000)
    ethics_reference: str = Field(default="", max_length=120)
    starts_on: date | None = None
    ends_on: date | None = None

    def study_scope(self) -> uuid.UUID | None:
        return self.id


class Site(Record, table=True):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("study_id", "code"),)
    sync_entity = "site"

    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    code: str = Field(max_length=16)
    name: str = Field(max_length=200)
    target_hours: float = Field(default=0.0, ge=0)
    target_meetings: int = Field(default=0, ge=0)
