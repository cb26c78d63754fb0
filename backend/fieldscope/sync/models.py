from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from fieldscope.common.models import JSONType, UTCDateTime, new_id, utcnow


class ChangeCursor(SQLModel, table=True):
    """One row. Bumping it inside the writing transaction locks it until commit, so cursors
    are handed out in commit order (SYNC.md invariant 8)."""

    __tablename__ = "change_cursor"

    id: int = Field(default=1, primary_key=True)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class ServerState(SQLModel, table=True):
    """Singleton: `epoch` changes when the database is restored, forcing device resets."""

    __tablename__ = "server_state"

    id: int = Field(default=1, primary_key=True)
    epoch: uuid.UUID = Field(default_factory=new_id)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChangeLogEntry(SQLModel, table=True):
    """Every insert, update and soft delete of a syncable record, in commit order."""

    __tablename__ = "change_log"
    # A pull walks one study's changes in cursor order from where the device left off.
    __table_args__ = (Index("ix_change_log_study_cursor", "study_id", "cursor"),)

    cursor: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    study_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = Field(default=None, index=True)
    entity: str = Field(max_length=32)
    record_id: uuid.UUID = Field(index=True)
    version: int
    op: str = Field(max_length=8)  # upsert, delete
    # Plain json on PostgreSQL too (not jsonb): a pull splices the stored text as it is.
    data: dict[str, Any] = Field(sa_type=JSON)
    changed_fields: list[str] = Field(default_factory=list, sa_type=JSONType)
    actor_id: uuid.UUID | None = None
    mutation_id: uuid.UUID | None = None
    # The installed app that pushed the change (None for REST, CLI, demo): a client's own
    # earlier changes are never a conflict for its later mutations.
    client_id: uuid.UUID | None = None
    committed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SyncClient(SQLModel, table=True):
    """An installed app. Bound to one user on its first push."""

    __tablename__ = "sync_clients"

    client_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    last_seq: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_push_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_pull_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_clock_skew_seconds: float | None = None
    user_agent: str = Field(default="", max_length=300)
    # Set by `fieldscope db new-epoch` (after a restore): the client's next push may start
    # past last_seq, because what it sent after the backup was taken is gone.
    rebase_pending: bool = False
    rebased_from_seq: int | None = None


class AppliedMutation(SQLModel, table=True):
    """The stored outcome of every mutation, so a replay returns it and changes nothing."""

    __tablename__ = "applied_mutations"
    __table_args__ = (UniqueConstraint("mutation_id"),)

    client_id: uuid.UUID = Field(foreign_key="sync_clients.client_id", primary_key=True)
    client_seq: int = Field(primary_key=True)
    mutation_id: uuid.UUID
    payload_hash: str = Field(max_length=64)
    outcome: str = Field(max_length=24)  # applied, applied_with_conflict, rejected
    reason: str | None = None
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    device_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The mutation as sent, kept for rejected ones so no submitted value is ever lost.
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSONType)


class SyncConflict(SQLModel, table=True):
    """A field two authors changed concurrently: the loser is kept here, never lost."""

    __tablename__ = "sync_conflicts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    study_id: uuid.UUID | None = Field(default=None, index=True)
    entity: str = Field(max_length=32)
    record_id: uuid.UUID = Field(index=True)
    field: str = Field(max_length=64)
    base_version: int
    winning_value: Any = Field(default=None, sa_type=JSONType)
    losing_value: Any = Field(default=None, sa_type=JSONType)
    winning_author_id: uuid.UUID | None = None
    losing_author_id: uuid.UUID | None = None
    winning_version: int
    losing_version: int | None = None
    mutation_id: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: uuid.UUID | None = None
    resolution: str | None = Field(default=None, max_length=32)
