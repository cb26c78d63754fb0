"""Who may export what: analysts and PIs everything, fieldworkers their own journals,
outsiders nothing (404), real names only for a PI who asks. Bad filters are 422s."""

from __future__ import annotations

import io
import uuid
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fieldscope.audit.models import AuditEvent
from tests.exports.conftest import ExportData

STUDY_EXPORTS = ["/datapackage", "/tables/interventions.csv", "/json", "/qdpx", "/qdc"]


def test_analyst_may_export_everything(client: TestClient, data: ExportData) -> None:
    headers = data.world.analyst.headers
    for path in [*STUDY_EXPORTS, "/journals", f"/journals/{data.session_b}"]:
        res = client.get(data.url(path), headers=headers)
        assert res.status_code == 200, (path, res.text)


def test_fieldworker_exports_only_own_journals(client: TestClient, data: ExportData) -> None:
    headers = data.world.fw.headers  # observed session_a only
    assert client.get(data.url(f"/journals/{data.session_a}"), headers=headers).status_code == 200
    res = client.get(data.url(f"/journals/{data.session_b}"), headers=headers)
    assert res.status_code == 403
    assert "their own sessions" in res.json()["detail"]
    res = client.get(data.url("/journals"), headers=headers)
    assert res.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(res.content)).namelist()
    assert len(names) == 1 and names[0].endswith(data.session_a.hex[-8:] + ".md")
    for path in STUDY_EXPORTS:
        res = client.get(data.url(path), headers=headers)
        assert res.status_code == 403, path
        assert res.headers["content-type"].startswith("application/problem+json")


def test_outsiders_get_404_and_anonymous_401(client: TestClient, data: ExportData) -> None:
    for path in [*STUDY_EXPORTS, "/journals", f"/journals/{data.session_a}"]:
        assert client.get(data.url(path), headers=data.world.outsider.headers).status_code == 404
        assert client.get(data.url(path)).status_code == 401
    # A session of this study asked for under another study's URL is not found either.
    other = f"/api/v1/studies/{data.world.other_study_id}/exports/journals/{data.session_a}"
    assert client.get(other, headers=data.world.outsider.headers).status_code == 404


@pytest.mark.parametrize("who", ["analyst", "fieldworker", "admin"])
def test_real_names_only_for_a_pi(client: TestClient, data: ExportData, who: str) -> None:
    headers = data.world.actors[who].headers
    for path in ["/datapackage", "/qdpx", f"/journals/{data.session_a}"]:
        res = client.get(data.url(path), params={"include_real_names": "true"}, headers=headers)
        assert res.status_code == 403, (who, path)
        if who != "fieldworker" or path.startswith("/journals/"):
            detail = "Only a PI of this study can export participants' real names."
            assert res.json()["detail"] == detail


def test_real_name_exports_are_audited(
    engine: Engine, client: TestClient, data: ExportData
) -> None:
    res = client.get(
        data.url("/datapackage"),
        params={"include_real_names": "true", "site": "A"},
        headers=data.world.pi.headers,
    )
    assert res.status_code == 200
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.entity == "export")).all()
    assert len(events) == 1
    event = events[0]
    assert event.actor_id == data.world.pi.user_id and event.study_id == data.study_id
    assert event.after is not None
    assert event.after["include_real_names"] is True
    assert event.after["filters"]["site"] == ["A"]


@pytest.mark.parametrize(
    ("params", "field", "needle"),
    [
        ({"site": "Z"}, "site", "No site with code Z"),
        ({"participant": "NOPE-1"}, "participant", "No participant with code NOPE-1"),
        ({"participant": "A-EX-09"}, "participant", "withdrew consent"),
        ({"date_from": "2024-05-01", "date_to": "2024-04-01"}, "date_from", "is after"),
        ({"date_from": "yesterday"}, "date_from", ""),
        ({"date_to": "9999-12-31"}, "date_to", "between 1900 and 2200"),
        ({"level": "board"}, "level.0", ""),
        ({"colour": "red"}, "colour", ""),
    ],
)
def test_bad_filters_are_specific_422s(
    client: TestClient, data: ExportData, params: dict[str, str], field: str, needle: str
) -> None:
    res = client.get(data.url("/datapackage"), params=params, headers=data.world.analyst.headers)
    assert res.status_code == 422, res.text
    body = res.json()
    assert res.headers["content-type"].startswith("application/problem+json")
    assert body["errors"][0]["field"] == field
    assert needle in body["detail"]


def test_unknown_session_and_table(client: TestClient, data: ExportData) -> None:
    headers = data.world.analyst.headers
    res = client.get(data.url(f"/journals/{uuid.uuid4()}"), headers=headers)
    assert res.status_code == 404
    assert client.get(data.url("/tables/secrets.csv"), headers=headers).status_code == 422
    res = client.get(data.url("/journals"), params={"format": "pdf"}, headers=headers)
    assert res.status_code == 422
