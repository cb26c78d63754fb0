from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from fieldscope.common.models import Record, UTCDateTime


class CodeGroup(StrEnum):
    contribution = "contribution"
    source_of_influence = "source_of_influence"
    secondary_effect = "secondary_effect"


class CodebookVersion(Record, table=True):
    """A numbered codebook of a study; frozen once `published_at` is set."""

    __tablename__ = "codebook_versions"
    __table_args__ = (UniqueConstraint("study_id", "number"),)
    sync_entity = "codebook_version"

    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    number: int = Field(ge=1)
    label: str = Field(default="", max_length=200)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Code(Record, table=True):
    """A code of one codebook version. `key` is stable across versions; forms have a parent."""

    __tablename__ = "codes"
    __table_args__ = (UniqueConstraint("codebook_version_id", "key"),)
    sync_entity = "code"

    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    codebook_version_id: uuid.UUID = Field(foreign_key="codebook_versions.id", index=True)
    parent_key: str | None = Field(default=None, max_length=64)
    key: str = Field(max_length=64)
    label: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    group: CodeGroup = Field(default=CodeGroup.contribution, max_length=32)
    colour: str = Field(default="", max_length=16)
    sort_order: int = 0
    retired: bool = False
