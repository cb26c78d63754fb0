"""Date-filtered matrices read years, months and days of the derived counts: the ranges are
cut exactly, and the matrices equal counting the interventions themselves, on boundary
days and for meetings whose sessions started on different days."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.dashboard.dated import blocks
from fieldscope.observations.models import ObservationSession
from tests.apitools import fast_passwords
from tests.dashboard.builders import data
from tests.dashboard.test_summary import AI, REL, REP, TC, assert_counts_match
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]


def _days(first: date, upto: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((upto - first).days)]


def test_blocks_cover_the_range_exactly_once() -> None:
    rng = random.Random(5)
    edges = [date(2023, 12, 31), date(2024, 1, 1), date(2024, 2, 29), date(2024, 3, 1)]
    cases = [(a, b) for a in edges for b in edges if a < b]
    for _ in range(300):
        a = date(2022, 1, 1) + timedelta(days=rng.randrange(1200))
        cases.append((a, a + timedelta(days=rng.randrange(1, 900))))
    for first, upto in cases:
        covered: list[date] = []
        for b in blocks(first, upto):
            if b.span == "y":
                assert (b.first.month, b.first.day, b.upto.month, b.upto.day) == (1, 1, 1, 1)
            if b.span == "m":
                assert (b.first.day, b.upto.day) == (1, 1)
            covered += _days(b.first, b.upto)
        assert sorted(covered) == _days(first, upto), (first, upto)
    whole = blocks(date(2024, 1, 1), date(2025, 1, 1))
    assert [(b.span, b.first) for b in whole] == [("y", date(2024, 1, 1))]
    assert [b.span for b in blocks(date.min, date.max)] == ["y", "m", "d"]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Boundary days of years and months, each filter window from and to them.
DAYS = ["2023-12-31", "2024-01-01", "2024-02-29", "2024-03-01", "2024-03-31", "2024-04-01"]
BOUNDARY_WINDOWS = [
    *({"date_from": a} for a in DAYS),
    *({"date_to": b} for b in DAYS),
    *({"date_from": a, "date_to": b} for a in DAYS for b in DAYS if a <= b),
    {"date_from": "2024-01-01", "date_to": "2024-12-31"},
    {"date_from": "2023-01-01", "date_to": "2025-12-31"},
]


def test_date_filtered_matrices_equal_a_recount(
    client: TestClient, engine: Engine, world: World
) -> None:
    with data(engine, world) as d:
        # One meeting observed across midnight of a year's end, by two fieldworkers whose
        # sessions started on different days (and years).
        late = d.meeting("A", "executive", stage="strategy", start=_utc(2023, 12, 31, 23))
        s1 = d.session(late, world.fw.user_id, _utc(2023, 12, 31, 23, 59, 59), None)
        s2 = d.session(late, world.fw2.user_id, _utc(2024, 1, 1), _utc(2024, 1, 1, 1))
        leap = d.meeting("A", "thematic", start=_utc(2024, 2, 29, 22))
        s3 = d.session(leap, world.fw.user_id, _utc(2024, 2, 29, 23, 30), _utc(2024, 3, 1, 1))
        s4 = d.session(leap, world.fw2.user_id, _utc(2024, 3, 1, 0, 0, 1), _utc(2024, 3, 1, 1))
        spring = d.meeting("B", "project", stage="delivery", start=_utc(2024, 3, 31, 12))
        s5 = d.session(spring, world.fw.user_id, _utc(2024, 3, 31, 23, 59), _utc(2024, 4, 1, 1))
        s6 = d.session(spring, world.fw2.user_id, _utc(2024, 4, 1, 9), _utc(2024, 4, 1, 10))
        for i, (s, who, code) in enumerate(
            [
                (s1, "A-EX-01", AI),
                (s1, "A-TH-02", REP),
                (s2, "A-EX-01", AI),
                (s2, "A-EX-01", TC),
                (s3, "A-TH-02", TC),
                (s4, "A-TH-02", TC),
                (s4, "A-EX-01", REL),
                (s5, "B-EX-01", REL),
                (s6, "B-EX-01", AI),
                (s6, "B-TH-02", AI),
            ]
        ):
            d.tag(s, who, code, float(i))
    assert assert_counts_match(client, engine, world, BOUNDARY_WINDOWS) == 10
    assert assert_counts_match(client, engine, world, BOUNDARY_WINDOWS, level="thematic") == 3

    # A session's start moves to another day, month and year: its tags follow it.
    with data(engine, world) as d:
        d.update(ObservationSession, s1, started_at=_utc(2024, 3, 1, 8))
        d.update(ObservationSession, s5, started_at=_utc(2024, 1, 15), ended_at=None)
    assert assert_counts_match(client, engine, world, BOUNDARY_WINDOWS) == 10
    site_b = str(world.site_ids["B"])
    assert assert_counts_match(client, engine, world, BOUNDARY_WINDOWS, site_id=site_b) == 3
