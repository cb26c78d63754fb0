from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from fieldscope.common.models import Record


class Level(StrEnum):
    executive = "executive"
    thematic = "thematic"
    project = "project"


class Background(StrEnum):
    medicine = "medicine"
    nursing = "nursing"
    pharmacy = "pharmacy"
    occupational_therapy = "occupational_therapy"
    midwifery = "midwifery"
    general_practice = "general_practice"
    other_clinical = "other_clinical"
    non_clinical = "non_clinical"


class Consent(StrEnum):
    consented = "consented"
    declined = "declined"
    withdrawn = "withdrawn"


class Participant(Record, table=True):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("study_id", "code"),)
    sync_entity = "participant"
    private_fields: ClassVar[frozenset[str]] = frozenset({"real_name"})

    study_id: uuid.UUID = Field(foreign_key="studies.id", index=True)
    site_id: uuid.UUID = Field(foreign_key="sites.id", index=True)
    code: str = Field(max_length=32, description="Pseudonym code, e.g. A-EX-01")
    role_title: str = Field(default="", max_length=200)
    level: Level | None = Field(default=None, max_length=16)
    background: Background = Field(max_length=32)
    is_clinical_leader: bool = False
    consent: Consent = Field(default=Consent.consented, max_length=16)
    consent_date: date | None = None
    real_name: str | None = Field(default=None, max_length=200)
    # Added on a tablet during a meeting; a PI reviews it before it is trusted.
    pending_review: bool = False
