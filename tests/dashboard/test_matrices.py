"""Contribution matrices: counts by participant, level, site and stage; filters; consent."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.observations.models import Intervention, ObservationSession
from fieldscope.participants.models import Consent, Participant
from tests.apitools import assert_problem, fast_passwords
from tests.dashboard.builders import T0, at, dashboard, data
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]

CODES = ["analytical_insight", "representation", "translation_communication", "relational"]
AI, REP, TC, REL = CODES


def _fieldwork(engine: Engine, world: World) -> dict[str, uuid.UUID]:
    """Site A, executive board (strategy), 2024-03-04, co-observed by fw and fw2; site A,
    thematic meeting without a stage a week later (fw2); site B, project meeting (delivery)
    on 2024-03-05 (fw). Plus tags that must never count."""
    ids: dict[str, uuid.UUID] = {}
    with data(engine, world) as d:
        withdrawn = d.participant("A-PR-09", "A", "project", consent=Consent.withdrawn)
        declined = d.participant("A-PR-10", "A", "project", consent=Consent.declined)
        other = d.participant("A-NC-05", "A", "project", leader=False, real_name="Synthetic Name")
        gone = d.participant("B-PR-11", "B", "project")
        ids.update(withdrawn=withdrawn, declined=declined, other=other)

        board = d.meeting("A", "executive", stage="strategy")
        s1 = d.session(board, world.fw.user_id, at(0), at(60))
        for code, offset in ((AI, 10), (AI, 20), (REP, 30)):
            d.tag(s1, "A-EX-01", code, offset)
        d.tag(s1, "A-TH-02", REL, 40)
        for offset in (50, 60, 70):
            d.tag(s1, withdrawn, REP, offset)
        d.tag(s1, declined, AI, 80)
        d.tag(s1, other, REL, 90, quote="Synthetic quote")
        d.tag(s1, other, "made_up", 95)
        d.tag(s1, gone, AI, 97)
        d.soft_delete(Participant, gone)
        dropped = d.tag(s1, "A-EX-01", REL, 99)
        d.soft_delete(Intervention, dropped)
        s2 = d.session(board, world.fw2.user_id, at(1), at(61))
        d.tag(s2, "A-EX-01", AI, 12)

        later = T0 + timedelta(days=7)
        theme = d.meeting("A", "thematic", start=later)
        s3 = d.session(theme, world.fw2.user_id, later, later + timedelta(hours=1))
        d.tag(s3, "A-TH-02", TC, 5)
        d.tag(s3, "A-TH-02", TC, 6)

        tuesday = T0 + timedelta(days=1)
        project = d.meeting("B", "project", stage="delivery", start=tuesday)
        s4 = d.session(project, world.fw.user_id, tuesday, tuesday + timedelta(hours=1))
        d.tag(s4, "B-EX-01", AI, 5)
        s5 = d.session(project, world.fw2.user_id, tuesday, tuesday + timedelta(hours=1))
        d.tag(s5, "B-EX-01", REL, 5)
        d.soft_delete(ObservationSession, s5)
    return ids


def matrix(client: TestClient, world: World, dimension: str, **params: Any) -> dict[str, Any]:
    res = client.get(
        dashboard(world, f"/contributions/{dimension}"), params=params, headers=world.pi.headers
    )
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def table(body: dict[str, Any]) -> dict[str, list[int]]:
    return {row["label"]: row["counts"] for row in body["rows"]}


def test_participant_by_contribution(client: TestClient, engine: Engine, world: World) -> None:
    _fieldwork(engine, world)
    body = matrix(client, world, "participant")
    assert [c["key"] for c in body["columns"]] == [*CODES, "made_up"]
    assert body["columns"][0]["label"] == "Analytical insight"
    assert table(body) == {
        "A-EX-01": [3, 1, 0, 0, 0],
        "A-NC-05": [0, 0, 0, 1, 1],
        "A-TH-02": [0, 0, 2, 1, 0],
        "B-EX-01": [1, 0, 0, 0, 0],
        "B-TH-02": [0, 0, 0, 0, 0],  # a leader never seen contributing is still a row
    }
    rows = {r["label"]: r for r in body["rows"]}
    assert rows["A-NC-05"]["is_clinical_leader"] is False
    assert (rows["B-EX-01"]["site_code"], rows["B-EX-01"]["level"]) == ("B", "executive")
    assert rows["A-EX-01"]["total"] == 4
    assert body["column_totals"] == [4, 1, 2, 2, 1]
    assert body["total"] == 10
    assert body["co_observed_meetings"] == 1
    assert body["excluded_participants"] == 2
    assert "Synthetic Name" not in str(body) and "Synthetic quote" not in str(body)


def test_level_site_and_stage_by_contribution(
    client: TestClient, engine: Engine, world: World
) -> None:
    _fieldwork(engine, world)
    assert table(matrix(client, world, "level")) == {
        "executive": [3, 1, 0, 2, 1],
        "thematic": [0, 0, 2, 0, 0],
        "project": [1, 0, 0, 0, 0],
    }
    assert table(matrix(client, world, "site")) == {"A": [3, 1, 2, 2, 1], "B": [1, 0, 0, 0, 0]}
    assert table(matrix(client, world, "stage")) == {
        "strategy": [3, 1, 0, 2, 1],
        "delivery": [1, 0, 0, 0, 0],
        "unspecified": [0, 0, 2, 0, 0],
    }
    for dimension in ("participant", "level", "site", "stage"):
        assert matrix(client, world, dimension)["total"] == 10


def test_filters(client: TestClient, engine: Engine, world: World) -> None:
    _fieldwork(engine, world)
    site_b = str(world.site_ids["B"])
    only_b = matrix(client, world, "participant", site_id=site_b)
    assert table(only_b) == {"B-EX-01": [1, 0, 0, 0], "B-TH-02": [0, 0, 0, 0]}
    assert only_b["filters"]["site_id"] == site_b
    assert only_b["excluded_participants"] == 0
    assert table(matrix(client, world, "site", site_id=site_b)) == {"B": [1, 0, 0, 0]}

    thematic = matrix(client, world, "level", level="thematic")
    assert table(thematic) == {"thematic": [0, 0, 2, 0]}
    assert table(matrix(client, world, "site", level="executive")) == {
        "A": [3, 1, 0, 2, 1],
        "B": [0, 0, 0, 0, 0],
    }
    # Dates are inclusive UTC days of the session start.
    first_day = matrix(client, world, "site", date_from="2024-03-04", date_to="2024-03-04")
    assert table(first_day) == {"A": [3, 1, 0, 2, 1], "B": [0, 0, 0, 0, 0]}
    from_tuesday = matrix(client, world, "site", date_from="2024-03-05")
    assert table(from_tuesday) == {"A": [0, 0, 2, 0], "B": [1, 0, 0, 0]}
    until_tuesday = matrix(client, world, "stage", date_to="2024-03-05")
    assert list(table(until_tuesday)) == ["strategy", "delivery"]  # no empty "unspecified"
    nothing = matrix(client, world, "level", date_from="2030-01-01")
    assert nothing["total"] == 0 and all(r["total"] == 0 for r in nothing["rows"])


def test_consent_withdrawn_leaves_every_matrix_at_once(
    client: TestClient, engine: Engine, world: World
) -> None:
    _fieldwork(engine, world)
    before = {d: matrix(client, world, d)["total"] for d in ("participant", "level", "site")}
    assert before == {"participant": 10, "level": 10, "site": 10}
    with data(engine, world) as d:
        d.update(Participant, world.leaders["A-EX-01"], consent=Consent.withdrawn)
    for dimension in ("participant", "level", "site", "stage"):
        body = matrix(client, world, dimension)
        assert body["total"] == 6, dimension
        assert body["excluded_participants"] == 3
    assert "A-EX-01" not in table(matrix(client, world, "participant"))
    # Reversed by a PI: the interventions come back.
    with data(engine, world) as d:
        d.update(Participant, world.leaders["A-EX-01"], consent=Consent.consented)
    assert matrix(client, world, "participant")["total"] == 10


def test_empty_study_gives_zero_rows(client: TestClient, world: World) -> None:
    body = matrix(client, world, "participant")
    assert [r["label"] for r in body["rows"]] == ["A-EX-01", "A-TH-02", "B-EX-01", "B-TH-02"]
    assert body["total"] == 0 and body["column_totals"] == [0, 0, 0, 0]
    assert [r["label"] for r in matrix(client, world, "stage")["rows"]] == ["strategy", "delivery"]


def test_bad_filters_are_refused(client: TestClient, world: World) -> None:
    url = dashboard(world, "/contributions")
    h = world.pi.headers
    assert_problem(client.get(f"{url}/colour", headers=h), 422, "validation_error", "dimension")
    assert_problem(
        client.get(f"{url}/site", params={"level": "board"}, headers=h),
        422,
        "validation_error",
        "level",
    )
    assert_problem(
        client.get(f"{url}/site", params={"site_id": "nope"}, headers=h),
        422,
        "validation_error",
        "site_id",
    )
    other = client.get(f"{url}/site", params={"site_id": str(uuid.uuid4())}, headers=h)
    assert_problem(other, 422, "invalid", "no such site")
    assert other.json()["errors"] == [
        {"field": "site_id", "message": "There is no such site in this study."}
    ]
    assert_problem(
        client.get(
            f"{url}/site", params={"date_from": "2024-03-05", "date_to": "2024-03-04"}, headers=h
        ),
        422,
        "invalid",
        "date_from",
    )
    assert_problem(
        client.get(f"{url}/site", params={"date_from": "2024-13-01"}, headers=h),
        422,
        "validation_error",
        "date_from",
    )
    # One date range everywhere (as meetings and sync): the far end is a 422, not a 500.
    assert_problem(
        client.get(f"{url}/participant", params={"date_to": "9999-12-31"}, headers=h),
        422,
        "validation_error",
        "between 1900 and 2200",
    )
