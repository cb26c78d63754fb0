"""Totals: co-observed time counts once, only ended sessions count, Table 1 leaders."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from fieldscope.changes import set_actor
from fieldscope.common.models import utcnow
from fieldscope.db import transaction
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import ObservationSession
from fieldscope.participants.models import Background, Participant
from fieldscope.studies.models import Site
from fieldscope.totals.coverage import observed_intervals, rebuild, refresh, union_seconds
from fieldscope.totals.models import MeetingCoverage, SiteLevelCoverage
from fieldscope.totals.service import study_totals
from tests.factories import World

T0 = datetime(2019, 3, 4, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(minutes: float) -> str:
    return at(minutes).isoformat()


# --- the pure interval arithmetic -------------------------------------------------------


def test_intervals_subtract_pauses_and_clip_them() -> None:
    pauses = [
        {"start": iso(30), "end": iso(40)},
        {"start": iso(-5), "end": iso(5)},  # starts before the session: clipped
        {"start": iso(55), "end": None},  # still paused when the session ended
    ]
    got = observed_intervals(at(0), at(60), pauses)
    assert got == [
        (at(5).timestamp(), at(30).timestamp()),
        (at(40).timestamp(), at(55).timestamp()),
    ]
    assert union_seconds(got) == 40 * 60


def test_intervals_ignore_unreadable_pauses_and_empty_spans() -> None:
    assert observed_intervals(at(10), at(10), []) == []
    assert observed_intervals(at(10), at(5), []) == []
    assert union_seconds(observed_intervals(at(0), at(60), [{"start": "not a date"}])) == 3600


def test_union_counts_overlap_once() -> None:
    a = observed_intervals(at(0), at(60), [])
    b = observed_intervals(at(30), at(90), [{"start": iso(40), "end": iso(50)}])
    c = observed_intervals(at(120), at(130), [])
    assert union_seconds(a + b + c) == (90 + 10) * 60
    assert union_seconds([]) == 0


# --- through the database and the API ---------------------------------------------------


def _meeting(s: Any, world: World, site: str, level: str, deleted: bool = False) -> uuid.UUID:
    m = Meeting(
        study_id=world.study_id,
        site_id=world.site_ids[site],
        level=level,
        title=f"{level} meeting",
        scheduled_start=T0,
        deleted_at=utcnow() if deleted else None,
    )
    s.add(m)
    s.flush()
    return m.id


def _session(
    s: Any,
    world: World,
    meeting_id: uuid.UUID,
    site: str,
    observer: uuid.UUID,
    start: float,
    end: float | None,
    pauses: list[dict[str, Any]] | None = None,
    *,
    store_duration: bool = True,
    deleted: bool = False,
) -> None:
    pauses = pauses or []
    duration = None
    if end is not None and store_duration:
        duration = union_seconds(observed_intervals(at(start), at(end), pauses))
    s.add(
        ObservationSession(
            study_id=world.study_id,
            site_id=world.site_ids[site],
            observer_id=observer,
            meeting_id=meeting_id,
            started_at=at(start),
            ended_at=None if end is None else at(end),
            pauses=pauses,
            duration_seconds=duration,
            deleted_at=utcnow() if deleted else None,
        )
    )


def _populate(engine: Engine, world: World) -> None:
    fw, fw2 = world.fw.user_id, world.fw2.user_id
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        # A, executive: one observer, 60 min with a 10 min pause -> 50 min.
        m1 = _meeting(s, world, "A", "executive")
        _session(s, world, m1, "A", fw, 0, 60, [{"start": iso(20), "end": iso(30)}])
        # A, thematic: co-observed, 0-90 and 30-120 -> union 120 min, observer 180 min.
        m2 = _meeting(s, world, "A", "thematic")
        _session(s, world, m2, "A", fw, 0, 90)
        _session(s, world, m2, "A", fw2, 30, 120)
        # A, thematic: co-observed, identical 60 min, one duration not stored -> 60 min.
        m3 = _meeting(s, world, "A", "thematic")
        _session(s, world, m3, "A", fw, 0, 60)
        _session(s, world, m3, "A", fw2, 0, 60, store_duration=False)
        # B, project: 45 min ended + a running session of another observer.
        m4 = _meeting(s, world, "B", "project")
        _session(s, world, m4, "B", fw, 0, 45)
        _session(s, world, m4, "B", fw2, 0, None)
        # B, project: only a running session -> not observed, one open session.
        m5 = _meeting(s, world, "B", "project")
        _session(s, world, m5, "B", fw, 0, None)
        # Never counted: a deleted session, a deleted meeting.
        m6 = _meeting(s, world, "B", "executive")
        _session(s, world, m6, "B", fw, 0, 600, deleted=True)
        m7 = _meeting(s, world, "B", "executive", deleted=True)
        _session(s, world, m7, "B", fw, 0, 600)
        # Clinical leaders: +1 project leader at B, a deleted one and a non-leader ignored.
        for code, leader, deleted in (
            ("B-PR-01", True, False),
            ("B-PR-02", True, True),
            ("B-NC-01", False, False),
        ):
            s.add(
                Participant(
                    study_id=world.study_id,
                    site_id=world.site_ids["B"],
                    code=code,
                    level="project",
                    background=Background.nursing if leader else Background.non_clinical,
                    is_clinical_leader=leader,
                    deleted_at=utcnow() if deleted else None,
                )
            )


def test_totals_count_co_observation_once(engine: Engine, world: World) -> None:
    _populate(engine, world)
    with transaction(engine, write=False) as s:
        totals = study_totals(s, world.study_id)
    a, b = totals.sites
    assert (a.code, b.code) == ("A", "B")

    assert a.meetings == 3
    assert a.seconds == (50 + 120 + 60) * 60
    assert a.observer_seconds == (50 + 90 + 90 + 60 + 60) * 60
    assert a.sessions == 5 and a.co_observed_meetings == 2 and a.open_sessions == 0
    assert a.levels.executive.meetings == 1 and a.levels.executive.seconds == 50 * 60
    assert a.levels.thematic.meetings == 2 and a.levels.thematic.hours == 3.0
    assert a.levels.project.meetings == 0 and a.levels.project.hours == 0
    assert a.hours == round(230 / 60, 2) == 3.83
    assert a.progress.hours == round(230 / 60 / 20, 4)
    assert a.progress.meetings == 0.3

    assert b.meetings == 1 and b.seconds == 45 * 60 and b.observer_seconds == 45 * 60
    assert b.open_sessions == 2 and b.sessions == 1
    assert b.levels.executive.meetings == 0

    assert totals.total.meetings == 4
    assert totals.total.seconds == a.seconds + b.seconds
    assert totals.total.open_sessions == 2
    assert totals.total.target_hours == 40 and totals.total.target_meetings == 20
    assert totals.total.levels.thematic.meetings == 2

    assert a.clinical_leaders.model_dump() == {
        "executive": 1,
        "thematic": 1,
        "project": 0,
        "total": 2,
    }
    assert b.clinical_leaders.project == 1 and b.clinical_leaders.total == 3
    assert totals.total.clinical_leaders.total == 5


def test_totals_route_for_members(client: TestClient, engine: Engine, world: World) -> None:
    _populate(engine, world)
    url = f"/api/v1/studies/{world.study_id}/totals"
    for actor in (world.pi, world.fw, world.fw2, world.analyst, world.admin):
        res = client.get(url, headers=actor.headers)
        assert res.status_code == 200, res.text
    body = res.json()
    assert body["study"] == "study-one"
    assert body["total"]["meetings"] == 4
    assert body["total"]["hours"] == round((230 + 45) / 60, 2)
    assert [s["code"] for s in body["sites"]] == ["A", "B"]
    assert body["sites"][0]["levels"]["thematic"] == {
        "meetings": 2,
        "hours": 3.0,
        "seconds": 10800.0,
        "observer_hours": 5.0,
    }


@pytest.mark.parametrize(
    ("who", "status"), [("outsider", 404), ("nobody", 401), ("bad-id", 422), ("missing", 404)]
)
def test_totals_route_refuses(client: TestClient, world: World, who: str, status: int) -> None:
    study: object = world.study_id
    headers = world.pi.headers
    if who == "outsider":
        headers = world.outsider.headers
    elif who == "nobody":
        headers = {}
    elif who == "bad-id":
        study = "not-a-uuid"
    else:
        study = uuid.uuid4()
    res = client.get(f"/api/v1/studies/{study}/totals", headers=headers)
    assert res.status_code == status
    assert res.headers["content-type"].startswith("application/problem+json")


def test_empty_study_and_deleted_site(engine: Engine, world: World) -> None:
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        site = s.get(Site, world.site_ids["B"])
        assert site is not None
        site.deleted_at = utcnow()
        s.add(site)
    with transaction(engine, write=False) as s:
        totals = study_totals(s, world.study_id)
    assert [site.code for site in totals.sites] == ["A"]
    assert totals.total.meetings == 0 and totals.total.hours == 0
    assert totals.total.progress.hours == 0.0
    assert totals.total.target_hours == 20
    assert totals.total.clinical_leaders.total == 2


# --- the derived per-meeting coverage stays in step with every write --------------------


Coverage = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _coverage(engine: Engine) -> Coverage:
    """Both derived tables; cells left at zero (a meeting moved away) are not compared."""
    with engine.connect() as conn:
        meetings = conn.execute(select(MeetingCoverage).order_by(col(MeetingCoverage.meeting_id)))
        cells = conn.execute(
            select(SiteLevelCoverage).order_by(
                col(SiteLevelCoverage.site_id), col(SiteLevelCoverage.level)
            )
        )
        return (
            [tuple(r) for r in meetings],
            [tuple(r) for r in cells if r.meetings or r.open_sessions],
        )


def _rebuilt(engine: Engine) -> Coverage:
    with engine.begin() as conn:
        conn.execute(delete(MeetingCoverage))
        conn.execute(delete(SiteLevelCoverage))
        rebuild(conn)
    return _coverage(engine)


def test_coverage_follows_every_kind_of_write(engine: Engine, world: World) -> None:
    _populate(engine, world)
    assert _coverage(engine) == _rebuilt(engine)
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        rows = s.exec(select(ObservationSession).order_by(col(ObservationSession.started_at)))
        sessions = list(rows.all())
        meetings = {m.title: m for m in s.exec(select(Meeting)).all()}
        running = next(x for x in sessions if x.ended_at is None)
        running.ended_at = running.started_at + timedelta(minutes=30)
        running.duration_seconds = 1800.0
        moved = next(x for x in sessions if x.duration_seconds == 50 * 60)
        target = meetings["project meeting"]
        moved.meeting_id = target.id  # leaves its old meeting too
        gone = next(x for x in sessions if x.duration_seconds == 45 * 60)
        gone.deleted_at = utcnow()
        some = next(m for m in meetings.values() if m.level == "thematic")
        some.level = "project"
        s.add_all([running, moved, gone, some])
    assert _coverage(engine) == _rebuilt(engine)
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        for m in s.exec(select(Meeting)).all():
            m.deleted_at = None if m.deleted_at else utcnow()  # flip every meeting
            s.add(m)
    after = _coverage(engine)
    assert after == _rebuilt(engine)
    with transaction(engine, write=False) as s:
        live = set(s.exec(select(Meeting.id).where(col(Meeting.deleted_at).is_(None))).all())
        observed = s.exec(
            select(ObservationSession.meeting_id).where(
                col(ObservationSession.deleted_at).is_(None)
            )
        ).all()
    assert {r[0] for r in after[0]} == live & set(observed) != set()
    assert after[1]


@pytest.mark.postgres_only
@pytest.mark.parametrize("same_meeting", [True, False], ids=["same-meeting", "same-cell"])
def test_concurrent_writers_lose_no_hour(engine: Engine, world: World, same_meeting: bool) -> None:
    """Two transactions add sessions at once, to one meeting or to two meetings of one
    site x level. ORM writers already queue on the change-cursor row, so this drives
    `refresh` on raw connections: the second must wait on the first's locks and recompute
    with its work visible."""
    with transaction(engine) as s:
        set_actor(s, None, via="cli")
        first_meeting = _meeting(s, world, "A", "project")
        second_meeting = first_meeting if same_meeting else _meeting(s, world, "A", "project")
        # An earlier, committed observation: the cell's row exists before the race.
        earlier = _meeting(s, world, "A", "project")
        _session(s, world, earlier, "A", world.fw.user_id, 0, 30)
    first_refreshed = threading.Event()
    errors: list[BaseException] = []

    def add(meeting_id: uuid.UUID, observer: uuid.UUID, start: int, end: int, hold: float) -> None:
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(ObservationSession).values(
                        id=uuid.uuid4(),
                        study_id=world.study_id,
                        site_id=world.site_ids["A"],
                        observer_id=observer,
                        meeting_id=meeting_id,
                        started_at=at(start),
                        ended_at=at(end),
                        pauses=[],
                        duration_seconds=(end - start) * 60.0,
                    )
                )
                refresh(conn, [meeting_id])
                first_refreshed.set()
                time.sleep(hold)  # the other transaction refreshes meanwhile and must wait
        except BaseException as exc:  # reported below
            errors.append(exc)
            first_refreshed.set()

    one = threading.Thread(target=add, args=(first_meeting, world.fw.user_id, 0, 60, 0.5))
    one.start()
    first_refreshed.wait(5)
    two = threading.Thread(target=add, args=(second_meeting, world.fw2.user_id, 30, 120, 0))
    two.start()
    one.join(10)
    two.join(10)
    assert not errors, errors
    with transaction(engine, write=False) as s:
        site = study_totals(s, world.study_id).sites[0]
    assert site.sessions == 3 and site.observer_seconds == (30 + 60 + 90) * 60
    if same_meeting:
        assert site.meetings == 2 and site.co_observed_meetings == 1
        assert site.seconds == (30 + 120) * 60
    else:
        assert site.meetings == 3 and site.co_observed_meetings == 0
        assert site.seconds == (30 + 60 + 90) * 60
    assert _coverage(engine) == _rebuilt(engine)


# --- the union against a brute-force minute grid ----------------------------------------

_pause = st.tuples(st.integers(0, 120), st.integers(0, 30))
_span = st.tuples(st.integers(0, 240), st.integers(1, 180), st.lists(_pause, max_size=3))


@settings(max_examples=200, deadline=None)
@given(st.lists(_span, min_size=1, max_size=4))
def test_union_matches_a_minute_grid(spans: list[tuple[int, int, list[tuple[int, int]]]]) -> None:
    covered: set[int] = set()
    intervals = []
    for start, length, raw_pauses in spans:
        end = start + length
        pauses = [{"start": iso(start + p), "end": iso(start + p + d)} for p, d in raw_pauses]
        paused = {m for p, d in raw_pauses for m in range(start + p, start + p + d)}
        covered |= set(range(start, end)) - paused
        intervals += observed_intervals(at(start), at(end), pauses)
    assert union_seconds(intervals) == len(covered) * 60
