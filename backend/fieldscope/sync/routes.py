"""Sync endpoints (docs/sync-protocol.md) and PI review of sync conflicts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from fieldscope.auth.deps import CurrentUser
from fieldscope.common.pagination import Paging
from fieldscope.db import SessionDep
from fieldscope.sync import review, service
from fieldscope.sync.http import PushRoute, push_gate
from fieldscope.sync.limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MUTATIONS,
    PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX,
)
from fieldscope.sync.queries import pull_page
from fieldscope.sync.schemas import (
    ConflictOut,
    ConflictPage,
    PullResponse,
    PushRequest,
    PushResponse,
    ResolveRequest,
)

router = APIRouter(tags=["sync"])
_push = APIRouter(tags=["sync"], route_class=PushRoute)

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


@_push.post(
    "/sync/push",
    response_model=PushResponse,
    dependencies=[Depends(push_gate)],
    responses={
        409: {
            "description": "seq_conflict, seq_gap (with expected_seq), "
            "mutation_id_reused or client_owned_by_other_user; nothing applied.",
            **_PROBLEM,
        },
        413: {
            "description": f"More than {MAX_BATCH_MUTATIONS} mutations or "
            f"{MAX_BATCH_BYTES} bytes; nothing applied.",
            **_PROBLEM,
        },
        422: {"description": "Malformed push, naming the mutation; nothing applied.", **_PROBLEM},
        426: {"description": "Another protocol version; keep the outbox.", **_PROBLEM},
    },
)
def push_mutations(
    body: PushRequest, user: CurrentUser, session: SessionDep, request: Request
) -> Response:
    """Apply queued mutations exactly once, in client_seq order. Each gets an outcome:
    applied, applied_with_conflict or rejected (with a reason; the seq still advances).
    A replay of a known (client_id, client_seq, mutation_id) returns the stored outcome."""
    result = service.push(session, user, body, user_agent=request.headers.get("user-agent", ""))
    return Response(result.model_dump_json(), media_type="application/json")


router.include_router(_push)


@router.get("/sync/pull", response_model=PullResponse)
def pull_changes(
    user: CurrentUser,
    session: SessionDep,
    cursor: Annotated[int, Query(ge=0, le=2**62, description="next_cursor of the last page.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=PULL_LIMIT_MAX, description=f"Changes per page, 1 to {PULL_LIMIT_MAX}.")
    ] = PULL_LIMIT_DEFAULT,
    epoch: Annotated[
        uuid.UUID | None, Query(description="server_epoch the device holds; a change resets.")
    ] = None,
) -> Response:
    """The change log after `cursor` that the user may see, in commit order, one bounded
    page at a time. The last page (has_more false) carries the user's site totals."""
    return Response(pull_page(session, user, cursor, limit, epoch), media_type="application/json")


@router.get("/studies/{study_id}/conflicts", response_model=ConflictPage)
def list_sync_conflicts(
    study_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    paging: Paging,
    unresolved: Annotated[
        bool | None, Query(description="true: open ones only; false: resolved only.")
    ] = None,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    record_id: uuid.UUID | None = None,
) -> ConflictPage:
    """Sync conflicts of the study (PIs): the losing value, both authors and versions."""
    return review.list_conflicts(
        session, user, study_id, paging, unresolved=unresolved, entity=entity, record_id=record_id
    )


@router.post("/studies/{study_id}/conflicts/{conflict_id}/resolve", response_model=ConflictOut)
def resolve_sync_conflict(
    study_id: uuid.UUID,
    conflict_id: uuid.UUID,
    body: ResolveRequest,
    user: CurrentUser,
    session: SessionDep,
) -> ConflictOut:
    """Keep the current value, or restore the losing one (a normal, audited change). The
    record's needs_review flag clears when its last open conflict is resolved."""
    return review.resolve_conflict(session, user, study_id, conflict_id, body.resolution)
