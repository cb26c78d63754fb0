"""On the demo study (shaped like the reference study), the dashboard agrees with the totals
and with the study's published figures: 28 meetings, 49 hours (A 22, B 22, C 5), Table 1."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from fieldscope.db import transaction
from fieldscope.demo import plan
from fieldscope.demo.loader import load_demo
from fieldscope.observations.models import Intervention, ObservationSession
from fieldscope.participants.models import Consent, Participant
from tests.apitools import fast_passwords
from tests.factories import login

pytestmark = pytest.mark.usefixtures("fast_passwords")
__all__ = ["fast_passwords"]

TABLE1 = {  # clinical leaders by level and site: the study's Table 1
    "executive": [2, 1, 1],
    "thematic": [3, 3, 2],
    "project": [5, 6, 2],
}


@pytest.fixture
def demo(engine: Engine, client: TestClient) -> tuple[str, dict[str, str]]:
    result = load_demo(engine)
    pi_email = next(email for key, email, _, _ in plan.ACCOUNTS if key == "pi")
    headers = login(client, pi_email, plan.DEFAULT_PASSWORD)
    return f"/api/v1/studies/{result.study_id}", headers


def get(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    res = client.get(url, params=params, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def test_progress_is_the_reference_study(
    client: TestClient, demo: tuple[str, dict[str, str]]
) -> None:
    base, h = demo
    body = get(client, f"{base}/dashboard/progress", h)
    assert body["totals"] == get(client, f"{base}/totals", h)
    total = body["totals"]["total"]
    assert (total["meetings"], total["hours"]) == (28, 49.0)
    assert {s["code"]: s["hours"] for s in body["totals"]["sites"]} == {
        "A": 22.0,
        "B": 22.0,
        "C": 5.0,
    }
    weeks = body["weeks"]
    assert sum(w["meetings"] for w in weeks) == 28
    assert sum(w["seconds"] for w in weeks) == pytest.approx(49 * 3600)
    for code, hours in (("A", 22), ("B", 22), ("C", 5)):
        site_seconds = sum(s["seconds"] for w in weeks for s in w["sites"] if s["code"] == code)
        assert site_seconds == pytest.approx(hours * 3600)
    observer = sum(f["observer_seconds"] for f in body["fieldworkers"])
    assert observer == pytest.approx(total["observer_seconds"])
    co_observed = total["co_observed_meetings"]
    assert co_observed > 0
    assert max(f["co_observed_meetings"] for f in body["fieldworkers"]) == co_observed


def test_participants_table_is_table1(client: TestClient, demo: tuple[str, dict[str, str]]) -> None:
    base, h = demo
    body = get(client, f"{base}/dashboard/participants", h)
    assert [s["code"] for s in body["sites"]] == ["A", "B", "C"]
    leaders = {r["level"]: [c["clinical_leaders"] for c in r["cells"]] for r in body["rows"]}
    assert leaders == TABLE1
    assert [t["clinical_leaders"] for t in body["totals"]] == [10, 10, 5]


def test_matrices_count_every_consented_intervention(
    client: TestClient, engine: Engine, demo: tuple[str, dict[str, str]]
) -> None:
    base, h = demo
    with transaction(engine, write=False) as s:
        counted = s.execute(
            select(func.count())
            .select_from(Intervention)
            .join(Participant, col(Participant.id) == col(Intervention.participant_id))
            .join(ObservationSession, col(ObservationSession.id) == col(Intervention.session_id))
            .where(
                col(Intervention.deleted_at).is_(None),
                col(ObservationSession.deleted_at).is_(None),
                col(Participant.consent) == Consent.consented,
            )
        ).scalar_one()
    assert counted > 0
    for dimension in ("participant", "level", "site", "stage"):
        body = get(client, f"{base}/dashboard/contributions/{dimension}", h)
        assert body["total"] == counted, dimension
        assert sum(r["total"] for r in body["rows"]) == counted
    per_site = get(client, f"{base}/dashboard/contributions/site", h)
    for row in per_site["rows"]:
        only = get(client, f"{base}/dashboard/contributions/participant", h, site_id=row["key"])
        assert only["total"] == row["total"]


def test_agreement_and_quality_run_on_the_demo(
    client: TestClient, demo: tuple[str, dict[str, str]]
) -> None:
    base, h = demo
    totals = get(client, f"{base}/totals", h)["total"]
    report = get(client, f"{base}/dashboard/agreement", h)
    assert len(report["meetings"]) == totals["co_observed_meetings"]
    assert report["overall"]["pairs"] > 0
    assert report["overall"]["pairs"] == sum(m["stats"]["pairs"] for m in report["meetings"])
    quality = get(client, f"{base}/dashboard/quality", h)
    assert quality["open_sessions"]["count"] == 0
    assert quality["long_sessions"]["count"] == 0
