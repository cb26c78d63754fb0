"""HTTP routes of observation sessions, interventions, field notes and journal write-ups."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from fieldscope.auth.models import Role
from fieldscope.db import WRITE_METHODS, SessionDep
from fieldscope.errors import AppError
from fieldscope.observations import queries as q
from fieldscope.observations import service as svc
from fieldscope.observations.models import FieldNote, Intervention
from fieldscope.observations.schemas import (
    ChildPageQuery,
    FieldNoteCreate,
    FieldNoteOut,
    FieldNotePage,
    FieldNoteUpdate,
    InterventionCreate,
    InterventionFilters,
    InterventionOut,
    InterventionPage,
    InterventionUpdate,
    JournalEntryOut,
    JournalPut,
    ObservationSessionOut,
    ObservationSessionPage,
    SessionAction,
    SessionCreate,
    SessionFilters,
    SessionTimeline,
    SessionUpdate,
    TimelineItem,
)
from fieldscope.studies.deps import Access, MemberAccess


async def _json_content(request: Request) -> None:
    """A body must be JSON: a form or text body is refused, not misread."""
    if request.method not in WRITE_METHODS or not await request.body():
        return
    given = request.headers.get("content-type", "")
    media = given.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise AppError(
            415,
            "unsupported_media_type",
            f"Send the body as JSON with 'Content-Type: application/json' "
            f"(got '{given or 'no content type'}').",
        )


async def _json_body(request: Request) -> None:
    if not await request.body():
        raise AppError(
            422,
            "empty_body",
            "The request body is empty; send a JSON object with the fields.",
            errors=[{"field": "body", "message": "empty"}],
        )


router = APIRouter(dependencies=[Depends(_json_content)])
_BODY = [Depends(_json_body)]
_SESSION = "/studies/{study_id}/sessions/{session_id}"


def _only_own(access: Access) -> uuid.UUID | None:
    """Fieldworkers list only their own records (as sync pull shows them)."""
    return access.user.id if access.role is Role.fieldworker else None


# --- observation sessions ------------------------------------------------------------------


@router.post(
    "/studies/{study_id}/sessions",
    status_code=status.HTTP_201_CREATED,
    dependencies=_BODY,
    tags=["sessions"],
)
def create_session(
    body: SessionCreate, access: MemberAccess, session: SessionDep
) -> ObservationSessionOut:
    """Start (or enter after the fact) your observation of a meeting."""
    return ObservationSessionOut.model_validate(svc.create_session(session, access, body))


@router.get(
    "/studies/{study_id}/sessions", tags=["sessions"], response_model=ObservationSessionPage
)
def list_sessions(
    filters: Annotated[SessionFilters, Query()],
    access: MemberAccess,
    session: SessionDep,
) -> ObservationSessionPage:
    """Sessions of the study, newest first. Fieldworkers see their own."""
    own = _only_own(access)
    rows, total = q.list_sessions(session, access.study.id, filters, own)
    return ObservationSessionPage(
        items=[ObservationSessionOut.model_validate(r) for r in rows],
        total=total,
        limit=filters.limit,
        offset=filters.offset,
    )


@router.get(_SESSION, tags=["sessions"])
def read_session(
    session_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> ObservationSessionOut:
    return ObservationSessionOut.model_validate(
        svc.load_session(session, access, session_id, write=False)
    )


@router.patch(_SESSION, dependencies=_BODY, tags=["sessions"])
def update_session(
    session_id: uuid.UUID,
    body: SessionUpdate,
    access: MemberAccess,
    session: SessionDep,
) -> ObservationSessionOut:
    """Change the fields sent; the duration is derived again."""
    return ObservationSessionOut.model_validate(
        svc.update_session(session, access, session_id, body)
    )


@router.delete(_SESSION, tags=["sessions"], status_code=status.HTTP_204_NO_CONTENT)
def delete_session(session_id: uuid.UUID, access: MemberAccess, session: SessionDep) -> None:
    """Soft-delete the session with its interventions, notes and write-up."""
    svc.delete_session(session, access, session_id)


@router.post(f"{_SESSION}/pause", tags=["sessions"])
def pause_session(
    session_id: uuid.UUID,
    access: MemberAccess,
    session: SessionDep,
    body: SessionAction | None = None,
) -> ObservationSessionOut:
    """Pause a running session at `at` (server time if no body)."""
    at = body.at if body else None
    return ObservationSessionOut.model_validate(
        svc.session_action(session, access, session_id, "pause", at)
    )


@router.post(f"{_SESSION}/resume", tags=["sessions"])
def resume_session(
    session_id: uuid.UUID,
    access: MemberAccess,
    session: SessionDep,
    body: SessionAction | None = None,
) -> ObservationSessionOut:
    """End the current pause at `at` (server time if no body)."""
    at = body.at if body else None
    return ObservationSessionOut.model_validate(
        svc.session_action(session, access, session_id, "resume", at)
    )


@router.post(f"{_SESSION}/end", tags=["sessions"])
def end_session(
    session_id: uuid.UUID,
    access: MemberAccess,
    session: SessionDep,
    body: SessionAction | None = None,
) -> ObservationSessionOut:
    """End the session at `at` (server time if no body), closing an open pause."""
    at = body.at if body else None
    return ObservationSessionOut.model_validate(
        svc.session_action(session, access, session_id, "end", at)
    )


@router.get(f"{_SESSION}/timeline", tags=["sessions"], response_model=SessionTimeline)
def read_session_timeline(
    session_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> SessionTimeline:
    """Interventions and field notes interleaved by offset (ties: creation order)."""
    obs = svc.load_session(session, access, session_id, write=False)
    items: list[TimelineItem] = []
    for row in q.timeline(session, obs.id):
        if isinstance(row, Intervention):
            out = InterventionOut.model_validate(row)
            items.append(
                TimelineItem(
                    type="intervention", offset_seconds=out.offset_seconds, intervention=out
                )
            )
        else:
            note = FieldNoteOut.model_validate(row)
            items.append(
                TimelineItem(type="field_note", offset_seconds=note.offset_seconds, field_note=note)
            )
    return SessionTimeline(session=ObservationSessionOut.model_validate(obs), items=items)


# --- interventions --------------------------------------------------------------------------


@router.post(
    f"{_SESSION}/interventions",
    status_code=status.HTTP_201_CREATED,
    dependencies=_BODY,
    tags=["interventions"],
)
def create_intervention(
    session_id: uuid.UUID,
    body: InterventionCreate,
    access: MemberAccess,
    session: SessionDep,
) -> InterventionOut:
    """Tag a clinical leader's intervention with a contribution (and optionally its form)."""
    return InterventionOut.model_validate(svc.create_child(session, access, session_id, body))


@router.get(f"{_SESSION}/interventions", tags=["interventions"], response_model=InterventionPage)
def list_session_interventions(
    session_id: uuid.UUID,
    page: Annotated[ChildPageQuery, Query()],
    access: MemberAccess,
    session: SessionDep,
) -> InterventionPage:
    """The session's interventions by offset."""
    obs = svc.load_session(session, access, session_id, write=False)
    rows, total = q.list_session_interventions(session, obs.id, page.limit, page.offset)
    return InterventionPage(
        items=[InterventionOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(f"{_SESSION}/interventions/{{intervention_id}}", tags=["interventions"])
def read_intervention(
    session_id: uuid.UUID,
    intervention_id: uuid.UUID,
    access: MemberAccess,
    session: SessionDep,
) -> InterventionOut:
    row = svc.read_child(session, access, session_id, Intervention, intervention_id)
    return InterventionOut.model_validate(row)


@router.patch(
    f"{_SESSION}/interventions/{{intervention_id}}",
    dependencies=_BODY,
    tags=["interventions"],
)
def update_intervention(
    session_id: uuid.UUID,
    intervention_id: uuid.UUID,
    body: InterventionUpdate,
    access: MemberAccess,
    session: SessionDep,
) -> InterventionOut:
    row = svc.update_child(session, access, session_id, Intervention, intervention_id, body)
    return InterventionOut.model_validate(row)


@router.delete(
    f"{_SESSION}/interventions/{{intervention_id}}",
    tags=["interventions"],
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_intervention(
    session_id: uuid.UUID,
    intervention_id: uuid.UUID,
    access: MemberAccess,
    session: SessionDep,
) -> None:
    svc.delete_child(session, access, session_id, Intervention, intervention_id)


@router.get(
    "/studies/{study_id}/interventions", tags=["interventions"], response_model=InterventionPage
)
def list_study_interventions(
    filters: Annotated[InterventionFilters, Query()],
    access: MemberAccess,
    session: SessionDep,
) -> InterventionPage:
    """Interventions across the study in the order they were recorded, filtered.

    `level` is the level of the observed meeting; the date range applies to the start of
    the session the intervention was recorded in.
    """
    own = _only_own(access)
    rows, total = q.list_study_interventions(session, access.study.id, filters, own)
    return InterventionPage(
        items=[InterventionOut.model_validate(r) for r in rows],
        total=total,
        limit=filters.limit,
        offset=filters.offset,
    )


# --- field notes ------------------------------------------------------------------------------


@router.post(
    f"{_SESSION}/notes",
    status_code=status.HTTP_201_CREATED,
    dependencies=_BODY,
    tags=["field-notes"],
)
def create_field_note(
    session_id: uuid.UUID,
    body: FieldNoteCreate,
    access: MemberAccess,
    session: SessionDep,
) -> FieldNoteOut:
    """A running note: observation, reflection, informal interview or method."""
    return FieldNoteOut.model_validate(svc.create_child(session, access, session_id, body))


@router.get(f"{_SESSION}/notes", tags=["field-notes"], response_model=FieldNotePage)
def list_field_notes(
    session_id: uuid.UUID,
    page: Annotated[ChildPageQuery, Query()],
    access: MemberAccess,
    session: SessionDep,
) -> FieldNotePage:
    """The session's notes by offset; notes without one last, in the order written."""
    obs = svc.load_session(session, access, session_id, write=False)
    rows, total = q.list_session_notes(session, obs.id, page.limit, page.offset)
    return FieldNotePage(
        items=[FieldNoteOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(f"{_SESSION}/notes/{{note_id}}", tags=["field-notes"])
def read_field_note(
    session_id: uuid.UUID,
    note_id: uuid.UUID,
    access: MemberAccess,
    session: SessionDep,
) -> FieldNoteOut:
    row = svc.read_child(session, access, session_id, FieldNote, note_id)
    return FieldNoteOut.model_validate(row)


@router.patch(f"{_SESSION}/notes/{{note_id}}", dependencies=_BODY, tags=["field-notes"])
def update_field_note(
    session_id: uuid.UUID,
    note_id: uuid.UUID,
    body: FieldNoteUpdate,
    access: MemberAccess,
    session: SessionDep,
) -> FieldNoteOut:
    row = svc.update_child(session, access, session_id, FieldNote, note_id, body)
    return FieldNoteOut.model_validate(row)


@router.delete(
    f"{_SESSION}/notes/{{note_id}}",
    tags=["field-notes"],
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_field_note(
    session_id: uuid.UUID,
    note_id: uuid.UUID,
    access: MemberAccess,
    session: SessionDep,
) -> None:
    svc.delete_child(session, access, session_id, FieldNote, note_id)


# --- the journal write-up ----------------------------------------------------------------------


@router.put(
    f"{_SESSION}/journal", tags=["journal"], response_model=JournalEntryOut, dependencies=_BODY
)
def put_journal_entry(
    session_id: uuid.UUID,
    body: JournalPut,
    access: MemberAccess,
    session: SessionDep,
) -> JournalEntryOut:
    """Write or replace the session's field-journal write-up (one per session)."""
    row = svc.put_journal(session, access, session_id, body.text)
    return JournalEntryOut.model_validate(row)


@router.get(f"{_SESSION}/journal", tags=["journal"], response_model=JournalEntryOut)
def read_journal_entry(
    session_id: uuid.UUID, access: MemberAccess, session: SessionDep
) -> JournalEntryOut:
    return JournalEntryOut.model_validate(svc.read_journal(session, access, session_id))


@router.delete(f"{_SESSION}/journal", tags=["journal"], status_code=status.HTTP_204_NO_CONTENT)
def delete_journal_entry(session_id: uuid.UUID, access: MemberAccess, session: SessionDep) -> None:
    svc.delete_journal(session, access, session_id)
