"""Observation totals: meetings and hours per site and level, against targets.

Counting rules (also in docs and the API schema):
- A meeting counts once when it has at least one ended, non-deleted session; deleted
  meetings and meetings of deleted sites never count.
- A meeting's observed time is the length of the UNION of its sessions' observed
  intervals (span minus pauses): two fieldworkers observing the same hour add one hour.
- `observer_*` is the sum of session durations (effort), reported separately.
- Running sessions are not counted; they are reported as `open_sessions`.
- Exact seconds are kept; hours are rounded to 2 decimals only for display.

Speed: each meeting's observed time, and its sum per site x level, are kept by a flush hook
in the same transaction as the write (see `coverage`), so a study's totals read at most
sites x 3 rows plus a count of clinical leaders: never stale, and fast at national scale.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from fieldscope.errors import AppError, not_found
from fieldscope.participants.models import Level
from fieldscope.studies.models import Study
from fieldscope.totals import queries
from fieldscope.totals.schemas import (
    ClinicalLeaders,
    Levels,
    LevelTally,
    Progress,
    SiteTotals,
    StudyTotals,
    Tally,
)

LEVELS = tuple(level.value for level in Level)


@dataclass
class _Acc:
    meetings: int = 0
    seconds: float = 0.0
    observer_seconds: float = 0.0
    sessions: int = 0
    co_observed: int = 0
    open_sessions: int = 0

    def add(self, other: _Acc) -> None:
        self.meetings += other.meetings
        self.seconds += other.seconds
        self.observer_seconds += other.observer_seconds
        self.sessions += other.sessions
        self.co_observed += other.co_observed
        self.open_sessions += other.open_sessions


@dataclass
class _SiteAcc:
    levels: dict[str, _Acc] = field(default_factory=lambda: {lv: _Acc() for lv in LEVELS})
    leaders: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    leaders_total: int = 0

    def overall(self) -> _Acc:
        acc = _Acc()
        for level in self.levels.values():
            acc.add(level)
        return acc


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _fraction(done: float, target: float) -> float | None:
    return round(done / target, 4) if target > 0 else None


def _tally(acc: _SiteAcc, target_hours: float, target_meetings: int) -> dict[str, Any]:
    total = acc.overall()
    return {
        "meetings": total.meetings,
        "hours": _hours(total.seconds),
        "seconds": total.seconds,
        "observer_hours": _hours(total.observer_seconds),
        "observer_seconds": total.observer_seconds,
        "sessions": total.sessions,
        "co_observed_meetings": total.co_observed,
        "open_sessions": total.open_sessions,
        "target_hours": target_hours,
        "target_meetings": target_meetings,
        "progress": Progress(
            hours=_fraction(total.seconds, target_hours * 3600),
            meetings=_fraction(total.meetings, target_meetings),
        ),
        "levels": Levels(
            **{
                lv: LevelTally(
                    meetings=a.meetings,
                    hours=_hours(a.seconds),
                    seconds=a.seconds,
                    observer_hours=_hours(a.observer_seconds),
                )
                for lv, a in acc.levels.items()
            }
        ),
        "clinical_leaders": ClinicalLeaders(**acc.leaders, total=acc.leaders_total),
    }


def _accumulate(session: Session, study_id: uuid.UUID) -> dict[uuid.UUID, _SiteAcc]:
    sites: dict[uuid.UUID, _SiteAcc] = defaultdict(_SiteAcc)
    for cell in queries.cells(session, study_id):
        sites[cell.site_id].levels.setdefault(cell.level, _Acc()).add(
            _Acc(
                meetings=cell.meetings,
                seconds=cell.seconds,
                observer_seconds=cell.observer_seconds,
                sessions=cell.sessions,
                co_observed=cell.co_observed,
                open_sessions=cell.open_sessions,
            )
        )
    for site_id, level, n in queries.clinical_leaders(session, study_id):
        site = sites[site_id]
        site.leaders_total += n
        if level in site.leaders:
            site.leaders[level] += n
    return sites


def study_totals(session: Session, study_id: uuid.UUID) -> StudyTotals:
    """Totals of one study (no authorisation here: callers check membership)."""
    study = session.get(Study, study_id)
    if study is None or study.deleted_at is not None:
        raise not_found("Study")
    site_rows = queries.sites(session, study_id)
    accs = _accumulate(session, study_id)
    grand = _SiteAcc()
    sites: list[SiteTotals] = []
    for site in site_rows:
        acc = accs.get(site.id) or _SiteAcc()
        for lv, level_acc in acc.levels.items():
            grand.levels.setdefault(lv, _Acc()).add(level_acc)
        for lv, n in acc.leaders.items():
            grand.leaders[lv] += n
        grand.leaders_total += acc.leaders_total
        sites.append(
            SiteTotals(
                site_id=site.id,
                code=site.code,
                name=site.name,
                **_tally(acc, site.target_hours, site.target_meetings),
            )
        )
    target_hours = float(sum(s.target_hours for s in site_rows))
    target_meetings = int(sum(s.target_meetings for s in site_rows))
    return StudyTotals(
        study_id=study.id,
        study=study.slug,
        name=study.name,
        total=Tally(**_tally(grand, target_hours, target_meetings)),
        sites=sites,
    )


def find_study(session: Session, slug: str | None) -> Study:
    """The study with this slug, or the only study when no slug is given (for the CLI)."""
    live = select(Study).where(col(Study.deleted_at).is_(None))
    if slug:
        study = session.exec(live.where(Study.slug == slug)).first()
        if study is None:
            raise AppError(404, "not_found", f"No study has the slug '{slug}'.")
        return study
    studies = session.exec(live.order_by(col(Study.slug))).all()
    if not studies:
        raise AppError(404, "not_found", "There is no study yet (try `fieldscope demo`).")
    if len(studies) > 1:
        slugs = ", ".join(s.slug for s in studies)
        raise AppError(422, "ambiguous", f"Several studies exist; pick one with --study ({slugs}).")
    return studies[0]
