"""Derived counts behind the contribution matrices. Not synced, never edited by hand.

`summary.py` keeps them in step with the data from the change log, so a whole-study matrix
reads a few thousand cells instead of a million interventions, and a matrix with dates sums
whole years and months (`PeriodCell`) and the leftover days (`MeetingContribution`).
Participants' consent and deleted sites are applied when reading, so withdrawing consent
needs no recount.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel


class MeetingContribution(SQLModel, table=True):
    """Counted interventions of one meeting per session-start day, participant and code,
    with the meeting's site, level and stage when counted (so a change can be subtracted)."""

    __tablename__ = "dashboard_meeting_contributions"
    # Date-filtered matrices read the days at the edges of a range from here.
    __table_args__ = (Index("ix_dashboard_meeting_contributions_study_day", "study_id", "day"),)

    meeting_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(primary_key=True, description="UTC day its sessions started.")
    participant_id: uuid.UUID = Field(primary_key=True)
    code_key: str = Field(max_length=64, primary_key=True)
    study_id: uuid.UUID
    site_id: uuid.UUID
    level: str = Field(max_length=16)
    stage: str = Field(max_length=16, description="Stage of change, or '' for none.")
    n: int


class ContributionCell(SQLModel, table=True):
    """`MeetingContribution` summed over meetings: one row per participant x meeting site
    x level x stage x code (a few thousand per study). Clustered by participant and code on
    SQLite, so the participant matrix sums them in one ordered pass (no sort)."""

    __tablename__ = "dashboard_contribution_cells"
    __table_args__ = {"sqlite_with_rowid": False}

    study_id: uuid.UUID = Field(primary_key=True)
    participant_id: uuid.UUID = Field(primary_key=True)
    code_key: str = Field(max_length=64, primary_key=True)
    site_id: uuid.UUID = Field(primary_key=True)
    level: str = Field(max_length=16, primary_key=True)
    stage: str = Field(max_length=16, primary_key=True)
    n: int


class PeriodCell(SQLModel, table=True):
    """`MeetingContribution` summed per calendar year or month of the session start
    (`span` 'y' or 'm', `starts_on` its first day) x participant x site x level x stage x
    code. Clustered by the key on SQLite, so a range of periods is one contiguous read."""

    __tablename__ = "dashboard_contribution_periods"
    __table_args__ = {"sqlite_with_rowid": False}

    study_id: uuid.UUID = Field(primary_key=True)
    span: str = Field(max_length=1, primary_key=True)
    starts_on: date = Field(primary_key=True)
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
