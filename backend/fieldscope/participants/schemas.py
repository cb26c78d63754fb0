"""Participants as the API shows them. `real_name` exists only in the PI models: a
fieldworker's or analyst's response has no such key at all."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from fieldscope.common.pagination import Page
from fieldscope.common.validation import Body, CleanStr, Day, reject_null
from fieldscope.participants.models import Background, Consent, Level

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _pseudonym(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise ValueError(
            "use letters, digits, '-', '_' or '.', starting with a letter or digit, e.g. A-EX-01"
        )
    return value


def _blank_is_none(value: str | None) -> str | None:
    return value or None


PseudonymCode = Annotated[CleanStr, AfterValidator(_pseudonym)]
RealName = Annotated[CleanStr, AfterValidator(_blank_is_none)]


class ParticipantFields(BaseModel):
    """What a device may write (docs/sync-protocol.md) and a REST client may send."""

    site_id: uuid.UUID
    code: PseudonymCode = Field(min_length=1, max_length=32, description="Pseudonym code")
    role_title: CleanStr = Field(default="", max_length=200)
    level: Level | None = None
    background: Background
    is_clinical_leader: bool = False


class ParticipantCreate(Body, ParticipantFields):
    real_name: RealName | None = Field(
        default=None, max_length=200, description="PIs only; never leaves the server."
    )
    consent: Consent = Field(default=Consent.consented, description="PIs only.")
    consent_date: Day | None = Field(default=None, description="PIs only.")
    pending_review: bool = Field(
        default=False, description="PIs only: a fieldworker's new participant is always a stub."
    )


class ParticipantState(ParticipantCreate):
    """A participant as stored; what `check_participant` validates."""

    study_id: uuid.UUID


class ParticipantUpdate(Body):
    """Only the keys sent change. Consent, its date, real names and review are PI-only;
    changing `consent` needs the `consent_date` of that change."""

    site_id: uuid.UUID | None = None
    code: PseudonymCode | None = Field(default=None, min_length=1, max_length=32)
    role_title: CleanStr | None = Field(default=None, max_length=200)
    level: Level | None = None
    background: Background | None = None
    is_clinical_leader: bool | None = None
    real_name: RealName | None = Field(default=None, max_length=200)
    consent: Consent | None = None
    consent_date: Day | None = None
    pending_review: bool | None = None

    _not_null = field_validator(
        "site_id",
        "code",
        "role_title",
        "background",
        "is_clinical_leader",
        "consent",
        "pending_review",
    )(reject_null)


class _ParticipantBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    study_id: uuid.UUID
    site_id: uuid.UUID
    code: str
    role_title: str
    level: Level | None
    background: Background
    is_clinical_leader: bool
    consent: Consent
    consent_date: date | None
    pending_review: bool
    created_at: datetime
    updated_at: datetime


class ParticipantOut(_ParticipantBase):
    """What members other than PIs see: pseudonym only."""


class ParticipantPIOut(_ParticipantBase):
    """What PIs see: with the real name."""

    real_name: str | None


AnyParticipantOut = ParticipantPIOut | ParticipantOut


class ParticipantPage(Page[AnyParticipantOut]):
    pass


def present(record: Any, pi: bool) -> AnyParticipantOut:
    return ParticipantPIOut.model_validate(record) if pi else ParticipantOut.model_validate(record)
