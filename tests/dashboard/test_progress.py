"""Dashboard access, observation progress (against the totals) and the Table 1 shape."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.meetings.models import Meeting
from fieldscope.participants.models import Consent, Participant
from fieldscope.studies.models import Site
from tests.apitools import assert_problem, fast_passwords, unchanged
from tests.dashboard.builders import T0, at, dashboard, data
from tests.factories import World

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]

ENDPOINTS = [
    "/progress",
    "/participants",
    "/contributions/participant",
    "/contributions/level",
    "/contributions/site",
    "/contributions/stage",
    "/quality",
    "/agreement",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_who_may_read_the_dashboard(client: TestClient, world: World, path: str) -> None:
    url = dashboard(world, path)
    for actor in (world.pi, world.analyst, world.admin):
        res = client.get(url, headers=actor.headers)
        assert res.status_code == 200, (actor.email, res.text)
    for actor in (world.fw, world.fw2):
        assert_problem(client.get(url, headers=actor.headers), 403, "forbidden", "PI or analyst")
    # A PI of another study learns nothing, not even that the study exists.
    assert_problem(client.get(url, headers=world.outsider.headers), 404, "not_found", "Study")
    assert client.get(url).status_code == 401
    missing = dashboard(world, path, study_id=uuid.uuid4())
    assert_problem(client.get(missing, headers=world.admin.headers), 404, "not_found")


def test_reading_the_dashboard_writes_nothing(
    client: TestClient, engine: Engine, world: World
) -> None:
    with unchanged(engine):
        for path in ENDPOINTS:
            assert client.get(dashboard(world, path), headers=world.pi.headers).status_code == 200


def _fieldwork(engine: Engine, world: World) -> dict[str, uuid.UUID]:
    """Site A: an executive board co-observed (fw 10:00-11:00, fw2 10:30-11:30: 1.5 h once)
    and a thematic meeting the next week (2 h with a 30 min pause: 1.5 h). Site B: a
    project meeting (1 h) on Sunday 2024-03-10 (still ISO week 10), a running session
    (not counted) and a deleted meeting (not counted)."""
    with data(engine, world) as d:
        board = d.meeting("A", "executive")
        d.session(board, world.fw.user_id, at(0), at(60))
        d.session(board, world.fw2.user_id, at(30), at(90))
        later = T0 + timedelta(days=7)
        theme = d.meeting("A", "thematic", start=later)
        d.session(
            theme,
            world.fw.user_id,
            later,
            later + timedelta(hours=2),
            pauses=((later + timedelta(minutes=30), later + timedelta(minutes=60)),),
        )
        sunday = T0 + timedelta(days=6, hours=8)
        project = d.meeting("B", "project", start=sunday)
        d.session(project, world.fw2.user_id, sunday, sunday + timedelta(hours=1))
        running = d.meeting("B", "thematic")
        d.session(running, world.fw.user_id, at(200), None)
        gone = d.meeting("B", "executive")
        d.session(gone, world.fw.user_id, at(0), at(600))
        d.soft_delete(Meeting, gone)
    return {"board": board, "theme": theme, "project": project}


def test_progress_matches_the_totals(client: TestClient, engine: Engine, world: World) -> None:
    _fieldwork(engine, world)
    res = client.get(dashboard(world, "/progress"), headers=world.pi.headers)
    assert res.status_code == 200, res.text
    body = res.json()
    totals = client.get(f"/api/v1/studies/{world.study_id}/totals", headers=world.pi.headers)
    assert body["totals"] == totals.json()
    total = body["totals"]["total"]
    assert (total["meetings"], total["seconds"]) == (3, 4 * 3600)

    weeks = body["weeks"]
    assert [(w["week"], w["starts_on"]) for w in weeks] == [
        ("2024-W10", "2024-03-04"),
        ("2024-W11", "2024-03-11"),
    ]
    assert [(w["meetings"], w["seconds"]) for w in weeks] == [(2, 2.5 * 3600), (1, 1.5 * 3600)]
    assert [(s["code"], s["meetings"], s["hours"]) for s in weeks[0]["sites"]] == [
        ("A", 1, 1.5),
        ("B", 1, 1.0),
    ]
    # The weeks add up to the totals, per site and overall.
    assert sum(w["meetings"] for w in weeks) == total["meetings"]
    assert sum(w["seconds"] for w in weeks) == pytest.approx(total["seconds"])
    for site in body["totals"]["sites"]:
        in_weeks = [s for w in weeks for s in w["sites"] if s["code"] == site["code"]]
        assert sum(s["seconds"] for s in in_weeks) == pytest.approx(site["seconds"])
        assert sum(s["meetings"] for s in in_weeks) == site["meetings"]

    people = {p["display_name"]: p for p in body["fieldworkers"]}
    fw, fw2 = people["fw1"], people["fw2"]
    # fw: board 1 h + thematic 1.5 h (the deleted meeting's 10 h do not count); one running.
    assert (fw["sessions"], fw["open_sessions"], fw["meetings"]) == (2, 1, 2)
    assert fw["observer_seconds"] == 2.5 * 3600 and fw["observer_hours"] == 2.5
    assert fw["co_observed_meetings"] == 1
    assert (fw2["sessions"], fw2["meetings"], fw2["co_observed_meetings"]) == (2, 2, 1)
    assert fw2["observer_seconds"] == 2 * 3600
    assert fw2["first_session_at"].startswith("2024-03-04T10:30")
    # Observer hours exceed meeting hours by exactly the co-observed overlap (0.5 h).
    observer = sum(p["observer_seconds"] for p in body["fieldworkers"])
    assert observer - total["seconds"] == pytest.approx(0.5 * 3600)


def test_progress_leaves_out_deleted_sites(
    client: TestClient, engine: Engine, world: World
) -> None:
    _fieldwork(engine, world)
    with data(engine, world) as d:
        d.soft_delete(Site, world.site_ids["B"])
    body = client.get(dashboard(world, "/progress"), headers=world.pi.headers).json()
    assert {s["code"] for w in body["weeks"] for s in w["sites"]} == {"A"}
    assert sum(w["seconds"] for w in body["weeks"]) == body["totals"]["total"]["seconds"]


def test_progress_follows_changes_at_once(client: TestClient, engine: Engine, world: World) -> None:
    ids = _fieldwork(engine, world)
    url = dashboard(world, "/progress")
    before = client.get(url, headers=world.pi.headers).json()
    assert client.get(url, headers=world.pi.headers).json() == before  # served again
    with data(engine, world) as d:
        d.soft_delete(Meeting, ids["theme"])
    after = client.get(url, headers=world.pi.headers).json()
    assert after["totals"]["total"]["meetings"] == 2
    assert [w["week"] for w in after["weeks"]] == ["2024-W10"]


def test_participants_by_site_and_level(client: TestClient, engine: Engine, world: World) -> None:
    with data(engine, world) as d:
        d.participant("A-PR-03", "A", "project")
        d.participant("A-PR-04", "A", "project", consent=Consent.withdrawn)
        d.participant("A-NC-05", "A", "project", leader=False)
        d.participant("B-XX-06", "B", None, pending=True, real_name="Synthetic Person")
        gone = d.participant("B-PR-07", "B", "project")
        d.soft_delete(Participant, gone)
    res = client.get(dashboard(world, "/participants"), headers=world.analyst.headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert "Synthetic Person" not in res.text
    assert [s["code"] for s in body["sites"]] == ["A", "B"]
    rows = {r["level"]: r for r in body["rows"]}
    assert list(rows) == ["executive", "thematic", "project", "unassigned"]

    def cell(level: str, i: int) -> tuple[int, int, int, int]:
        c = rows[level]["cells"][i]
        return c["participants"], c["clinical_leaders"], c["without_consent"], c["pending_review"]

    assert cell("executive", 0) == (1, 1, 0, 0)
    assert cell("thematic", 1) == (1, 1, 0, 0)
    assert cell("project", 0) == (3, 2, 1, 0)  # withdrawn still counted, and shown
    assert cell("project", 1) == (0, 0, 0, 0)  # deleted is gone
    assert cell("unassigned", 1) == (1, 1, 0, 1)
    assert rows["project"]["total"]["participants"] == 3
    assert [t["participants"] for t in body["totals"]] == [5, 3]
    assert body["total"]["participants"] == 8
    assert body["total"]["clinical_leaders"] == 7
    # Clinical leaders per site x level are the totals' Table 1 figures.
    totals = client.get(f"/api/v1/studies/{world.study_id}/totals", headers=world.pi.headers)
    for i, site in enumerate(totals.json()["sites"]):
        for level in ("executive", "thematic", "project"):
            assert rows[level]["cells"][i]["clinical_leaders"] == site["clinical_leaders"][level]
        assert body["totals"][i]["clinical_leaders"] == site["clinical_leaders"]["total"]


def test_participants_table_without_unassigned_row(client: TestClient, world: World) -> None:
    body = client.get(dashboard(world, "/participants"), headers=world.pi.headers).json()
    assert [r["level"] for r in body["rows"]] == ["executive", "thematic", "project"]
    assert body["total"] == {
        "participants": 4,
        "clinical_leaders": 4,
        "without_consent": 0,
        "pending_review": 0,
    }
