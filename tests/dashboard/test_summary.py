"""The derived contribution counts stay equal to counting the interventions themselves,
with and without dates, through every kind of change, and are read fresh whatever state
the request is in."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from fieldscope.dashboard import cache, queries, summary
from fieldscope.dashboard.models import (
    ContributionCell,
    MeetingContribution,
    PeriodCell,
    SummaryState,
)
from fieldscope.dashboard.queries import Scope
from fieldscope.dashboard.schemas import Dimension
from fieldscope.dashboard.service import _matrix, contribution_matrix
from fieldscope.db import open_session, transaction
from fieldscope.meetings.models import Meeting
from fieldscope.observations.models import Intervention, ObservationSession
from fieldscope.participants.models import Consent, Participant
from fieldscope.studies.models import Site
from fieldscope.sync.models import ServerState
from tests.apitools import fast_passwords
from tests.dashboard.builders import T0, at, dashboard, data
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]

AI, REP, TC, REL = "analytical_insight", "representation", "translation_communication", "relational"
DIMENSIONS = ("participant", "level", "site", "stage")
# Date windows checked besides none: every date, one day, before and after it, nothing.
WINDOWS: list[dict[str, str]] = [
    {"date_from": "2000-01-01"},
    {"date_from": "2024-03-04", "date_to": "2024-03-04"},
    {"date_to": "2024-03-03"},
    {"date_from": "2024-03-05"},
]


def _state(engine: Engine) -> tuple[str, int] | None:
    with engine.connect() as conn:
        row = conn.execute(select(SummaryState.epoch, SummaryState.cursor)).first()
    return None if row is None else (row[0], row[1])


def recounted(engine: Engine, world: World, dim: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The matrix counted from the interventions themselves, as before derived counts."""
    scope = Scope(
        world.study_id,
        site_id=uuid.UUID(filters["site_id"]) if "site_id" in filters else None,
        level=filters.get("level"),
        date_from=date.fromisoformat(filters["date_from"]) if "date_from" in filters else None,
        date_to=date.fromisoformat(filters["date_to"]) if "date_to" in filters else None,
    )
    session = open_session(engine)
    try:
        counted = _matrix(session, scope, Dimension(dim), queries.contribution_counts)
    finally:
        session.close()
    return counted.model_dump(mode="json")


def assert_counts_match(
    client: TestClient,
    engine: Engine,
    world: World,
    windows: list[dict[str, str]] | None = None,
    **filters: Any,
) -> int:
    """Every matrix from the derived counts, without dates and in each date window, equals
    the same matrix counted from the interventions. Returns the total without dates."""
    total = -1
    for window in [{}, *(WINDOWS if windows is None else windows)]:
        params = {**filters, **window}
        for dim in DIMENSIONS:
            url = dashboard(world, f"/contributions/{dim}")
            derived = client.get(url, params=params, headers=world.pi.headers)
            assert derived.status_code == 200, derived.text
            a, b = derived.json(), recounted(engine, world, dim, params)
            assert {r["label"]: r["counts"] for r in a["rows"]} == {
                r["label"]: r["counts"] for r in b["rows"]
            }, (dim, params)
            assert a["columns"] == b["columns"]
            assert (a["total"], a["co_observed_meetings"]) == (
                b["total"],
                b["co_observed_meetings"],
            )
            if not window:
                total = a["total"]
    with engine.connect() as conn:  # no row is left at zero (or below)
        for table in (ContributionCell, PeriodCell, MeetingContribution):
            assert conn.execute(select(func.count()).where(table.n <= 0)).scalar_one() == 0
    return total


def test_counts_follow_every_kind_of_change(
    client: TestClient, engine: Engine, world: World
) -> None:
    with data(engine, world) as d:
        board = d.meeting("A", "executive", stage="strategy")
        theme = d.meeting("A", "thematic", start=T0 + timedelta(days=7))
        project = d.meeting("B", "project", stage="delivery")
        s1 = d.session(board, world.fw.user_id, at(0), at(60))
        s2 = d.session(board, world.fw2.user_id, at(0), at(60))
        s3 = d.session(theme, world.fw2.user_id, at(0), at(60))
        s4 = d.session(project, world.fw.user_id, at(0), at(60))
        tags = [
            d.tag(s1, "A-EX-01", AI, 10),
            d.tag(s1, "A-TH-02", REP, 20),
            d.tag(s2, "A-EX-01", AI, 11),
            d.tag(s3, "A-TH-02", TC, 5),
            d.tag(s4, "B-EX-01", REL, 5),
        ]
    assert assert_counts_match(client, engine, world) == 5
    assert _state(engine) is not None

    steps: list[tuple[str, Any]] = [
        ("more tags", lambda d: [d.tag(s4, "B-TH-02", AI, o) for o in (1, 2, 3)]),
        ("code changed", lambda d: d.update(Intervention, tags[0], code_key=REL)),
        (
            "participant changed",
            lambda d: d.update(Intervention, tags[1], participant_id=world.leaders["A-EX-01"]),
        ),
        ("moved to another meeting", lambda d: d.update(Intervention, tags[2], session_id=s4)),
        ("tag deleted", lambda d: d.soft_delete(Intervention, tags[3])),
        ("session deleted", lambda d: d.soft_delete(ObservationSession, s2)),
        ("session moved", lambda d: d.update(ObservationSession, s1, meeting_id=theme)),
        (
            "session start moved to the next day",
            lambda d: d.update(
                ObservationSession, s3, started_at=at(24 * 60), ended_at=at(25 * 60)
            ),
        ),
        ("level changed", lambda d: d.update(Meeting, theme, level="project")),
        ("stage changed", lambda d: d.update(Meeting, project, stage_of_change=None)),
        ("site changed", lambda d: d.update(Meeting, theme, site_id=world.site_ids["B"])),
        ("meeting deleted", lambda d: d.soft_delete(Meeting, project)),
        ("meeting restored", lambda d: d.update(Meeting, project, deleted_at=None)),
        ("session restored", lambda d: d.update(ObservationSession, s2, deleted_at=None)),
        ("site deleted", lambda d: d.soft_delete(Site, world.site_ids["B"])),
    ]
    for name, change in steps:
        with data(engine, world) as d:
            change(d)
        try:
            assert_counts_match(client, engine, world)
            assert_counts_match(client, engine, world, site_id=str(world.site_ids["A"]))
            assert_counts_match(client, engine, world, level="executive")
        except AssertionError as exc:
            raise AssertionError(f"after '{name}': {exc}") from exc


def test_consent_is_applied_when_reading(client: TestClient, engine: Engine, world: World) -> None:
    with data(engine, world) as d:
        s = d.session(d.meeting("A"), world.fw.user_id, at(0), at(60))
        d.tag(s, "A-EX-01", AI, 1)
        d.tag(s, "A-TH-02", AI, 2)
    assert assert_counts_match(client, engine, world) == 2
    with data(engine, world) as d:
        d.update(Participant, world.leaders["A-EX-01"], consent=Consent.withdrawn)
    assert assert_counts_match(client, engine, world) == 1


def test_new_epoch_and_long_backlog_rebuild(
    client: TestClient, engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with data(engine, world) as d:
        s = d.session(d.meeting("A"), world.fw.user_id, at(0), at(60))
        d.tag(s, "A-EX-01", AI, 1)
    assert assert_counts_match(client, engine, world) == 1
    # A restored backup gets a new epoch: the counts are rebuilt, not trusted.
    with transaction(engine) as tx:
        tx.execute(update(ServerState).values(epoch=uuid.uuid4()))
    with data(engine, world) as d:
        d.tag(s, "A-TH-02", REP, 2)
    assert assert_counts_match(client, engine, world) == 2
    epoch = _state(engine)
    assert epoch is not None
    with engine.connect() as conn:
        assert epoch[0] == str(conn.execute(select(ServerState.epoch)).scalar_one())
    monkeypatch.setattr(summary, "REBUILD_AFTER", 0)
    with data(engine, world) as d:
        d.tag(s, "A-TH-02", TC, 3)
    assert assert_counts_match(client, engine, world) == 3


def _matrix_total(session: Any, world: World) -> int:
    return contribution_matrix(session, Scope(world.study_id), Dimension.site).total


def test_a_request_with_an_old_snapshot_still_reads_fresh_counts(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a read transaction older than the last commit cannot start writing; the
    counts are then refreshed and read in a transaction of their own."""
    cache.clear()
    own_transactions: list[bool] = []

    def counting_open_session(*args: Any, **kwargs: Any) -> Any:
        own_transactions.append(True)
        return open_session(*args, **kwargs)

    monkeypatch.setattr(summary, "open_session", counting_open_session)
    with data(engine, world) as d:
        s = d.session(d.meeting("A"), world.fw.user_id, at(0), at(60))
        d.tag(s, "A-EX-01", AI, 1)
    first = open_session(engine)
    try:
        assert _matrix_total(first, world) == 1  # builds the counts
        first.commit()
    finally:
        first.close()
    with data(engine, world) as d:  # the counts are now behind
        d.tag(s, "A-EX-01", REP, 2)
    request = open_session(engine)
    try:
        request.execute(select(Site.id)).all()  # the request's snapshot starts here
        with data(engine, world) as d:  # another connection commits meanwhile
            d.tag(s, "A-EX-01", TC, 3)
        # Refreshed in a transaction of its own (SQLite) or in the request's (PostgreSQL,
        # where each statement sees the latest commits): every tag is counted.
        assert _matrix_total(request, world) == 3
        request.commit()
        assert own_transactions == ([True] if engine.dialect.name == "sqlite" else [])
    finally:
        request.close()


def test_a_request_that_already_wrote_refreshes_in_its_own_transaction(
    engine: Engine, world: World
) -> None:
    """A GET may have written (a token's last use): refreshing in another transaction would
    wait on the request's own lock; it refreshes in the request's transaction instead."""
    cache.clear()
    with data(engine, world) as d:
        s = d.session(d.meeting("A"), world.fw.user_id, at(0), at(60))
        d.tag(s, "A-EX-01", AI, 1)
    request = open_session(engine)
    try:
        request.execute(
            update(Site).where(Site.id == world.site_ids["A"]).values(updated_at=datetime.now(UTC))
        )
        began = datetime.now(UTC)
        assert _matrix_total(request, world) == 1
        assert (datetime.now(UTC) - began).total_seconds() < 10
        request.commit()
    finally:
        request.close()
    assert _state(engine) is not None
