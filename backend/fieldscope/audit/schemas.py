from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fieldscope.common.pagination import Page


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None = Field(default=None, description="Null for the CLI or demo loader")
    entity: str
    entity_id: uuid.UUID
    action: str = Field(description="create, update or delete")
    before: dict[str, Any] | None = Field(description="Changed fields before (null on create)")
    after: dict[str, Any] | None = Field(
        description="Changed fields after (whole record on create)"
    )
    via: str = Field(description="api, sync or cli")
    mutation_id: uuid.UUID | None


class AuditPage(Page[AuditEventOut]):
    pass
