from __future__ import annotations

import uuid

from fastapi import APIRouter

from fieldscope.auth.deps import CurrentUser
from fieldscope.auth.service import require_role
from fieldscope.db import SessionDep
from fieldscope.totals.schemas import StudyTotals
from fieldscope.totals.service import study_totals

router = APIRouter(tags=["totals"])


@router.get("/studies/{study_id}/totals", response_model=StudyTotals)
def read_study_totals(study_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> StudyTotals:
    """Meetings and observed hours per site and level, against targets, with clinical
    leaders per site x level (Table 1). A co-observed meeting counts once and its hours are
    the union of its sessions; `observer_hours` sums every session. Any member may read."""
    require_role(session, user, study_id)
    return study_totals(session, study_id)
