from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from fieldscope.common.models import JSONType, UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, with the state before and after."""

    __tablename__ = "audit_events"

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
