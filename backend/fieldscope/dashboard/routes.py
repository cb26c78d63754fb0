"""Dashboard API: PIs and analysts read; fieldworkers get 403; outsiders 404."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from fieldscope.auth.deps import CurrentUser
from fieldscope.auth.models import Role, User
from fieldscope.auth.service import require_role
from fieldscope.common.validation import Day
from fieldscope.dashboard import service
from fieldscope.dashboard.queries import Scope
from fieldscope.dashboard.schemas import (
    AgreementReport,
    ContributionMatrix,
    DataQuality,
    Dimension,
    ObservationProgress,
    ParticipantTable,
    QualityParams,
)
from fieldscope.db import SessionDep
from fieldscope.participants.models import Level

router = APIRouter(prefix="/studies/{study_id}/dashboard", tags=["dashboard"])


def _reader(session: Session, user: User, study_id: uuid.UUID) -> None:
    require_role(session, user, study_id, Role.pi, Role.analyst)


def scope(
    study_id: uuid.UUID,
    site_id: Annotated[uuid.UUID | None, Query(description="Only this site.")] = None,
    level: Annotated[Level | None, Query(description="Only meetings of this level.")] = None,
    date_from: Annotated[
        Day | None, Query(description="Sessions started on or after this day (UTC).")
    ] = None,
    date_to: Annotated[
        Day | None, Query(description="Sessions started on or before this day (UTC).")
    ] = None,
) -> Scope:
    return Scope(
        study_id=study_id,
        site_id=site_id,
        level=None if level is None else level.value,
        date_from=date_from,
        date_to=date_to,
    )


ScopeDep = Annotated[Scope, Depends(scope)]


@router.get("/progress", response_model=ObservationProgress)
def read_observation_progress(
    study_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> ObservationProgress:
    """Hours and meetings per site and level against targets (the study totals), per ISO
    week, and per fieldworker."""
    _reader(session, user, study_id)
    return service.observation_progress(session, study_id)


@router.get("/participants", response_model=ParticipantTable)
def read_participant_table(
    study_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> ParticipantTable:
    """Participants by level and site (the shape of the study's Table 1)."""
    _reader(session, user, study_id)
    return service.participant_table(session, study_id)


@router.get("/contributions/{dimension}", response_model=ContributionMatrix)
def read_contribution_matrix(
    study_id: uuid.UUID,
    dimension: Dimension,
    filters: ScopeDep,
    user: CurrentUser,
    session: SessionDep,
) -> ContributionMatrix:
    """Interventions counted by participant, meeting level, site or stage of change against
    contribution codes, for a heatmap. Participants without consent are never counted."""
    _reader(session, user, study_id)
    return service.contribution_matrix(session, filters, dimension)


@router.get("/quality", response_model=DataQuality)
def read_data_quality(
    study_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    open_hours: Annotated[
        float, Query(gt=0, le=24 * 365, description="A running session older than this.")
    ] = 12,
    max_hours: Annotated[
        float, Query(gt=0, le=24 * 7, description="An observed duration longer than this.")
    ] = 6,
    unsynced_days: Annotated[
        float, Query(gt=0, le=3650, description="A device silent for longer than this.")
    ] = 7,
    skew_seconds: Annotated[
        float, Query(gt=0, le=10**9, description="A device clock off by more than this.")
    ] = 300,
    limit: Annotated[int, Query(ge=1, le=1000, description="Items listed per check.")] = 100,
) -> DataQuality:
    """Data-quality findings: sessions never ended, implausible durations, overlapping
    sessions of one observer, device clock skew, unsynced devices, sync conflicts and
    participant stubs awaiting review."""
    _reader(session, user, study_id)
    params = QualityParams(
        open_hours=open_hours,
        max_hours=max_hours,
        unsynced_days=unsynced_days,
        skew_seconds=skew_seconds,
        limit=limit,
    )
    return service.data_quality(session, study_id, params)


@router.get("/agreement", response_model=AgreementReport)
def read_agreement(
    study_id: uuid.UUID,
    filters: ScopeDep,
    user: CurrentUser,
    session: SessionDep,
    window_seconds: Annotated[
        float,
        Query(ge=0, le=3600, description="Largest time gap between two tags that align."),
    ] = 30,
    meeting_id: Annotated[uuid.UUID | None, Query(description="Only this meeting.")] = None,
) -> AgreementReport:
    """Inter-rater agreement (Cohen's kappa, percent agreement) on the contribution code,
    per co-observed meeting, per site and overall, with unmatched interventions."""
    _reader(session, user, study_id)
    scoped = replace(filters, meeting_id=meeting_id)
    return service.agreement_report(session, scoped, window_seconds)
