"""Observation totals per study, site and level (the figures PIs track against targets).

How co-observation counts: a meeting counts once, however many fieldworkers observed it.
Its `hours` are the length of the union of its sessions' observed intervals (each session's
span minus its pauses), so two fieldworkers in the same hour count one hour. `observer_hours`
is the plain sum of session durations (fieldworker effort) and is reported separately.
Only ended, non-deleted sessions of non-deleted meetings of non-deleted sites count; running
sessions are reported as `open_sessions`. `seconds` fields are exact; `hours` are rounded.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class LevelTally(BaseModel):
    meetings: int = Field(description="Meetings of this level with at least one ended session.")
    hours: float = Field(description="Observed hours, co-observed time counted once (2 dp).")
    seconds: float = Field(description="Observed seconds, exact.")
    observer_hours: float = Field(description="Sum of session durations in hours (2 dp).")


class Levels(BaseModel):
    executive: LevelTally
    thematic: LevelTally
    project: LevelTally


class ClinicalLeaders(BaseModel):
    """Participants flagged as clinical leaders (not deleted), by level: Table 1's shape."""

    executive: int
    thematic: int
    project: int
    total: int = Field(description="All clinical leaders, including any without a level.")


class Progress(BaseModel):
    """Observed / target as fractions (1.0 = target met; may exceed 1); null without a target."""

    hours: float | None
    meetings: float | None


class Tally(BaseModel):
    meetings: int = Field(description="Meetings with at least one ended session; each once.")
    hours: float = Field(description="Observed hours, co-observed time counted once (2 dp).")
    seconds: float = Field(description="Observed seconds, exact.")
    observer_hours: float = Field(description="Sum of all session durations in hours (2 dp).")
    observer_seconds: float = Field(description="Sum of all session durations, exact.")
    sessions: int = Field(description="Ended observation sessions.")
    co_observed_meetings: int = Field(description="Meetings with two or more ended sessions.")
    open_sessions: int = Field(description="Sessions still running (not counted in hours).")
    target_hours: float
    target_meetings: int
    progress: Progress
    levels: Levels
    clinical_leaders: ClinicalLeaders


class SiteKey(BaseModel):
    site_id: uuid.UUID
    code: str
    name: str


class SiteTotals(Tally, SiteKey):
    pass


class StudyTotals(BaseModel):
    study_id: uuid.UUID
    study: str = Field(description="The study's slug.")
    name: str
    total: Tally
    sites: list[SiteTotals] = Field(description="Every site of the study, by code.")
