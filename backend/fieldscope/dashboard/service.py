"""The PI and analyst dashboard: progress, Table 1, contribution matrices, data quality and
inter-rater agreement. Read-only; callers authorise (PI or analyst) before calling."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from fieldscope.common.models import utcnow
from fieldscope.dashboard import cache, dated, queries, summary
from fieldscope.dashboard.agreement import PairAlignment, Stats, Tag, align_pairwise, pooled
from fieldscope.dashboard.queries import Scope
from fieldscope.dashboard.schemas import (
    AgreementReport,
    AgreementStats,
    ConflictCheck,
    ConflictIssue,
    ConfusionCell,
    ContributionMatrix,
    DataQuality,
    DeviceCheck,
    DeviceIssue,
    Dimension,
    FieldworkerProgress,
    Filters,
    MatrixColumn,
    MatrixRow,
    MeetingAgreement,
    ObservationProgress,
    ObserverRef,
    OverlapCheck,
    OverlapIssue,
    PairAgreement,
    ParticipantCell,
    ParticipantRow,
    ParticipantTable,
    QualityParams,
    SessionCheck,
    SessionIssue,
    SiteAgreement,
    SiteColumn,
    StubCheck,
    StubIssue,
    UnmatchedTag,
    WeekPoint,
    WeekSite,
)
from fieldscope.errors import invalid, not_found
from fieldscope.meetings.models import Meeting, StageOfChange
from fieldscope.participants.models import Level
from fieldscope.studies.models import Site, Study
from fieldscope.totals.coverage import observed_intervals, union_seconds
from fieldscope.totals.service import study_totals

UNASSIGNED = "unassigned"  # participants without a level
UNSPECIFIED = "unspecified"  # meetings without a stage of change


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _str(value: Any) -> str:
    return str(getattr(value, "value", value))


def require_study(session: Session, study_id: uuid.UUID) -> Study:
    study = session.get(Study, study_id)
    if study is None or study.deleted_at is not None:
        raise not_found("Study")
    return study


def check_scope(session: Session, scope: Scope) -> None:
    """Filters must name things of this study; dates must be in order."""
    if scope.site_id is not None:
        site = session.get(Site, scope.site_id)
        if site is None or site.study_id != scope.study_id or site.deleted_at is not None:
            raise invalid("There is no such site in this study.", field="site_id")
    if scope.meeting_id is not None:
        meeting = session.get(Meeting, scope.meeting_id)
        if meeting is None or meeting.study_id != scope.study_id or meeting.deleted_at is not None:
            raise invalid("There is no such meeting in this study.", field="meeting_id")
    if scope.date_from and scope.date_to and scope.date_from > scope.date_to:
        raise invalid("date_from must be on or before date_to.", field="date_from")


def _filters(scope: Scope) -> Filters:
    return Filters(
        site_id=scope.site_id,
        level=scope.level,
        date_from=scope.date_from,
        date_to=scope.date_to,
    )


# --- progress ------------------------------------------------------------------------


def _weeks(session: Session, study_id: uuid.UUID, sites: dict[uuid.UUID, str]) -> list[WeekPoint]:
    """Each meeting's observed time (the totals' coverage) in the ISO week (UTC) in which its
    first ended session started."""
    cells: dict[date, list[WeekSite]] = defaultdict(list)
    for site_id, monday, meetings, seconds in queries.meetings_per_week(session, study_id):
        if site_id in sites:
            cells[monday].append(
                WeekSite(
                    site_id=site_id,
                    code=sites[site_id],
                    meetings=meetings,
                    hours=_hours(seconds),
                    seconds=seconds,
                )
            )
    out = []
    for monday in sorted(cells):
        site_points = sorted(cells[monday], key=lambda p: p.code)
        year, week, _ = monday.isocalendar()
        seconds = sum(p.seconds for p in site_points)
        out.append(
            WeekPoint(
                week=f"{year}-W{week:02d}",
                starts_on=monday,
                meetings=sum(p.meetings for p in site_points),
                hours=_hours(seconds),
                seconds=seconds,
                sites=site_points,
            )
        )
    return out


def _fieldworkers(session: Session, study_id: uuid.UUID) -> list[FieldworkerProgress]:
    extra: dict[uuid.UUID, float] = defaultdict(float)
    for observer_id, started, ended, pauses in queries.unknown_duration_sessions(session, study_id):
        extra[observer_id] += union_seconds(observed_intervals(started, ended, list(pauses or [])))
    out = []
    for row in queries.fieldworker_rows(session, study_id):
        uid, name, ended, open_, meetings, co_obs, seconds, _unknown, first, last = row
        total = float(seconds or 0) + extra.get(uid, 0.0)
        out.append(
            FieldworkerProgress(
                user_id=uid,
                display_name=name,
                sessions=int(ended or 0),
                open_sessions=int(open_ or 0),
                meetings=int(meetings or 0),
                co_observed_meetings=int(co_obs or 0),
                observer_hours=_hours(total),
                observer_seconds=total,
                first_session_at=first,
                last_session_at=last,
            )
        )
    return out


def observation_progress(session: Session, study_id: uuid.UUID) -> ObservationProgress:
    require_study(session, study_id)

    def compute() -> ObservationProgress:
        sites = {s.id: s.code for s in queries.live_sites(session, study_id)}
        return ObservationProgress(
            totals=study_totals(session, study_id),
            weeks=_weeks(session, study_id, sites),
            fieldworkers=_fieldworkers(session, study_id),
        )

    return cache.cached(session, ("progress", study_id), compute)


# --- participants by site x level ----------------------------------------------------


def _add(cell: ParticipantCell, n: int, leader: bool, no_consent: bool, pending: bool) -> None:
    cell.participants += n
    cell.clinical_leaders += n if leader else 0
    cell.without_consent += n if no_consent else 0
    cell.pending_review += n if pending else 0


def _empty() -> ParticipantCell:
    return ParticipantCell(participants=0, clinical_leaders=0, without_consent=0, pending_review=0)


def participant_table(session: Session, study_id: uuid.UUID) -> ParticipantTable:
    require_study(session, study_id)
    sites = queries.live_sites(session, study_id)
    column = {s.id: i for i, s in enumerate(sites)}
    levels = [lv.value for lv in Level]
    grid = {lv: [_empty() for _ in sites] for lv in [*levels, UNASSIGNED]}
    for site_id, level, leader, no_consent, pending, n in queries.participant_tally(
        session, study_id
    ):
        if site_id not in column:
            continue
        name = UNASSIGNED if level is None else _str(level)
        _add(grid[name][column[site_id]], int(n), bool(leader), bool(no_consent), bool(pending))
    rows = []
    totals = [_empty() for _ in sites]
    total = _empty()
    for name, cells in grid.items():
        if name == UNASSIGNED and not any(c.participants for c in cells):
            continue
        row_total = _empty()
        for i, cell in enumerate(cells):
            for target in (row_total, totals[i], total):
                target.participants += cell.participants
                target.clinical_leaders += cell.clinical_leaders
                target.without_consent += cell.without_consent
                target.pending_review += cell.pending_review
        rows.append(ParticipantRow(level=name, cells=cells, total=row_total))
    return ParticipantTable(
        sites=[SiteColumn(site_id=s.id, code=s.code, name=s.name) for s in sites],
        rows=rows,
        totals=totals,
        total=total,
    )


# --- contribution matrices -----------------------------------------------------------


def contribution_matrix(session: Session, scope: Scope, dimension: Dimension) -> ContributionMatrix:
    """Counts come from the derived counts (kept fresh from the change log): the cells, or
    with dates the year, month and day rows that make up the range."""
    require_study(session, scope.study_id)
    check_scope(session, scope)
    key = ("matrix", scope, dimension)
    with summary.fresh(session) as counted:
        return cache.cached(counted, key, lambda: _matrix(counted, scope, dimension))


Counts = Callable[[Session, Scope, str], list[tuple[Any, str, int]]]


def _matrix(
    session: Session, asked: Scope, dimension: Dimension, count: Counts | None = None
) -> ContributionMatrix:
    """`count` given (tests' recounts from the interventions): the dates exactly as asked."""
    scope = asked
    if count is None:
        scope = dated.without_needless_dates(session, asked)
        count = dated.counts if scope.date_from or scope.date_to else queries.cell_counts
    codes = queries.contribution_codes(session, scope.study_id)
    sites = queries.live_sites(session, scope.study_id)
    site_codes = {s.id: s.code for s in sites}
    counts: dict[tuple[str, str], int] = {}
    for key, code, n in count(session, scope, dimension.value):
        name = UNSPECIFIED if key is None else str(key)
        counts[(name, code)] = counts.get((name, code), 0) + n
    # A code in the data but in no codebook (should not happen) still gets a column.
    known = {c.key for c in codes}
    columns = [MatrixColumn(key=c.key, label=c.label, colour=c.colour) for c in codes]
    for code in sorted({code for _, code in counts} - known):
        columns.append(MatrixColumn(key=code, label=code, colour=""))
    rows = _matrix_rows(session, scope, dimension, counts, site_codes)
    for row in rows:
        row.counts = [counts.get((row.key, c.key), 0) for c in columns]
        row.total = sum(row.counts)
    column_totals = [sum(r.counts[i] for r in rows) for i in range(len(columns))]
    return ContributionMatrix(
        dimension=dimension,
        filters=_filters(asked),
        columns=columns,
        rows=rows,
        column_totals=column_totals,
        total=sum(column_totals),
        co_observed_meetings=queries.co_observed_meetings(session, scope),
        excluded_participants=queries.count_excluded(session, scope),
    )


def _matrix_rows(
    session: Session,
    scope: Scope,
    dimension: Dimension,
    counts: dict[tuple[str, str], int],
    site_codes: dict[uuid.UUID, str],
) -> list[MatrixRow]:
    seen = {key for key, _ in counts}

    def row(key: str, label: str, **extra: Any) -> MatrixRow:
        return MatrixRow(key=key, label=label, counts=[], total=0, **extra)

    if dimension is Dimension.site:
        return [
            row(str(sid), code) for sid, code in site_codes.items() if scope.site_id in (None, sid)
        ]
    if dimension is Dimension.level:
        return [row(lv.value, lv.value) for lv in Level if scope.level in (None, lv.value)]
    if dimension is Dimension.stage:
        names = [s.value for s in StageOfChange]
        out = [row(n, n) for n in names]
        if UNSPECIFIED in seen:
            out.append(row(UNSPECIFIED, UNSPECIFIED))
        return out
    # Participants: everyone with a count, and every counted clinical leader in scope
    # (a leader never seen contributing is a finding too). Pseudonym codes only.
    out = []
    site_by_key = {str(sid): code for sid, code in site_codes.items()}
    only_site = None if scope.site_id is None else str(scope.site_id)
    for p in sorted(queries.participants(session, scope.study_id), key=lambda p: p.code):
        in_scope = p.site_key in site_by_key and only_site in (None, p.site_key)
        if p.key in seen or (p.counted and p.is_clinical_leader and in_scope):
            out.append(
                row(
                    p.key,
                    p.code,
                    site_code=site_by_key.get(p.site_key),
                    level=p.level,
                    is_clinical_leader=p.is_clinical_leader,
                )
            )
    return out


# --- data quality --------------------------------------------------------------------


def _session_issue(r: tuple[Any, ...]) -> SessionIssue:
    sid, mid, title, site_code, level, observer, name, started, ended, duration = r
    return SessionIssue(
        session_id=sid,
        meeting_id=mid,
        meeting_title=title,
        site_code=site_code,
        level=_str(level),
        observer_id=observer,
        observer_name=name,
        started_at=started,
        ended_at=ended,
        duration_hours=None if duration is None else _hours(float(duration)),
    )


def data_quality(session: Session, study_id: uuid.UUID, params: QualityParams) -> DataQuality:
    require_study(session, study_id)
    now = utcnow()
    limit = params.limit
    open_n, open_rows = queries.open_sessions(
        session, study_id, now - timedelta(hours=params.open_hours), limit
    )
    long_n, long_rows = queries.long_sessions(session, study_id, params.max_hours * 3600, limit)
    pairs = [
        (observer, first, second, (min(first_end, second_end) - second_start).total_seconds())
        for observer, first, first_end, second, second_start, second_end in (
            queries.overlapping_sessions(session, study_id)
        )
    ]
    pairs.sort(key=lambda p: (-p[3], str(p[1]), str(p[2])))
    shown = pairs[:limit]
    details = queries.session_issue_rows(
        session, study_id, sorted({sid for p in shown for sid in p[1:3]}, key=str)
    )
    overlaps = [
        OverlapIssue(
            observer_id=observer,
            observer_name=details[first][6],
            first=_session_issue(details[first]),
            second=_session_issue(details[second]),
            overlap_minutes=round(seconds / 60, 1),
        )
        for observer, first, second, seconds in shown
    ]
    skewed, unsynced = _device_checks(session, study_id, params, now)
    conflicts_n, conflict_rows = queries.unresolved_conflicts(session, study_id, limit)
    stubs_n, stub_rows = queries.pending_participants(session, study_id, limit)
    return DataQuality(
        checked_at=now,
        params=params,
        open_sessions=SessionCheck(count=open_n, items=[_session_issue(r) for r in open_rows]),
        long_sessions=SessionCheck(count=long_n, items=[_session_issue(r) for r in long_rows]),
        overlapping_sessions=OverlapCheck(count=len(pairs), items=overlaps),
        clock_skew=DeviceCheck(count=len(skewed), items=skewed[:limit]),
        unsynced_devices=DeviceCheck(count=len(unsynced), items=unsynced[:limit]),
        unresolved_conflicts=ConflictCheck(
            count=conflicts_n,
            items=[
                ConflictIssue(
                    conflict_id=r[0],
                    entity=r[1],
                    record_id=r[2],
                    field=r[3],
                    created_at=r[4],
                    winning_author=r[5],
                    losing_author=r[6],
                )
                for r in conflict_rows
            ],
        ),
        pending_participants=StubCheck(
            count=stubs_n,
            items=[
                StubIssue(
                    participant_id=r[0],
                    code=r[1],
                    site_code=r[2],
                    level=None if r[3] is None else _str(r[3]),
                    role_title=r[4],
                    created_at=r[5],
                )
                for r in stub_rows
            ],
        ),
    )


def _device_checks(
    session: Session, study_id: uuid.UUID, params: QualityParams, now: datetime
) -> tuple[list[DeviceIssue], list[DeviceIssue]]:
    skewed: list[DeviceIssue] = []
    unsynced: list[DeviceIssue] = []
    for row in queries.devices(session, study_id):
        client_id, user_id, name, agent, push, pull, skew, ahead = row
        last = max((t for t in (push, pull) if t is not None), default=None)
        days = None if last is None else (now - last).total_seconds() / 86400
        issue = DeviceIssue(
            client_id=client_id,
            user_id=user_id,
            user_name=name,
            user_agent=agent,
            last_push_at=push,
            last_pull_at=pull,
            days_since_sync=None if days is None else round(days, 2),
            last_clock_skew_seconds=skew,
            max_ahead_seconds=None if ahead is None else round(float(ahead), 3),
        )
        worst = max(abs(skew or 0.0), float(ahead or 0.0))
        if worst > params.skew_seconds:
            skewed.append(issue)
        if days is None or days > params.unsynced_days:
            unsynced.append(issue)
    skewed.sort(
        key=lambda d: (
            -max(abs(d.last_clock_skew_seconds or 0), d.max_ahead_seconds or 0),
            str(d.client_id),
        )
    )
    unsynced.sort(key=lambda d: (-(d.days_since_sync or float("inf")), str(d.client_id)))
    return skewed, unsynced


# --- inter-rater agreement -----------------------------------------------------------


def _stats(stats: Stats) -> AgreementStats:
    return AgreementStats(
        pairs=stats.n,
        agreements=stats.agreements,
        percent_agreement=None
        if stats.percent_agreement is None
        else round(stats.percent_agreement, 2),
        kappa=None if stats.kappa is None else round(stats.kappa, 4),
    )


def agreement_report(session: Session, scope: Scope, window_seconds: float) -> AgreementReport:
    require_study(session, scope.study_id)
    check_scope(session, scope)
    return cache.cached(
        session,
        ("agreement", scope, window_seconds),
        lambda: _agreement(session, scope, window_seconds),
    )


def _agreement(session: Session, scope: Scope, window_seconds: float) -> AgreementReport:
    sites = {s.id: s.code for s in queries.live_sites(session, scope.study_id)}
    meetings = queries.co_observed_meeting_rows(session, scope)
    tags: dict[uuid.UUID, list[Tag]] = defaultdict(list)
    for mid, iid, observer, participant, code, started, offset in queries.agreement_tags(
        session, scope, [m[0] for m in meetings]
    ):
        at = started + timedelta(seconds=float(offset))
        tags[mid].append(Tag(iid, observer, participant, code, at))
    codes = queries.participant_codes(session, scope.study_id)
    observers = queries.meeting_observers(session, scope, [m[0] for m in meetings])
    names = queries.display_names(session, {o for obs in observers.values() for o in obs})

    def ref(uid: uuid.UUID) -> ObserverRef:
        return ObserverRef(user_id=uid, display_name=names.get(uid, ""))

    per_site: dict[uuid.UUID, list[PairAlignment]] = defaultdict(list)
    site_meetings: dict[uuid.UUID, int] = defaultdict(int)
    everything: list[PairAlignment] = []
    out_meetings: list[MeetingAgreement] = []
    unmatched_total = 0
    for mid, title, site_id, level, scheduled in meetings:
        alignments = align_pairwise(tags.get(mid, []), window_seconds, observers[mid])
        per_site[site_id].extend(alignments)
        site_meetings[site_id] += 1
        everything.extend(alignments)
        pairs = []
        for al in alignments:
            unmatched = [
                UnmatchedTag(
                    intervention_id=t.id,
                    observer_id=t.observer_id,
                    unmatched_against=against,
                    participant_code=codes.get(t.participant_id, ""),
                    code_key=t.code,
                    at=t.at,
                )
                for against, side in (
                    (al.observer_b, al.unmatched_a),
                    (al.observer_a, al.unmatched_b),
                )
                for t in side
            ]
            unmatched_total += len(unmatched)
            stats = al.stats()
            pairs.append(
                PairAgreement(
                    observer_a=ref(al.observer_a),
                    observer_b=ref(al.observer_b),
                    stats=_stats(stats),
                    confusion=[
                        ConfusionCell(a=a, b=b, count=n)
                        for (a, b), n in sorted(stats.table.items())
                    ],
                    unmatched=unmatched,
                )
            )
        out_meetings.append(
            MeetingAgreement(
                meeting_id=mid,
                title=title,
                site_id=site_id,
                site_code=sites.get(site_id, ""),
                level=_str(level),
                scheduled_start=scheduled,
                observers=[ref(o) for o in sorted(observers[mid], key=str)],
                stats=_stats(pooled(alignments)),
                pairs=pairs,
            )
        )
    return AgreementReport(
        window_seconds=window_seconds,
        filters=_filters(scope),
        overall=_stats(pooled(everything)),
        sites=[
            SiteAgreement(
                site_id=sid,
                code=sites.get(sid, ""),
                meetings=site_meetings[sid],
                stats=_stats(pooled(per_site[sid])),
            )
            for sid in sorted(per_site, key=lambda s: sites.get(s, ""))
        ],
        meetings=out_meetings,
        unmatched_total=unmatched_total,
    )
