from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from fieldscope.auth.deps import CurrentUser
from fieldscope.auth.models import Role
from fieldscope.common.pagination import Paging, fetch_page
from fieldscope.db import SessionDep
from fieldscope.studies import queries, service
from fieldscope.studies.deps import Access, MemberAccess, study_access
from fieldscope.studies.models import Site, Study
from fieldscope.studies.schemas import (
    SiteCreate,
    SiteOut,
    SiteUpdate,
    StudyCreate,
    StudyOut,
    StudyPage,
    StudyUpdate,
)

router = APIRouter(tags=["studies"])

EditStudy = Annotated[Access, Depends(study_access(Role.pi, action="edit the study"))]
DeleteStudy = Annotated[Access, Depends(study_access(Role.pi, action="delete the study"))]
ManageSites = Annotated[Access, Depends(study_access(Role.pi, action="manage sites"))]


def _out(study: Study, role: Role | None) -> StudyOut:
    return StudyOut.model_validate(study).model_copy(update={"my_role": role})


@router.post("/studies", response_model=StudyOut, status_code=status.HTTP_201_CREATED)
def create_study(body: StudyCreate, user: CurrentUser, session: SessionDep) -> StudyOut:
    """Instance administrators create studies; the creator becomes its PI and the study
    starts with the default codebook (version 1, published)."""
    return _out(service.create_study(session, user, body), Role.pi)


@router.get("/studies", response_model=StudyPage)
def list_studies(user: CurrentUser, session: SessionDep, paging: Paging) -> StudyPage:
    """The studies you belong to (administrators: every study), by name."""
    rows, total = fetch_page(session, queries.studies_visible_to(user), paging)
    return StudyPage(
        items=[_out(study, role) for study, role in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/studies/{study_id}", response_model=StudyOut)
def read_study(access: MemberAccess) -> StudyOut:
    return _out(access.study, access.role)


@router.patch("/studies/{study_id}", response_model=StudyOut)
def update_study(body: StudyUpdate, access: EditStudy, session: SessionDep) -> StudyOut:
    """PIs edit the study; only the keys sent change."""
    return _out(service.update_study(session, access.user, access.study, body), access.role)


@router.delete("/studies/{study_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_study(access: DeleteStudy, session: SessionDep) -> None:
    """PIs delete a study (a soft delete: it disappears for everyone, nothing is erased)."""
    service.delete_study(session, access.user, access.study)


@router.get("/studies/{study_id}/sites", response_model=list[SiteOut])
def list_sites(access: MemberAccess, session: SessionDep) -> list[Site]:
    """The study's sites by code, with their targets. Any member may read."""
    return queries.sites_of(session, access.study.id)


@router.post(
    "/studies/{study_id}/sites", response_model=SiteOut, status_code=status.HTTP_201_CREATED
)
def create_site(body: SiteCreate, access: ManageSites, session: SessionDep) -> Site:
    return service.create_site(session, access.user, access.study.id, body)


@router.get("/studies/{study_id}/sites/{site_id}", response_model=SiteOut)
def read_site(site_id: uuid.UUID, access: MemberAccess, session: SessionDep) -> Site:
    return service.get_site(session, access.study.id, site_id)


@router.patch("/studies/{study_id}/sites/{site_id}", response_model=SiteOut)
def update_site(
    site_id: uuid.UUID, body: SiteUpdate, access: ManageSites, session: SessionDep
) -> Site:
    site = service.get_site(session, access.study.id, site_id)
    return service.update_site(session, access.user, site, body)


@router.delete("/studies/{study_id}/sites/{site_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_site(site_id: uuid.UUID, access: ManageSites, session: SessionDep) -> None:
    """Soft-deletes a site that no live meeting or participant uses (409 otherwise)."""
    site = service.get_site(session, access.study.id, site_id)
    service.delete_site(session, access.user, site)
