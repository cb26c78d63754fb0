"""Request and response models of the observation API.

Request models forbid unknown fields, so a typo is an error instead of a silent no-op.
The `*Fields` models list exactly the client-writable fields of each entity (as in
docs/sync-protocol.md); the entity checks in `checks.py` run every write, REST or
sync, through them, so types, limits and time zones are enforced the same way.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from fieldscope.common.pagination import OFFSET_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from fieldscope.common.validation import Body, clean_text
from fieldscope.common.validation import Instant as _Instant
from fieldscope.observations.models import NoteKind
from fieldscope.participants.models import Level
from fieldscope.settings import get_settings

MAX_TEXT = get_settings().max_text_length
MAX_PAUSES = 1000
MAX_AGENDA_ITEM = 200


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def _zone_hint(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError as exc:
        if any(e["type"] == "timezone_aware" for e in exc.errors()):
            raise PydanticCustomError(
                "timezone_aware",
                "needs a time zone (Z or +hh:mm), e.g. 2026-11-22T09:00:00Z; "
                "a time without one is ambiguous",
            ) from None
        raise


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# An instant: ISO 8601 with a time zone (naive times are refused), 1900 to 2200; kept in
# UTC so a response shows what a later read will.
Instant = Annotated[_Instant, WrapValidator(_zone_hint), AfterValidator(_utc)]


# Free text is kept as typed (no stripping), but NUL and broken Unicode are refused.
Text = Annotated[
    str,
    Field(max_length=MAX_TEXT, description=f"At most {MAX_TEXT} characters."),
    AfterValidator(clean_text),
]
Offset = Annotated[
    float, Field(ge=0, allow_inf_nan=False, description="Seconds since the session started.")
]
CodeKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(clean_text),
]
AgendaItem = Annotated[str, Field(max_length=MAX_AGENDA_ITEM), AfterValidator(clean_text)]


class _Strict(Body):
    pass


# --- observation sessions -------------------------------------------------------------


class Pause(_Strict):
    start: Instant
    end: Instant | None = Field(default=None, description="null while the pause goes on.")


class SessionFields(_Strict):
    """The client-writable fields of an observation session."""

    meeting_id: uuid.UUID
    started_at: Instant
    ended_at: Instant | None = None
    pauses: list[Pause] = Field(default_factory=list, max_length=MAX_PAUSES)
    retrospective: bool = Field(
        default=False, description="Entered after the fact; set by the server when created ended."
    )
    device_started_at: Instant | None = None


class SessionCreate(SessionFields):
    id: uuid.UUID | None = Field(default=None, description="Client-generated UUIDv7, optional.")


class SessionUpdate(_Strict):
    """Only the fields sent are changed; `ended_at: null` reopens a session."""

    meeting_id: uuid.UUID | None = None
    started_at: Instant | None = None
    ended_at: Instant | None = None
    pauses: list[Pause] | None = Field(default=None, max_length=MAX_PAUSES)
    retrospective: bool | None = None
    device_started_at: Instant | None = None


class SessionAction(_Strict):
    at: Instant | None = Field(
        default=None, description="When it happened; server time if omitted."
    )


class PauseOut(BaseModel):
    start: datetime
    end: datetime | None


class ObservationSessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    site_id: uuid.UUID
    meeting_id: uuid.UUID
    observer_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    pauses: list[PauseOut]
    retrospective: bool
    duration_seconds: float | None = Field(description="end - start - pauses; null while running.")
    device_started_at: datetime | None
    needs_review: bool
    created_at: datetime
    updated_at: datetime


class ObservationSessionPage(BaseModel):
    items: list[ObservationSessionOut]
    total: int
    limit: int
    offset: int


# --- interventions ---------------------------------------------------------------------


class _InterventionBody(_Strict):
    participant_id: uuid.UUID
    codebook_version_id: uuid.UUID
    code_key: CodeKey
    form_key: Annotated[CodeKey | None, BeforeValidator(_blank_to_none)] = None
    offset_seconds: Offset
    device_time: Instant | None = None
    quote: Text = ""
    note: Text = ""
    agenda_item: AgendaItem = ""


class InterventionFields(_InterventionBody):
    session_id: uuid.UUID


class InterventionCreate(_InterventionBody):
    id: uuid.UUID | None = Field(default=None, description="Client-generated UUIDv7, optional.")


class InterventionUpdate(_Strict):
    participant_id: uuid.UUID | None = None
    codebook_version_id: uuid.UUID | None = None
    code_key: CodeKey | None = None
    form_key: Annotated[CodeKey | None, BeforeValidator(_blank_to_none)] = None
    offset_seconds: Offset | None = None
    device_time: Instant | None = None
    quote: Text | None = None
    note: Text | None = None
    agenda_item: AgendaItem | None = None


class InterventionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    site_id: uuid.UUID
    observer_id: uuid.UUID
    session_id: uuid.UUID
    participant_id: uuid.UUID
    codebook_version_id: uuid.UUID
    code_key: str
    form_key: str | None
    offset_seconds: float
    device_time: datetime | None
    quote: str
    note: str
    agenda_item: str
    code_retired: bool
    needs_review: bool
    created_at: datetime
    updated_at: datetime


class InterventionPage(BaseModel):
    items: list[InterventionOut]
    total: int
    limit: int
    offset: int


# --- field notes and the journal ------------------------------------------------------------


class _FieldNoteBody(_Strict):
    kind: NoteKind = NoteKind.observation
    offset_seconds: Offset | None = None
    device_time: Instant | None = None
    text: Text = ""


class FieldNoteFields(_FieldNoteBody):
    session_id: uuid.UUID


class FieldNoteCreate(_FieldNoteBody):
    id: uuid.UUID | None = Field(default=None, description="Client-generated UUIDv7, optional.")


class FieldNoteUpdate(_Strict):
    kind: NoteKind | None = None
    offset_seconds: Offset | None = None
    device_time: Instant | None = None
    text: Text | None = None


class FieldNoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    site_id: uuid.UUID
    observer_id: uuid.UUID
    session_id: uuid.UUID
    kind: NoteKind
    offset_seconds: float | None
    device_time: datetime | None
    text: str
    needs_review: bool
    created_at: datetime
    updated_at: datetime


class FieldNotePage(BaseModel):
    items: list[FieldNoteOut]
    total: int
    limit: int
    offset: int


class JournalFields(_Strict):
    session_id: uuid.UUID
    text: Text = ""


class JournalPut(_Strict):
    text: Text


class JournalEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    site_id: uuid.UUID
    observer_id: uuid.UUID
    session_id: uuid.UUID
    text: str
    needs_review: bool
    created_at: datetime
    updated_at: datetime


class TimelineItem(BaseModel):
    """One entry of a session's timeline; exactly one of the two records is set."""

    type: Literal["intervention", "field_note"]
    offset_seconds: float | None
    intervention: InterventionOut | None = None
    field_note: FieldNoteOut | None = None


class SessionTimeline(BaseModel):
    session: ObservationSessionOut
    items: list[TimelineItem]


# --- list filters (unknown query parameters are refused too) ---------------------------------


class _PageQuery(_Strict):
    limit: int = Field(
        default=PAGE_SIZE_DEFAULT,
        ge=1,
        le=PAGE_SIZE_MAX,
        description=f"Page size, 1 to {PAGE_SIZE_MAX} (settings.page_size_max).",
    )
    offset: int = Field(default=0, ge=0, le=OFFSET_MAX, description="Items to skip.")


class SessionFilters(_PageQuery):
    site_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None
    observer_id: uuid.UUID | None = None
    started_from: Instant | None = Field(default=None, description="Sessions started at or after.")
    started_before: Instant | None = Field(default=None, description="Sessions started before.")
    ended: bool | None = Field(default=None, description="true: ended; false: still open.")
    retrospective: bool | None = None


class InterventionFilters(_PageQuery):
    site_id: uuid.UUID | None = None
    level: Level | None = Field(default=None, description="Level of the meeting.")
    participant_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    observer_id: uuid.UUID | None = None
    code_key: CodeKey | None = None
    started_from: Instant | None = Field(
        default=None, description="In sessions started at or after."
    )
    started_before: Instant | None = Field(default=None, description="In sessions started before.")


class ChildPageQuery(_PageQuery):
    pass
