"""Derived counts behind the contribution matrices. Not synced, never edited by hand.

`summary.py` keeps them in step with the data from the change log, so a whole-study matrix
reads a few thousand cells instead of a million interventions. Participants' consent and
deleted sites are applied when reading, so withdrawing consent needs no recount.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class MeetingContribution(SQLModel, table=True):
    """Counted interventions of one meeting per participant and contribution code, with
    the meeting's site, level and stage when counted (so a change can be subtracted)."""

    __tablename__ = "dashboard_meeting_contributions"

    meeting_id: uuid.UUID = Field(primary_key=True)
    participant_id: uuid.UUID = Field(primary_key=True)
    code_key: str = Field(max_length=64, primary_key=True)
    study_id: uuid.UUID
    site_id: uuid.UUID
    level: str = Field(max_length=16)
    stage: str = Field(max_length=16, description="Stage of change, or '' for none.")
    n: int


class ContributionCell(SQLModel, table=True):
    """`MeetingContribution` summed over meetings: one row per participant x meeting site
    x level x stage x code (a few thousand per study)."""

    __tablename__ = "dashboard_contribution_cells"

    study_id: uuid.UUID = Field(primary_key=True)
    participant_id: uuid.UUID = Field(primary_key=True)
    site_id: uuid.UUID = Field(primary_key=True)
    level: str = Field(max_length=16, primary_key=True)
    stage: str = Field(max_length=16, primary_key=True)
    code_key: str = Field(max_length=64, primary_key=True)
    n: int


class SummaryState(SQLModel, table=True):
    """One row: the change-log cursor (and server epoch) the counts are up to date with."""

    __tablename__ = "dashboard_summary_state"

    id: int = Field(default=1, primary_key=True)
    epoch: str = Field(max_length=64)
    cursor: int = Field(sa_column=Column(BigInteger, nullable=False))
