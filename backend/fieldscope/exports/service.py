"""Who may export what, with which filters; every export is resolved into an ExportScope.

The scope holds only ids and flags: the streamed body reads everything else again in its
own read transaction (one snapshot), after the request's session has closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from fieldscope.audit.models import AuditEvent
from fieldscope.auth.models import Role, User
from fieldscope.auth.service import require_role
from fieldscope.common.validation import day_in_range
from fieldscope.errors import AppError, forbidden, invalid, not_found
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import ObservationSession
from fieldscope.participants.models import Consent, Level, Participant
from fieldscope.studies.models import Site, Study


class ExportKind(StrEnum):
    journal = "journal"  # one session's field journal
    journals = "journals"  # a bundle of journals for a filter
    tidy = "tidy"  # CSV data package, per-table CSV, JSON
    qdpx = "qdpx"
    qdc = "qdc"


@dataclass(frozen=True)
class ExportFilters:
    """Which records an export covers (see docs/exports.md for the exact semantics)."""

    site_ids: tuple[uuid.UUID, ...] = ()
    site_codes: tuple[str, ...] = ()
    levels: tuple[Level, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    participant_ids: tuple[uuid.UUID, ...] = ()
    participant_codes: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """JSON-ready, by codes (never ids or names), for headers, metadata and the audit."""
        return {
            "site": list(self.site_codes),
            "level": [lv.value for lv in self.levels],
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "participant": list(self.participant_codes),
        }

    def is_empty(self) -> bool:
        return not (
            self.site_ids or self.levels or self.date_from or self.date_to or self.participant_ids
        )


@dataclass(frozen=True)
class ExportScope:
    study_id: uuid.UUID
    filters: ExportFilters = field(default_factory=ExportFilters)
    # Set for fieldworkers: only sessions they observed.
    observer_id: uuid.UUID | None = None
    include_real_names: bool = False
    exporter_id: uuid.UUID | None = None


EXPORTERS = (Role.pi, Role.analyst)


def authorise(
    session: Session,
    user: User,
    study_id: uuid.UUID,
    kind: ExportKind,
    *,
    include_real_names: bool = False,
) -> uuid.UUID | None:
    """Check the user may make this export; returns the observer to restrict to, if any.

    Outsiders get 404 (require_role); PIs and analysts export everything; fieldworkers
    only the journals of their own sessions; real names only for a PI who asks.
    """
    if kind in (ExportKind.journal, ExportKind.journals):
        role = require_role(session, user, study_id, *EXPORTERS, Role.fieldworker)
    else:
        role = require_role(session, user, study_id)
        if role is Role.fieldworker:
            raise forbidden(
                "Fieldworkers can export only the field journals of their own sessions."
            )
    if include_real_names and role is not Role.pi:
        raise forbidden("Only a PI of this study can export participants' real names.")
    return user.id if role is Role.fieldworker else None


def check_session_access(
    session: Session, study_id: uuid.UUID, session_id: uuid.UUID, observer_id: uuid.UUID | None
) -> ObservationSession:
    obs = session.get(ObservationSession, session_id)
    meeting = session.get(Meeting, obs.meeting_id) if obs else None
    if obs is None or obs.study_id != study_id or obs.deleted_at is not None:
        raise not_found("Observation session")
    if meeting is None or meeting.deleted_at is not None:
        raise not_found("Observation session")
    if observer_id is not None and obs.observer_id != observer_id:
        raise forbidden("Fieldworkers can export only the field journals of their own sessions.")
    return obs


def resolve_filters(
    session: Session,
    study_id: uuid.UUID,
    *,
    sites: Sequence[str] = (),
    levels: Sequence[Level] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    participants: Sequence[str] = (),
) -> ExportFilters:
    """Turn codes into ids; an unknown code is a 422 naming it, never an empty export."""
    # The API's dates are `Day`s already; the CLI's are checked here.
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if day is not None:
            try:
                day_in_range(day)
            except ValueError as exc:
                raise invalid(f"{name}: {exc}", field=name) from None
    if date_from and date_to and date_from > date_to:
        raise invalid(f"date_from ({date_from}) is after date_to ({date_to}).", field="date_from")
    site_codes = tuple(dict.fromkeys(s.strip() for s in sites if s.strip()))
    site_ids: list[uuid.UUID] = []
    if site_codes:
        rows = session.exec(
            select(Site).where(
                Site.study_id == study_id,
                col(Site.code).in_(site_codes),
                col(Site.deleted_at).is_(None),
            )
        ).all()
        by_code = {s.code: s.id for s in rows}
        missing = [c for c in site_codes if c not in by_code]
        if missing:
            raise invalid(f"No site with code {', '.join(missing)} in this study.", field="site")
        site_ids = [by_code[c] for c in site_codes]
    codes = tuple(dict.fromkeys(p.strip() for p in participants if p.strip()))
    participant_ids: list[uuid.UUID] = []
    if codes:
        people = session.exec(
            select(Participant).where(
                Participant.study_id == study_id,
                col(Participant.code).in_(codes),
                col(Participant.deleted_at).is_(None),
            )
        ).all()
        by_pcode = {p.code: p for p in people}
        missing = [c for c in codes if c not in by_pcode]
        if missing:
            raise invalid(
                f"No participant with code {', '.join(missing)} in this study.",
                field="participant",
            )
        excluded = [c for c in codes if by_pcode[c].consent is not Consent.consented]
        if excluded:
            raise AppError(
                422,
                "participant_not_consented",
                f"{', '.join(excluded)} did not consent or withdrew consent: "
                "nothing of theirs is exported.",
                errors=[{"field": "participant", "message": "consent withdrawn or declined"}],
            )
        participant_ids = [by_pcode[c].id for c in codes]
    return ExportFilters(
        site_ids=tuple(site_ids),
        site_codes=site_codes,
        levels=tuple(dict.fromkeys(levels)),
        date_from=date_from,
        date_to=date_to,
        participant_ids=tuple(participant_ids),
        participant_codes=codes,
    )


def study_or_404(session: Session, study_id: uuid.UUID) -> Study:
    study = session.get(Study, study_id)
    if study is None or study.deleted_at is not None:
        raise not_found("Study")
    return study


def record_export(
    session: Session,
    scope: ExportScope,
    kind: ExportKind,
    fmt: str,
    *,
    via: str = "api",
    target: uuid.UUID | None = None,
) -> None:
    """Audit who exported what: real-name exports above all must be traceable."""
    session.add(
        AuditEvent(
            actor_id=scope.exporter_id,
            study_id=scope.study_id,
            entity="export",
            entity_id=target or uuid.uuid4(),
            action="export",
            after={
                "kind": kind.value,
                "format": fmt,
                "filters": scope.filters.describe(),
                "include_real_names": scope.include_real_names,
                "own_sessions_only": scope.observer_id is not None,
            },
            via=via,
        )
    )
