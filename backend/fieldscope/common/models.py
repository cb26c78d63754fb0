"""Column types and the base every syncable record shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel
from uuid6 import uuid7

# Stable constraint names make Alembic migrations reproducible on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.UUID(str(uuid7()))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python, UTC in the database, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; fieldscope stores only aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Record(SQLModel):
    """A row a device may create offline: client-generated UUID, version, soft delete.

    `changes.py` bumps `version`, writes the audit event and the change-log row for every
    insert, update and soft delete of a Record, so no write path can forget them.
    """

    # Name of the entity in the change log and sync protocol, e.g. "participant".
    sync_entity: ClassVar[str] = ""
    # Columns never sent to devices or exports (e.g. a participant's real name).
    private_fields: ClassVar[frozenset[str]] = frozenset()

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def study_scope(self) -> uuid.UUID | None:
        """The study this record belongs to (for authorisation and sync scoping)."""
        value = getattr(self, "study_id", None)
        return value if isinstance(value, uuid.UUID) else None

    def owner_scope(self) -> uuid.UUID | None:
        """A user who alone may pull this record, or None when the whole study may."""
        return None

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state as devices and the audit log see it (private fields left out)."""
        return self.model_dump(mode="json", exclude=set(self.private_fields), warnings=False)

    def snapshot_json(self) -> str:
        """`snapshot()` as JSON text (compact), as the change log stores it."""
        return self.model_dump_json(exclude=set(self.private_fields), warnings=False)
