"""Studies and sites: who may manage them, and the checks every write passes."""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldscope.auth.models import Membership, Role, User
from fieldscope.changes import changed_fields
from fieldscope.codebook.service import seed_default_codebook
from fieldscope.common.models import Record, utcnow
from fieldscope.common.records import apply_patch
from fieldscope.common.validation import validate_record
from fieldscope.errors import AppError, conflict, forbidden, invalid, not_found
from fieldscope.meetings.models import Meeting
from fieldscope.participants.models import Participant
from fieldscope.registry import EntitySpec, register
from fieldscope.studies.access import (
    authorise,
    flush_unique,
    immutable,
    is_deleting,
    member_role,
    refuse_from_device,
)
from fieldscope.studies.models import Site, Study
from fieldscope.studies.schemas import (
    SiteCreate,
    SiteState,
    SiteUpdate,
    StudyCreate,
    StudyUpdate,
)

STUDY_FIELDS = ("name", "slug", "description", "ethics_reference", "starts_on", "ends_on")
SITE_FIELDS = ("study_id", "code", "name", "target_hours", "target_meetings")


# ---- checks shared by REST routes and sync (devices may only read studies and sites)


def check_study(session: Session, record: Record, actor: User, is_new: bool) -> None:
    assert isinstance(record, Study)
    refuse_from_device(session, "Studies")
    with session.no_autoflush:
        validate_record(StudyCreate, record, STUDY_FIELDS)
        if is_new:
            if not actor.is_admin:
                raise forbidden("Only an instance administrator can create studies.")
        else:
            changed = changed_fields(record)
            action = "delete the study" if is_deleting(changed, record) else "edit the study"
            member_role(session, actor, record.id, (Role.pi,), action)
        taken = session.exec(
            select(Study.id).where(Study.slug == record.slug, Study.id != record.id)
        ).first()
        if taken is not None:
            raise AppError(
                409,
                "slug_taken",
                f"Another study already uses the slug '{record.slug}'.",
                errors=[{"field": "slug", "message": "already used"}],
            )


def check_site(session: Session, record: Record, actor: User, is_new: bool) -> None:
    assert isinstance(record, Site)
    refuse_from_device(session, "Sites")
    with session.no_autoflush:
        validate_record(SiteState, record, SITE_FIELDS)
        changed = {} if is_new else changed_fields(record)
        immutable(changed, "study_id")
        authorise(session, actor, record.study_id, Role.pi, action="manage sites")
        if is_deleting(changed, record):
            _refuse_if_site_in_use(session, record)
            return
        clash = session.exec(
            select(Site.id).where(
                Site.study_id == record.study_id, Site.code == record.code, Site.id != record.id
            )
        ).first()
        if clash is not None:
            raise AppError(
                409,
                "duplicate_site_code",
                f"This study already has a site with code '{record.code}'.",
                errors=[{"field": "code", "message": "already used in this study"}],
            )


def _refuse_if_site_in_use(session: Session, site: Site) -> None:
    meetings = _count_live(session, Meeting, site.id)
    participants = _count_live(session, Participant, site.id)
    if meetings or participants:
        raise conflict(
            f"Site {site.code} still has {meetings} meeting(s) and {participants} "
            "participant(s); delete or move them first.",
            "site_in_use",
        )


def _count_live(
    session: Session, model: type[Meeting] | type[Participant], site_id: uuid.UUID
) -> int:
    return session.exec(
        select(func.count())
        .select_from(model)
        .where(model.site_id == site_id, col(model.deleted_at).is_(None))
    ).one()


register(EntitySpec("study", Study, frozenset(), check_study, deletable=False))
register(EntitySpec("site", Site, frozenset(), check_site, deletable=False))


# ---- operations behind the routes


def create_study(session: Session, actor: User, body: StudyCreate) -> Study:
    study = Study(**body.model_dump())
    check_study(session, study, actor, True)
    session.add(study)
    flush_unique(session, f"Another study already uses the slug '{study.slug}'.", "slug_taken")
    # The creator becomes its first PI; the default codebook makes it usable at once.
    session.add(Membership(user_id=actor.id, study_id=study.id, role=Role.pi))
    seed_default_codebook(session, study.id)
    return study


def update_study(session: Session, actor: User, study: Study, body: StudyUpdate) -> Study:
    apply_patch(study, body)
    check_study(session, study, actor, False)
    session.add(study)
    flush_unique(session, f"Another study already uses the slug '{study.slug}'.", "slug_taken")
    return study


def delete_study(session: Session, actor: User, study: Study) -> None:
    study.deleted_at = utcnow()
    check_study(session, study, actor, False)
    session.add(study)
    session.flush()


def get_site(session: Session, study_id: uuid.UUID, site_id: uuid.UUID) -> Site:
    site = session.get(Site, site_id)
    if site is None or site.study_id != study_id or site.deleted_at is not None:
        raise not_found("Site")
    return site


def site_filter(session: Session, study_id: uuid.UUID, site_id: uuid.UUID | None) -> None:
    """A list filter naming a site must name one of this study's live sites."""
    site = session.get(Site, site_id) if site_id is not None else None
    if site_id is not None and (site is None or site.study_id != study_id or site.deleted_at):
        raise invalid("site_id: there is no such site in this study.", "site_id", "unknown_site")


def create_site(session: Session, actor: User, study_id: uuid.UUID, body: SiteCreate) -> Site:
    site = Site(study_id=study_id, **body.model_dump())
    check_site(session, site, actor, True)
    session.add(site)
    flush_unique(session, f"This study already has a site '{site.code}'.", "duplicate_site_code")
    return site


def update_site(session: Session, actor: User, site: Site, body: SiteUpdate) -> Site:
    apply_patch(site, body)
    check_site(session, site, actor, False)
    session.add(site)
    flush_unique(session, f"This study already has a site '{site.code}'.", "duplicate_site_code")
    return site


def delete_site(session: Session, actor: User, site: Site) -> None:
    site.deleted_at = utcnow()
    check_site(session, site, actor, False)
    session.add(site)
    session.flush()
