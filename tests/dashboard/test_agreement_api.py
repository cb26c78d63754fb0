"""Inter-rater agreement through the API, on hand-computed meetings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.auth.models import Role
from fieldscope.observations.models import ObservationSession
from fieldscope.participants.models import Consent, Participant
from tests.apitools import assert_problem, fast_passwords
from tests.dashboard.builders import at, dashboard, data
from tests.factories import World, add_user

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]

AI, REP, TC, REL = "analytical_insight", "representation", "translation_communication", "relational"


def _two_meetings(engine: Engine, world: World) -> dict[str, uuid.UUID]:
    """Site A board: fw starts at t0, fw2 a minute later, so fw2's offsets are 60 s smaller
    for the same moment. Site B: both agree once. A third meeting has one observer only."""
    ids: dict[str, uuid.UUID] = {}
    with data(engine, world) as d:
        withdrawn = d.participant("A-PR-09", "A", consent=Consent.withdrawn)
        board = d.meeting("A", "executive", title="Board")
        a = d.session(board, world.fw.user_id, at(0), at(60))
        b = d.session(board, world.fw2.user_id, at(1), at(61))
        d.tag(a, "A-EX-01", AI, 100)  # t=100  <->  fw2 AI   at t=105: agree
        d.tag(a, "A-EX-01", REP, 200)  # t=200  <->  fw2 AI   at t=210: disagree
        d.tag(a, "A-TH-02", REL, 300)  # t=300  <->  fw2 REL  at t=295: agree
        ids["lonely_a"] = d.tag(a, "A-TH-02", AI, 500)  # nothing near in fw2's record
        d.tag(b, "A-EX-01", AI, 45)
        d.tag(b, "A-EX-01", AI, 150)
        d.tag(b, "A-TH-02", REL, 235)
        ids["lonely_b"] = d.tag(b, "A-EX-01", TC, 700)  # t=760, nothing near in fw's
        d.tag(a, withdrawn, REP, 400)  # never counted, matched or listed
        d.tag(b, withdrawn, AI, 341)
        project = d.meeting("B", "project", title="Project group")
        c = d.session(project, world.fw.user_id, at(0), at(60))
        e = d.session(project, world.fw2.user_id, at(0), at(60))
        d.tag(c, "B-EX-01", AI, 10)
        d.tag(e, "B-EX-01", AI, 12)
        alone = d.meeting("B", "thematic", title="Alone")
        f = d.session(alone, world.fw.user_id, at(0), at(60))
        d.tag(f, "B-TH-02", AI, 10)
        ids.update(board=board, project=project, alone=alone)
    return ids


def agreement(client: TestClient, world: World, **params: Any) -> dict[str, Any]:
    res = client.get(dashboard(world, "/agreement"), params=params, headers=world.pi.headers)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def test_agreement_per_meeting_site_and_overall(
    client: TestClient, engine: Engine, world: World
) -> None:
    ids = _two_meetings(engine, world)
    body = agreement(client, world)
    assert body["window_seconds"] == 30
    assert [m["title"] for m in body["meetings"]] == ["Board", "Project group"]
    board, project = body["meetings"]
    assert [o["display_name"] for o in board["observers"]] == sorted(["fw1", "fw2"])
    # Board: 3 matched pairs, 2 agree. Rater a codes AI, REP, REL; rater b AI, AI, REL.
    # p_o = 2/3; p_e = (1*2 [AI] + 1*1 [REL]) / 9 = 1/3; kappa = (1/3) / (2/3) = 0.5.
    assert board["stats"] == {
        "pairs": 3,
        "agreements": 2,
        "percent_agreement": 66.67,
        "kappa": 0.5,
    }
    (pair,) = board["pairs"]
    assert pair["stats"] == board["stats"]
    cells = {(c["a"], c["b"]): c["count"] for c in pair["confusion"]}
    assert sum(cells.values()) == 3 and cells.get((REL, REL)) == 1
    unmatched = {u["intervention_id"]: u for u in pair["unmatched"]}
    assert set(unmatched) == {str(ids["lonely_a"]), str(ids["lonely_b"])}
    lonely_a = unmatched[str(ids["lonely_a"])]
    assert (lonely_a["participant_code"], lonely_a["code_key"]) == ("A-TH-02", AI)
    assert lonely_a["observer_id"] == str(world.fw.user_id)
    assert lonely_a["unmatched_against"] == str(world.fw2.user_id)
    assert lonely_a["at"].startswith("2024-03-04T10:08:20")  # 10:00 + 500 s
    assert unmatched[str(ids["lonely_b"])]["at"].startswith("2024-03-04T10:12:40")  # 60 + 700 s
    assert "A-PR-09" not in str(body)
    # Project group: one pair, both say AI: 100 % agreement, kappa undefined (p_e = 1).
    assert project["stats"] == {
        "pairs": 1,
        "agreements": 1,
        "percent_agreement": 100.0,
        "kappa": None,
    }
    assert [(s["code"], s["meetings"], s["stats"]["kappa"]) for s in body["sites"]] == [
        ("A", 1, 0.5),
        ("B", 1, None),
    ]
    # Overall: pairs (AI,AI) (REP,AI) (REL,REL) (AI,AI): p_o = 3/4; rows AI 2, REP 1,
    # REL 1; columns AI 3, REL 1; p_e = (2*3 + 1*1) / 16 = 7/16;
    # kappa = (12/16 - 7/16) / (9/16) = 5/9.
    assert body["overall"]["pairs"] == 4
    assert body["overall"]["kappa"] == round(5 / 9, 4)
    assert body["overall"]["percent_agreement"] == 75.0
    assert body["unmatched_total"] == 2


def test_window_decides_what_aligns(client: TestClient, engine: Engine, world: World) -> None:
    ids = _two_meetings(engine, world)
    board = str(ids["board"])
    tight = agreement(client, world, window_seconds=4, meeting_id=board)
    (meeting,) = tight["meetings"]
    assert meeting["stats"]["pairs"] == 0 and meeting["stats"]["kappa"] is None
    assert len(meeting["pairs"][0]["unmatched"]) == 8  # 4 counted tags on each side
    # Exactly 5 s apart is inside a 5 s window: the two agreeing pairs align.
    edge = agreement(client, world, window_seconds=5, meeting_id=board)
    assert edge["meetings"][0]["stats"] == {
        "pairs": 2,
        "agreements": 2,
        "percent_agreement": 100.0,
        "kappa": 1.0,
    }
    assert edge["unmatched_total"] == 4


def test_filters(client: TestClient, engine: Engine, world: World) -> None:
    ids = _two_meetings(engine, world)
    only_b = agreement(client, world, site_id=str(world.site_ids["B"]))
    assert [m["meeting_id"] for m in only_b["meetings"]] == [str(ids["project"])]
    assert agreement(client, world, level="executive")["overall"]["pairs"] == 3
    assert agreement(client, world, date_from="2024-03-05")["meetings"] == []
    alone = agreement(client, world, meeting_id=str(ids["alone"]))
    assert alone["meetings"] == [] and alone["overall"]["pairs"] == 0


def test_three_observers_are_compared_pairwise(
    client: TestClient, engine: Engine, world: World
) -> None:
    fw3 = add_user(engine, "fw3@example.org", world.study_id, Role.fieldworker)
    fw4 = add_user(engine, "fw4@example.org", world.study_id, Role.fieldworker)
    with data(engine, world) as d:
        theme = d.meeting("A", "thematic", title="Theme")
        sessions = {
            who: d.session(theme, who, at(0), at(60))
            for who in (world.fw.user_id, world.fw2.user_id, fw3)
        }
        d.tag(sessions[world.fw.user_id], "A-TH-02", REL, 100)
        d.tag(sessions[world.fw2.user_id], "A-TH-02", REL, 102)
        d.tag(sessions[fw3], "A-TH-02", AI, 99)
        # A fourth observer whose session was deleted is no observer.
        gone = d.session(theme, fw4, at(0), at(60))
        d.tag(gone, "A-TH-02", REL, 100)
        d.soft_delete(ObservationSession, gone)
    body = agreement(client, world)
    (meeting,) = body["meetings"]
    assert len(meeting["observers"]) == 3
    assert len(meeting["pairs"]) == 3
    by_pair = {
        frozenset((p["observer_a"]["display_name"], p["observer_b"]["display_name"])): p
        for p in meeting["pairs"]
    }
    assert by_pair[frozenset(("fw1", "fw2"))]["stats"]["agreements"] == 1
    assert by_pair[frozenset(("fw1", "fw3"))]["stats"]["agreements"] == 0
    assert by_pair[frozenset(("fw2", "fw3"))]["stats"]["agreements"] == 0
    assert meeting["stats"]["pairs"] == 3 and meeting["stats"]["agreements"] == 1
    # Observer ids decide which one is rater a, the same way in every pair.
    ordered = sorted(meeting["observers"], key=lambda o: o["user_id"])
    assert [o["user_id"] for o in meeting["observers"]] == [o["user_id"] for o in ordered]
    for pair in meeting["pairs"]:
        assert pair["observer_a"]["user_id"] < pair["observer_b"]["user_id"]


def test_an_observer_who_tagged_nothing_leaves_every_tag_unmatched(
    client: TestClient, engine: Engine, world: World
) -> None:
    with data(engine, world) as d:
        board = d.meeting("A", "executive", title="Quiet")
        a = d.session(board, world.fw.user_id, at(0), at(60))
        d.session(board, world.fw2.user_id, at(0), at(60))
        d.tag(a, "A-EX-01", AI, 10)
        d.tag(a, "A-EX-01", REP, 20)
    (meeting,) = agreement(client, world)["meetings"]
    assert meeting["stats"]["pairs"] == 0
    assert [u["unmatched_against"] for u in meeting["pairs"][0]["unmatched"]] == [
        str(world.fw2.user_id)
    ] * 2


def test_bad_parameters_are_refused(client: TestClient, world: World) -> None:
    url = dashboard(world, "/agreement")
    h = world.pi.headers
    for value in (-1, 3601, "wide"):
        res = client.get(url, params={"window_seconds": value}, headers=h)
        assert_problem(res, 422, "validation_error", "window_seconds")
    res = client.get(url, params={"meeting_id": str(uuid.uuid4())}, headers=h)
    assert_problem(res, 422, "invalid", "no such meeting")
    outsider_meeting = client.get(url, params={"site_id": str(uuid.uuid4())}, headers=h)
    assert_problem(outsider_meeting, 422, "invalid", "no such site")


def test_withdrawn_consent_leaves_agreement(
    client: TestClient, engine: Engine, world: World
) -> None:
    with data(engine, world) as d:
        board = d.meeting("A", "executive")
        a = d.session(board, world.fw.user_id, at(0), at(60))
        b = d.session(board, world.fw2.user_id, at(0), at(60))
        d.tag(a, "A-EX-01", AI, 10)
        d.tag(b, "A-EX-01", REP, 11)
    assert agreement(client, world)["overall"]["pairs"] == 1
    with data(engine, world) as d:
        d.update(Participant, world.leaders["A-EX-01"], consent=Consent.withdrawn)
    body = agreement(client, world)
    assert body["overall"]["pairs"] == 0 and body["unmatched_total"] == 0
    assert "A-EX-01" not in str(body)


def test_sessions_started_apart_align_on_wall_clock(
    client: TestClient, engine: Engine, world: World
) -> None:
    with data(engine, world) as d:
        board = d.meeting("A", "executive")
        # fw2 arrived ten minutes late: same moment, offsets 600 s apart.
        a = d.session(board, world.fw.user_id, at(0), at(60))
        b = d.session(board, world.fw2.user_id, at(0) + timedelta(minutes=10), at(60))
        d.tag(a, "A-EX-01", AI, 900)
        d.tag(b, "A-EX-01", AI, 300)
    assert agreement(client, world, window_seconds=0)["overall"]["agreements"] == 1
