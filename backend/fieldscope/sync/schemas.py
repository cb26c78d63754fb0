"""Request and response bodies of the sync protocol (docs/sync-protocol.md, version 1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fieldscope.sync.limits import MAX_BATCH_MUTATIONS, PROTOCOL

Entity = Literal[
    "meeting",
    "meeting_attendee",
    "participant",
    "observation_session",
    "intervention",
    "field_note",
    "journal_entry",
]
Outcome = Literal["applied", "applied_with_conflict", "rejected"]


class Mutation(BaseModel):
    """One queued local change. Immutable once queued; a later edit is a new mutation."""

    model_config = ConfigDict(extra="forbid")

    mutation_id: uuid.UUID
    client_seq: int = Field(ge=1, le=2**53, description="1, 2, 3... gap-free per client.")
    entity: Entity
    op: Literal["upsert", "delete"]
    record_id: uuid.UUID = Field(description="Client-generated UUIDv7 of the record.")
    base_version: int | None = Field(
        default=None,
        ge=0,
        le=2**53,
        description="Server version the change was made on; null for a record the client "
        "created (or never saw on the server).",
    )
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Whole record on create, changed fields on edit, {} on delete.",
    )
    device_time: AwareDatetime | None = Field(
        default=None, description="The device's clock when the change was made (data only)."
    )


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    protocol: int = Field(description=f"Sync protocol version; this server speaks {PROTOCOL}.")
    client_id: uuid.UUID = Field(description="Random id of the installed app, made once.")
    device_time: AwareDatetime | None = Field(
        default=None, description="The device's clock when it sent the push (for skew)."
    )
    mutations: list[Mutation] = Field(max_length=MAX_BATCH_MUTATIONS)


class ConflictNote(BaseModel):
    """A field this mutation overwrote although someone else had changed it since its base."""

    conflict_id: uuid.UUID
    field: str
    winning_value: Any = Field(description="This mutation's value (later-applied wins).")
    losing_value: Any = Field(description="The value it replaced, kept in the conflict log.")
    losing_author_id: uuid.UUID | None
    losing_version: int | None


class MutationResult(BaseModel):
    mutation_id: uuid.UUID
    client_seq: int
    outcome: Outcome
    reason: str | None = Field(default=None, description="Why it was rejected, for people.")
    reason_code: str | None = Field(default=None, description="Machine code of the rejection.")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Per-field messages of a rejection ({field, message})."
    )
    entity: Entity
    record_id: uuid.UUID
    version: int | None = Field(
        description="The record's server version after this mutation (null: no such record)."
    )
    conflicts: list[ConflictNote] = Field(default_factory=list)
    replayed: bool = Field(
        default=False, description="True when this is the stored outcome of an earlier push."
    )


class PushResponse(BaseModel):
    server_time: datetime
    server_epoch: uuid.UUID
    last_seq: int = Field(description="The last client_seq the server holds for this client.")
    clock_skew_seconds: float | None = Field(
        description="Device minus server, from the push's device_time (null without it)."
    )
    rebased_from_seq: int | None = Field(
        default=None,
        description="Set once after a server restore: the seqs after this one up to the "
        "first in this push were lost with the restore.",
    )
    results: list[MutationResult]


class Change(BaseModel):
    cursor: int
    entity: str
    op: Literal["upsert", "delete"]
    record_id: uuid.UUID
    version: int
    data: dict[str, Any]


class PullResponse(BaseModel):
    """Documents the pull page; the server writes it as JSON text directly (for speed)."""

    server_epoch: uuid.UUID
    server_time: datetime
    reset: bool = Field(description="Discard pulled copies (never the outbox), pull from 0.")
    changes: list[Change]
    next_cursor: int
    has_more: bool
    totals: dict[str, Any] | None = Field(
        default=None,
        description="Site totals of the user's studies, on the last page only: "
        '{"sites": [SiteTotals + study_id], "studies": [{study_id, study, name, total}]}.',
    )


class ConflictOut(BaseModel):
    id: uuid.UUID
    study_id: uuid.UUID | None
    entity: str
    record_id: uuid.UUID
    field: str
    base_version: int
    winning_value: Any
    losing_value: Any
    winning_author_id: uuid.UUID | None
    losing_author_id: uuid.UUID | None
    winning_version: int
    losing_version: int | None
    mutation_id: uuid.UUID | None
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    resolution: str | None


class ConflictPage(BaseModel):
    items: list[ConflictOut]
    total: int
    limit: int
    offset: int


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Literal["keep_current", "restore_losing"] = Field(
        description="keep_current: the winning value stays. restore_losing: the losing value "
        "is written back as a normal, audited change by the PI."
    )
