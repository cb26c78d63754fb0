"""Pull: the change log after a cursor, as the user may see it (SYNC.md invariants 8-10).

Pages are written as JSON text: each change's `data` is spliced in as stored, never parsed
and re-serialised, which is what lets a device catch up on 100,000 changes in seconds.
"""

from __future__ import annotations

import heapq
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, Text, cast, or_, select, text
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from fieldscope.auth.models import Membership, Role, User
from fieldscope.common.models import utcnow
from fieldscope.common.sql import id_text
from fieldscope.studies.models import Study
from fieldscope.sync.limits import PULL_PAGE_BYTES
from fieldscope.sync.models import ChangeLogEntry
from fieldscope.sync.state import last_cursor, scope_key, user_epoch
from fieldscope.totals.service import study_totals

_LOG = ChangeLogEntry.__table__.c  # type: ignore[attr-defined]


@dataclass
class Visibility:
    """Studies whose every change the user sees, and those where only their own observed
    records (and the study's shared records) are theirs to pull."""

    full: list[uuid.UUID] = field(default_factory=list)
    own: list[uuid.UUID] = field(default_factory=list)

    @property
    def studies(self) -> list[uuid.UUID]:
        return self.full + self.own


def visibility(session: Session, user: User) -> Visibility:
    vis = Visibility()
    rows = session.exec(
        sm_select(Membership.study_id, Membership.role).where(Membership.user_id == user.id)
    ).all()
    for study_id, role in rows:
        (vis.own if role == Role.fieldworker else vis.full).append(study_id)
    if user.is_admin:
        member = set(vis.studies)
        admin_studies = session.exec(sm_select(Study.id)).all()
        vis.full.extend(s for s in admin_studies if s not in member)
    return vis


def _page_queries(
    vis: Visibility, user_id: uuid.UUID, cursor: int, limit: int
) -> list[Select[Any]]:
    """One query per visible study, each an ordered walk of (study_id, cursor)."""
    columns = (
        _LOG.cursor,
        _LOG.entity,
        _LOG.op,
        id_text(_LOG.record_id),
        _LOG.version,
        cast(_LOG.data, Text),
    )
    queries = []
    for study_id, own_only in [(s, False) for s in vis.full] + [(s, True) for s in vis.own]:
        stmt = select(*columns).where(_LOG.study_id == study_id, _LOG.cursor > cursor)
        if own_only:
            stmt = stmt.where(or_(_LOG.owner_id.is_(None), _LOG.owner_id == user_id))
        queries.append(stmt.order_by(_LOG.cursor).limit(limit + 1))
    return queries


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def pull_page(
    session: Session, user: User, cursor: int, limit: int, epoch: uuid.UUID | None
) -> bytes:
    now = utcnow()
    scope = scope_key(session, user)
    mine = user_epoch(session, user, scope)
    head = f'{{"server_epoch":"{mine}","server_time":"{_iso(now)}",'
    if (epoch is not None and epoch != mine) or cursor > last_cursor(session):
        return (head + '"reset":true,"changes":[],"next_cursor":0,"has_more":false}').encode()

    vis = visibility(session, user)
    # Merging per-study walks keeps every page an index range scan, however many changes
    # other studies have; a single OR-ed query makes the planner sort the whole log.
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Until the statistics catch up with a fast-growing study, PostgreSQL may sort every
        # remaining change of the study for each page: only an ordered index walk will do.
        session.execute(text("SET LOCAL enable_sort = off"))
    streams = [session.execute(q).all() for q in _page_queries(vis, user.id, cursor, limit)]
    if postgres:
        session.execute(text("SET LOCAL enable_sort = on"))
    rows = streams[0] if len(streams) == 1 else list(heapq.merge(*streams, key=itemgetter(0)))
    parts: list[str] = []
    size = 0
    next_cursor = cursor
    has_more = False
    for row in rows:
        if len(parts) >= limit or (parts and size >= PULL_PAGE_BYTES):
            has_more = True
            break
        cur, entity, op, record_id, version, data = row
        item = (
            f'{{"cursor":{cur},"entity":"{entity}","op":"{op}",'
            f'"record_id":"{record_id}","version":{version},"data":{data}}}'
        )
        parts.append(item)
        size += len(item)
        next_cursor = cur
    body = head + '"reset":false,"changes":[' + ",".join(parts) + "]"
    body += f',"next_cursor":{next_cursor},"has_more":{"true" if has_more else "false"}'
    if not has_more:
        body += ',"totals":' + json.dumps(totals(session, vis), separators=(",", ":"))
    return (body + "}").encode()


def totals(session: Session, vis: Visibility) -> dict[str, Any]:
    """Site totals of the user's studies: only what the server holds."""
    sites: list[dict[str, Any]] = []
    studies: list[dict[str, Any]] = []
    live = session.exec(
        sm_select(Study.id)
        .where(col(Study.id).in_(vis.studies), col(Study.deleted_at).is_(None))
        .order_by(col(Study.slug))
    ).all()
    for study_id in live:
        result = study_totals(session, study_id).model_dump(mode="json")
        for site in result.pop("sites"):
            sites.append({"study_id": result["study_id"], **site})
        studies.append(result)
    return {"sites": sites, "studies": studies}
