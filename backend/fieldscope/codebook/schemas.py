from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from fieldscope.codebook.models import CodeGroup
from fieldscope.common.validation import Body, CleanStr, reject_null

_KEY = re.compile(r"[a-z][a-z0-9_]*")
_COLOUR = re.compile(r"(#[0-9a-fA-F]{6})?")


def _key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise ValueError("use lowercase letters, digits and '_', starting with a letter")
    return value


def _colour(value: str) -> str:
    if not _COLOUR.fullmatch(value):
        raise ValueError("use a hex colour like #1f5fa8, or leave it empty")
    return value


CodeKey = Annotated[CleanStr, AfterValidator(_key)]
Colour = Annotated[CleanStr, AfterValidator(_colour)]
SortOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
Label = Annotated[CleanStr, Field(min_length=1, max_length=200)]
Description = Annotated[CleanStr, Field(max_length=2000)]


class VersionCreate(Body):
    label: CleanStr = Field(default="", max_length=200)


class VersionUpdate(Body):
    label: CleanStr = Field(max_length=200)


class VersionState(BaseModel):
    study_id: uuid.UUID
    number: int = Field(ge=1, le=1_000_000)
    label: CleanStr = Field(default="", max_length=200)


class CodeCreate(Body):
    key: CodeKey = Field(min_length=1, max_length=64, description="Stable across versions")
    label: Label
    description: Description = ""
    group: CodeGroup = CodeGroup.contribution
    parent_key: CodeKey | None = Field(
        default=None, max_length=64, description="For a form: the key of its contribution"
    )
    colour: Colour = Field(default="", max_length=16)
    sort_order: SortOrder | None = Field(default=None, description="Default: after the last")


class CodeState(BaseModel):
    study_id: uuid.UUID
    codebook_version_id: uuid.UUID
    key: CodeKey = Field(min_length=1, max_length=64)
    label: Label
    description: Description = ""
    group: CodeGroup
    parent_key: CodeKey | None = Field(default=None, max_length=64)
    colour: Colour = Field(default="", max_length=16)
    sort_order: SortOrder = 0
    retired: bool = False


class CodeUpdate(Body):
    """Rename, describe, reorder or retire a code of a draft. Keys, groups and parents are
    fixed: add a new code instead."""

    label: Label | None = None
    description: Description | None = None
    colour: Colour | None = Field(default=None, max_length=16)
    sort_order: SortOrder | None = None
    retired: bool | None = Field(
        default=None, description="Retiring a contribution retires its forms too."
    )

    _not_null = field_validator("label", "description", "colour", "sort_order", "retired")(
        reject_null
    )


class CodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    codebook_version_id: uuid.UUID
    key: str
    label: str
    description: str
    group: CodeGroup
    parent_key: str | None
    colour: str
    sort_order: int
    retired: bool


class ContributionOut(CodeOut):
    forms: list[CodeOut]


class GroupOut(BaseModel):
    group: CodeGroup
    codes: list[CodeOut]


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    number: int
    label: str
    published_at: datetime | None = Field(description="Null while a draft; then immutable.")
    created_at: datetime
    updated_at: datetime


class VersionDetail(VersionOut):
    contributions: list[ContributionOut]
    other_groups: list[GroupOut]
