from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from fieldscope.common.models import JSONType, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, with the state before and after."""

    __tablename__ = "audit_events"
    # One record's history within a study, newest first (the rowid/id rides along), without
    # scanning every event of the study (GET /studies/{id}/audit?entity_id=...).
    __table_args__ = (Index("ix_audit_events_study_entity", "study_id", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    study_id: uuid.UUID | None = Field(default=None, index=True)
    entity: str = Field(max_length=32)
    entity_id: uuid.UUID = Field(index=True)
    action: str = Field(max_length=16)  # create, update, delete
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    via: str = Field(default="api", max_length=16)  # api, sync, cli
    mutation_id: uuid.UUID | None = None
