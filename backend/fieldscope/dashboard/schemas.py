"""Responses of the PI and analyst dashboard. Participants appear only as pseudonym codes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from fieldscope.totals.schemas import StudyTotals


class Dimension(StrEnum):
    participant = "participant"
    level = "level"
    site = "site"
    stage = "stage"


class Filters(BaseModel):
    """The filters a response was computed with (echoed so a chart can label itself)."""

    site_id: uuid.UUID | None = None
    level: str | None = Field(default=None, description="Meeting level.")
    date_from: date | None = Field(default=None, description="Sessions started on or after.")
    date_to: date | None = Field(default=None, description="Sessions started on or before.")


# --- progress -------------------------------------------------------------------------


class WeekSite(BaseModel):
    site_id: uuid.UUID
    code: str
    meetings: int
    hours: float = Field(description="Observed hours, co-observed time counted once (2 dp).")
    seconds: float


class WeekPoint(BaseModel):
    week: str = Field(description="ISO week, e.g. 2024-W09 (UTC).")
    starts_on: date = Field(description="The Monday of the week.")
    meetings: int
    hours: float
    seconds: float
    sites: list[WeekSite] = Field(description="Sites with observation that week, by code.")


class FieldworkerProgress(BaseModel):
    user_id: uuid.UUID
    display_name: str
    sessions: int = Field(description="Ended sessions.")
    open_sessions: int
    meetings: int = Field(description="Distinct meetings with an ended session of theirs.")
    co_observed_meetings: int = Field(description="Of those, meetings another observer saw too.")
    observer_hours: float = Field(description="Sum of their session durations (2 dp).")
    observer_seconds: float
    first_session_at: datetime | None
    last_session_at: datetime | None


class ObservationProgress(BaseModel):
    """Hours and meetings per site against targets (the totals), per ISO week, per observer.

    Each meeting counts once, in the week its first ended session started; its hours follow
    the totals' co-observation rule, so the weeks add up to `totals.total`."""

    totals: StudyTotals
    weeks: list[WeekPoint] = Field(description="Weeks with observation only, oldest first.")
    fieldworkers: list[FieldworkerProgress]


# --- participants by site x level (Table 1) --------------------------------------------


class ParticipantCell(BaseModel):
    participants: int = Field(description="Participants (not deleted).")
    clinical_leaders: int = Field(description="Of those, clinical leaders.")
    without_consent: int = Field(description="Of those, consent declined or withdrawn.")
    pending_review: int = Field(description="Of those, stubs added in the field awaiting review.")


class SiteColumn(BaseModel):
    site_id: uuid.UUID
    code: str
    name: str


class ParticipantRow(BaseModel):
    level: str = Field(description="executive, thematic, project, or unassigned.")
    cells: list[ParticipantCell] = Field(description="One per site, in the order of `sites`.")
    total: ParticipantCell


class ParticipantTable(BaseModel):
    """The shape of the study's Table 1: levels down, sites across."""

    sites: list[SiteColumn]
    rows: list[ParticipantRow]
    totals: list[ParticipantCell] = Field(description="Per site, all levels.")
    total: ParticipantCell


# --- contribution matrices -------------------------------------------------------------


class MatrixColumn(BaseModel):
    key: str = Field(description="Contribution code key.")
    label: str
    colour: str


class MatrixRow(BaseModel):
    key: str = Field(description="Participant id, level, site id, or stage of change.")
    label: str = Field(description="Pseudonym code, level, site code, or stage.")
    site_code: str | None = Field(default=None, description="Participant rows: their site.")
    level: str | None = Field(default=None, description="Participant rows: their level.")
    is_clinical_leader: bool | None = None
    counts: list[int] = Field(description="Interventions per column, in column order.")
    total: int


class ContributionMatrix(BaseModel):
    """Counts of tagged interventions for a heatmap. Interventions of participants whose
    consent is declined or withdrawn, and deleted records, are never counted. In a
    co-observed meeting every observer's tags count (see `co_observed_meetings`)."""

    dimension: Dimension
    filters: Filters
    columns: list[MatrixColumn]
    rows: list[MatrixRow]
    column_totals: list[int]
    total: int
    co_observed_meetings: int = Field(
        description="Meetings in scope with two or more ended sessions (the totals' "
        "co-observed meetings): each observer's tags count, so these meetings weigh more."
    )
    excluded_participants: int = Field(
        description="Participants left out for declined or withdrawn consent."
    )


# --- data quality ----------------------------------------------------------------------


class QualityParams(BaseModel):
    open_hours: float
    max_hours: float
    unsynced_days: float
    skew_seconds: float
    limit: int


class SessionIssue(BaseModel):
    session_id: uuid.UUID
    meeting_id: uuid.UUID
    meeting_title: str
    site_code: str
    level: str
    observer_id: uuid.UUID
    observer_name: str
    started_at: datetime
    ended_at: datetime | None
    duration_hours: float | None = Field(description="Observed hours (pauses excluded).")


class SessionCheck(BaseModel):
    count: int = Field(description="All findings; `items` holds at most `limit` of them.")
    items: list[SessionIssue]


class OverlapIssue(BaseModel):
    observer_id: uuid.UUID
    observer_name: str
    first: SessionIssue
    second: SessionIssue
    overlap_minutes: float


class OverlapCheck(BaseModel):
    count: int
    items: list[OverlapIssue]


class DeviceIssue(BaseModel):
    client_id: uuid.UUID
    user_id: uuid.UUID
    user_name: str
    user_agent: str
    last_push_at: datetime | None
    last_pull_at: datetime | None
    days_since_sync: float | None = Field(description="Null when it never synced.")
    last_clock_skew_seconds: float | None = Field(
        description="Device minus server at its last push (positive: device ahead)."
    )
    max_ahead_seconds: float | None = Field(
        description="Largest device_time - received_at over its last 500 mutations. Only a "
        "clock ahead shows here: a clock behind looks like an offline delay."
    )


class DeviceCheck(BaseModel):
    count: int
    items: list[DeviceIssue]


class ConflictIssue(BaseModel):
    conflict_id: uuid.UUID
    entity: str
    record_id: uuid.UUID
    field: str
    created_at: datetime
    winning_author: str | None
    losing_author: str | None


class ConflictCheck(BaseModel):
    count: int
    items: list[ConflictIssue]


class StubIssue(BaseModel):
    participant_id: uuid.UUID
    code: str
    site_code: str
    level: str | None
    role_title: str
    created_at: datetime


class StubCheck(BaseModel):
    count: int
    items: list[StubIssue]


class DataQuality(BaseModel):
    checked_at: datetime
    params: QualityParams
    open_sessions: SessionCheck = Field(description="Never ended, started over open_hours ago.")
    long_sessions: SessionCheck = Field(description="Observed longer than max_hours.")
    overlapping_sessions: OverlapCheck = Field(description="One observer, two ended sessions.")
    clock_skew: DeviceCheck = Field(description="Devices whose clock is off by > skew_seconds.")
    unsynced_devices: DeviceCheck = Field(description="No push or pull for unsynced_days.")
    unresolved_conflicts: ConflictCheck
    pending_participants: StubCheck


# --- inter-rater agreement -------------------------------------------------------------


class AgreementStats(BaseModel):
    pairs: int = Field(description="Matched pairs of interventions.")
    agreements: int = Field(description="Matched pairs with the same contribution.")
    percent_agreement: float | None = Field(description="100 * agreements / pairs.")
    kappa: float | None = Field(
        description="Cohen's kappa; null with no pairs or when both used one code only."
    )


class ObserverRef(BaseModel):
    user_id: uuid.UUID
    display_name: str


class ConfusionCell(BaseModel):
    a: str = Field(description="Code given by observer a.")
    b: str = Field(description="Code given by observer b.")
    count: int


class UnmatchedTag(BaseModel):
    intervention_id: uuid.UUID
    observer_id: uuid.UUID
    unmatched_against: uuid.UUID = Field(description="The observer with no matching tag.")
    participant_code: str
    code_key: str
    at: datetime = Field(description="Session start + offset.")


class PairAgreement(BaseModel):
    observer_a: ObserverRef
    observer_b: ObserverRef
    stats: AgreementStats
    confusion: list[ConfusionCell]
    unmatched: list[UnmatchedTag]


class MeetingAgreement(BaseModel):
    meeting_id: uuid.UUID
    title: str
    site_id: uuid.UUID
    site_code: str
    level: str
    scheduled_start: datetime | None
    observers: list[ObserverRef]
    stats: AgreementStats = Field(description="Pooled over the meeting's observer pairs.")
    pairs: list[PairAgreement]


class SiteAgreement(BaseModel):
    site_id: uuid.UUID
    code: str
    meetings: int
    stats: AgreementStats


class AgreementReport(BaseModel):
    """Agreement between fieldworkers on the contribution of the same interventions.

    Tags align when they name the same participant within `window_seconds` (greedy nearest
    matching); three or more observers are compared pairwise; site and overall figures pool
    the matched pairs of their meetings."""

    window_seconds: float
    filters: Filters
    overall: AgreementStats
    sites: list[SiteAgreement]
    meetings: list[MeetingAgreement]
    unmatched_total: int
