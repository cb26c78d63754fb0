"""Date-filtered contribution counts from the derived counts (`summary.py`).

Why: counting the interventions of a year took 0.2-0.4 s at national scale, all dates
0.6 s. A day range is instead cut into whole calendar years, whole months and leftover
days: years and months come from `PeriodCell` (15,000 and 6,500 rows per period here),
leftover days from `MeetingContribution` (about 330 rows per day), so any range reads at
most a few tens of thousands of rows. The numbers are those of counting the interventions
of sessions started in the range (`queries.contribution_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, union_all
from sqlmodel import Session, col

from fieldscope.common.sql import id_text
from fieldscope.dashboard import queries
from fieldscope.dashboard.models import MeetingContribution, PeriodCell
from fieldscope.dashboard.queries import Scope
from fieldscope.observations.models import ObservationSession as S
from fieldscope.studies.models import Site


@dataclass(frozen=True)
class Block:
    """Periods of one kind ('y', 'm', or 'd' for days) starting in [first, upto)."""

    span: str
    first: date
    upto: date


def _floor(span: str, day: date) -> date:
    return day.replace(month=1, day=1) if span == "y" else day.replace(day=1)


def _ceil(span: str, day: date) -> date:
    if _floor(span, day) == day:
        return day
    if span == "y":
        return date(day.year + 1, 1, 1)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def blocks(first: date, upto: date) -> list[Block]:
    """The days [first, upto) as whole years, then whole months, then days."""
    out: list[Block] = []

    def split(a: date, b: date, spans: tuple[str, ...]) -> None:
        if a >= b:
            return
        if not spans:
            out.append(Block("d", a, b))
            return
        lo, hi = _ceil(spans[0], a), _floor(spans[0], b)
        if lo >= hi:
            split(a, b, spans[1:])
            return
        split(a, lo, spans[1:])
        out.append(Block(spans[0], lo, hi))
        split(hi, b, spans[1:])

    split(first, upto, ("y", "m"))
    return out


def counts(session: Session, scope: Scope, by: str) -> list[tuple[Any, str, int]]:
    """As `queries.contribution_counts` for a scope with dates, from the derived counts
    (which the caller has brought up to date)."""
    # Unbounded ends become the far ends of `date`, which `_block_rows` leaves open.
    first = scope.date_from or date.min
    upto = date.max if scope.date_to is None else scope.date_to + timedelta(days=1)
    parts = [_block_counts(scope, b, by) for b in blocks(first, upto)]
    if not parts:
        return []
    rows = union_all(*parts).subquery()
    shown = id_text(rows.c.k) if by in ("participant", "site") else rows.c.k
    stmt = select(shown, rows.c.code_key, func.sum(rows.c.n)).group_by(rows.c.k, rows.c.code_key)
    out: list[tuple[Any, str, int]] = []
    for row_key, code, n in session.execute(stmt):
        if by == "stage" and row_key == "":
            row_key = None
        out.append((row_key, code, int(n)))
    return out


def without_needless_dates(session: Session, scope: Scope) -> Scope:
    """The scope without its dates when they hold the start day of every session of the
    study ("from 2000" and the like): the same numbers, from the undated counts. Two
    probes of the `(study_id, started_at)` index. (Apart, not in one select: SQLite
    answers min() or max() from an index only when it is the query's sole aggregate.)"""
    if scope.date_from is None and scope.date_to is None:
        return scope
    ours = col(S.study_id) == scope.study_id
    first, last = session.execute(
        select(
            select(func.min(col(S.started_at))).where(ours).scalar_subquery(),
            select(func.max(col(S.started_at))).where(ours).scalar_subquery(),
        )
    ).one()
    if first is not None and not (
        (scope.date_from or date.min) <= first.date() and last.date() <= (scope.date_to or date.max)
    ):
        return scope
    return replace(scope, date_from=None, date_to=None)


def _block_counts(scope: Scope, block: Block, by: str) -> Any:
    """One block's counts in scope per row key (`k`) and code: summed per block, so the
    union carries a few hundred rows per block rather than thousands."""
    t: Any = MeetingContribution if block.span == "d" else PeriodCell
    day = col(t.day) if block.span == "d" else col(t.starts_on)
    conds: list[ColumnElement[bool]] = [col(t.study_id) == scope.study_id]
    if block.span != "d":
        conds.append(col(t.span) == block.span)
    if block.first != date.min:
        conds.append(day >= block.first)
    if block.upto != date.max:
        conds.append(day < block.upto)
    live_sites = select(col(Site.id)).where(
        col(Site.study_id) == scope.study_id, col(Site.deleted_at).is_(None)
    )
    conds += [
        col(t.site_id).in_(live_sites),
        col(t.participant_id).not_in(queries.excluded_participants(scope.study_id)),
    ]
    if scope.site_id:
        conds.append(col(t.site_id) == scope.site_id)
    if scope.level:
        conds.append(col(t.level) == scope.level)
    key = col(getattr(t, {"participant": "participant_id", "site": "site_id"}.get(by, by)))
    return (
        select(key.label("k"), col(t.code_key).label("code_key"), func.sum(col(t.n)).label("n"))
        .where(*conds)
        .group_by(key, col(t.code_key))
    )
