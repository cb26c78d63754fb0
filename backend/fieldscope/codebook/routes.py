from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from fieldscope.auth.models import Role
from fieldscope.codebook import service
from fieldscope.codebook.models import Code, CodebookVersion
from fieldscope.codebook.schemas import (
    CodeCreate,
    CodeOut,
    CodeUpdate,
    VersionCreate,
    VersionDetail,
    VersionOut,
    VersionUpdate,
)
from fieldscope.db import SessionDep
from fieldscope.studies.deps import Access, MemberAccess, study_access

router = APIRouter(tags=["codebook"])

Editor = Annotated[Access, Depends(study_access(Role.pi, action="edit the codebook"))]
BASE = "/studies/{study_id}/codebook/versions"
ONE = BASE + "/{version_id}"


@router.get(BASE, response_model=list[VersionOut])
def list_codebook_versions(access: MemberAccess, session: SessionDep) -> list[CodebookVersion]:
    """The study's codebook versions by number; `published_at` null marks the draft."""
    return service.list_versions(session, access.study.id)


@router.post(BASE, response_model=VersionDetail, status_code=status.HTTP_201_CREATED)
def create_codebook_draft(
    body: VersionCreate, access: Editor, session: SessionDep
) -> VersionDetail:
    """PIs start a new draft version: a copy of the latest version's codes. One draft at a
    time (409 while another is open)."""
    draft = service.create_draft(session, access.user, access.study.id, body.label)
    return service.version_detail(session, draft)


@router.get(ONE, response_model=VersionDetail)
def read_codebook_version(
    version_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> VersionDetail:
    """A version with its codes: contributions with their forms, then the other groups
    (sources of influence, secondary effects). Retired codes are included, flagged."""
    version = service.get_version(session, access.study.id, version_id)
    return service.version_detail(session, version)


@router.patch(ONE, response_model=VersionOut)
def update_codebook_draft(
    version_id: uuid.UUID, body: VersionUpdate, access: Editor, session: SessionDep
) -> CodebookVersion:
    """Relabel a draft (409 once published: published versions are immutable)."""
    version = service.get_version(session, access.study.id, version_id)
    return service.update_version(session, access.user, version, body.label)


@router.delete(ONE, status_code=status.HTTP_204_NO_CONTENT)
def discard_codebook_draft(version_id: uuid.UUID, access: Editor, session: SessionDep) -> None:
    """Discard a draft that was never published (409 for a published version)."""
    version = service.get_version(session, access.study.id, version_id)
    service.discard_draft(session, access.user, version)


@router.post(ONE + "/publish", response_model=VersionDetail)
def publish_codebook_version(
    version_id: uuid.UUID, access: Editor, session: SessionDep
) -> VersionDetail:
    """Publish a draft: from now on devices may tag with it and nothing in it changes."""
    version = service.get_version(session, access.study.id, version_id)
    return service.version_detail(session, service.publish(session, access.user, version))


@router.post(ONE + "/codes", response_model=CodeOut, status_code=status.HTTP_201_CREATED)
def add_code(version_id: uuid.UUID, body: CodeCreate, access: Editor, session: SessionDep) -> Code:
    """Add a code (or, with `parent_key`, a form of a contribution) to a draft."""
    version = service.get_version(session, access.study.id, version_id)
    return service.add_code(session, access.user, version, body)


@router.patch(ONE + "/codes/{code_id}", response_model=CodeOut)
def update_code(
    version_id: uuid.UUID,
    code_id: uuid.UUID,
    body: CodeUpdate,
    access: Editor,
    session: SessionDep,
) -> Code:
    """Rename, reorder or retire a code of a draft; retiring a contribution retires its
    forms."""
    version = service.get_version(session, access.study.id, version_id)
    code = service.get_code(session, version, code_id)
    return service.update_code(session, access.user, code, body)
