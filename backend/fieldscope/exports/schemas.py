"""Request parameters of the export endpoints."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from fieldscope.common.validation import Day
from fieldscope.participants.models import Level


class JournalFormat(StrEnum):
    markdown = "markdown"
    html = "html"
    docx = "docx"


class TableName(StrEnum):
    sites = "sites"
    codebook = "codebook"
    meetings = "meetings"
    participants = "participants"
    participant_names = "participant_names"
    attendees = "attendees"
    sessions = "sessions"
    interventions = "interventions"


class ExportQuery(BaseModel):
    """Filters and options shared by every export (repeat a parameter for several values)."""

    model_config = ConfigDict(extra="forbid")

    site: list[str] = Field(default_factory=list, description="Site codes, e.g. A.")
    level: list[Level] = Field(default_factory=list, description="Meeting levels.")
    date_from: Day | None = Field(
        default=None, description="Sessions that started on or after this day (UTC)."
    )
    date_to: Day | None = Field(
        default=None, description="Sessions that started on or before this day (UTC)."
    )
    participant: list[str] = Field(default_factory=list, description="Pseudonym codes.")
    include_real_names: bool = Field(
        default=False, description="Real names instead of pseudonyms only: PIs only."
    )


class JournalBundleQuery(ExportQuery):
    format: JournalFormat = JournalFormat.markdown
