"""Tidy data: the Frictionless Data Package, per-table CSV and the JSON document."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import frictionless
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.changes import set_actor
from fieldscope.common.models import utcnow
from fieldscope.db import transaction
from fieldscope.exports.queries import read_snapshot
from fieldscope.exports.service import ExportFilters
from fieldscope.exports.tidy import iter_interventions_csv
from fieldscope.exports.tidy_schemas import COLUMNS, RESOURCES, datapackage_template, dumps
from fieldscope.observations.models import Intervention, ObservationSession
from tests.exports.conftest import EMOJI_QUOTE, REAL_NAME, ZWJ_QUOTE, ExportData

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "datapackage"


def _package(client: TestClient, data: ExportData, **params: Any) -> zipfile.ZipFile:
    headers = params.pop("headers", data.world.analyst.headers)
    res = client.get(data.url("/datapackage"), params=params, headers=headers)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(res.content))


def _rows(archive: zipfile.ZipFile, table: str) -> list[dict[str, str]]:
    text = archive.read(f"data/{table}.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_committed_schemas_are_the_code_and_the_export_uses_them(
    client: TestClient, data: ExportData
) -> None:
    committed = {p.name for p in COMMITTED.glob("*.json")}
    assert committed == {f"{n}.schema.json" for n in RESOURCES} | {"datapackage.json"}
    template = (COMMITTED / "datapackage.json").read_text()
    assert template == dumps(datapackage_template()), "run: fieldscope export schemas"

    archive = _package(client, data)
    descriptor = json.loads(archive.read("datapackage.json"))
    for resource in descriptor["resources"]:
        name = resource["name"]
        # Byte for byte the committed file, referenced by the resource.
        assert resource["schema"] == f"schemas/{name}.schema.json"
        assert archive.read(resource["schema"]) == (COMMITTED / f"{name}.schema.json").read_bytes()
        header = archive.read(resource["path"]).decode().split("\n", 1)[0]
        assert header.split(",") == [c.name for c in COLUMNS[name]]
    # Apart from what each export fills in, datapackage.json is the committed template.
    expected = json.loads(template)
    for key in ("name", "title", "created", "resources"):
        expected.pop(key)
        descriptor.pop(key)
    descriptor.pop("fieldscope")
    assert descriptor == expected


def test_datapackage_passes_the_frictionless_validator(
    client: TestClient, data: ExportData, tmp_path: Path
) -> None:
    _package(client, data).extractall(tmp_path)
    report = frictionless.validate(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "note"])
    package = frictionless.Package(tmp_path / "datapackage.json")
    assert package.name == "study-one"
    names = [r.name for r in package.resources]
    assert "participant_names" not in names  # only for a PI who asks


def test_tables_are_tidy_and_typed(client: TestClient, data: ExportData) -> None:
    archive = _package(client, data)
    interventions = {r["intervention_id"]: r for r in _rows(archive, "interventions")}
    a1 = interventions[str(data.interventions["a1"])]
    assert a1["participant_code"] == "A-EX-01"
    assert a1["site_code"] == "A" and a1["meeting_level"] == "executive"
    assert a1["code_key"] == "analytical_insight" and a1["form_key"] == "clinical_evidence"
    assert a1["codebook_version"] == "1"
    assert a1["offset_seconds"] == "300.5"
    assert a1["quote"] == EMOJI_QUOTE
    assert a1["note"] == "A-EX-01 then agreed with A-TH-02"  # real name pseudonymised
    assert a1["code_retired"] == "false" and a1["needs_review"] == "false"
    a2 = interventions[str(data.interventions["a2"])]
    assert a2["quote"] == ZWJ_QUOTE and a2["form_key"] == ""
    assert interventions[str(data.interventions["a3"])]["quote"] == "Line one\r\nline two"
    assert len(interventions) == 5  # withdrawn and declined participants' two are absent

    sessions = {r["session_id"]: r for r in _rows(archive, "sessions")}
    sa = sessions[str(data.session_a)]
    assert sa["started_at"] == "2024-03-01T10:00:00.000Z"
    assert sa["ended_at"] == "2024-03-01T11:30:00.000Z"
    assert sa["duration_hours"] == "1.5"
    assert sa["observer_name"] == "fw1" and sa["retrospective"] == "false"
    assert sessions[str(data.session_a2)]["duration_hours"] == "1.25"

    meetings = {r["meeting_id"]: r for r in _rows(archive, "meetings")}
    assert set(meetings) == {str(data.meeting_a), str(data.meeting_b), str(data.meeting_planned)}
    assert meetings[str(data.meeting_planned)]["stage_of_change"] == ""

    participants = [r["participant_code"] for r in _rows(archive, "participants")]
    assert participants == ["A-EX-01", "A-TH-02", "B-EX-01", "B-TH-02"]
    attendees = {(r["meeting_id"], r["participant_code"]) for r in _rows(archive, "attendees")}
    assert attendees == {
        (str(data.meeting_a), "A-EX-01"),
        (str(data.meeting_a), "A-TH-02"),
        (str(data.meeting_b), "B-EX-01"),
    }
    codebook = _rows(archive, "codebook")
    assert len(codebook) == 4 + 13 + 8
    forms = [r for r in codebook if r["parent_key"] == "representation"]
    assert [f["code_key"] for f in forms] == [
        "clinical_view_heard",
        "critical_challenge",
        "professional_engagement",
    ]
    assert [r["site_code"] for r in _rows(archive, "sites")] == ["A", "B"]


def test_filters_narrow_every_table_and_keys_still_resolve(
    client: TestClient, data: ExportData, tmp_path: Path
) -> None:
    archive = _package(client, data, site="B")
    assert {r["site_code"] for r in _rows(archive, "interventions")} == {"B"}
    assert [r["session_id"] for r in _rows(archive, "sessions")] == [str(data.session_b)]
    assert [r["participant_code"] for r in _rows(archive, "participants")] == [
        "B-EX-01",
        "B-TH-02",
    ]
    archive = _package(client, data, participant="A-TH-02")
    assert [r["participant_code"] for r in _rows(archive, "interventions")] == ["A-TH-02"]
    assert [r["participant_code"] for r in _rows(archive, "participants")] == ["A-TH-02"]
    # Both observers' sessions of the meeting A-TH-02 attended.
    assert len(_rows(archive, "sessions")) == 2
    archive.extractall(tmp_path)
    report = frictionless.validate(tmp_path / "datapackage.json")
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "note"])


def test_pi_with_real_names_gets_the_names_table(
    client: TestClient, data: ExportData, tmp_path: Path
) -> None:
    archive = _package(client, data, include_real_names="true", headers=data.world.pi.headers)
    names = {r["participant_code"]: r["real_name"] for r in _rows(archive, "participant_names")}
    assert names["A-EX-01"] == REAL_NAME
    assert "A-EX-09" not in names
    notes = {r["intervention_id"]: r["note"] for r in _rows(archive, "interventions")}
    # With real names asked for, a name typed into a note is left as written.
    assert notes[str(data.interventions["a1"])] == f"{REAL_NAME} then agreed with A-TH-02"
    archive.extractall(tmp_path)
    assert frictionless.validate(tmp_path / "datapackage.json").valid


def test_single_table_csv_and_json_document(client: TestClient, data: ExportData) -> None:
    headers = data.world.analyst.headers
    res = client.get(data.url("/tables/interventions.csv"), headers=headers)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    assert not res.content.startswith(b"\xef\xbb\xbf")  # no BOM
    rows = list(csv.DictReader(io.StringIO(res.text)))
    assert len(rows) == 5

    res = client.get(data.url("/json"), params={"site": "A"}, headers=headers)
    assert res.status_code == 200, res.text
    doc = res.json()
    assert doc["format"] == "fieldscope-tidy-json" and doc["filters"]["site"] == ["A"]
    assert list(doc["tables"]) == [n for n in RESOURCES if n != "participant_names"]
    by_id = {r["intervention_id"]: r for r in doc["tables"]["interventions"]}
    a1 = by_id[str(data.interventions["a1"])]
    assert a1["offset_seconds"] == 300.5 and a1["code_retired"] is False
    assert a1["form_key"] == "clinical_evidence" and a1["quote"] == EMOJI_QUOTE
    assert by_id[str(data.interventions["a2"])]["form_key"] is None
    session = doc["tables"]["sessions"][0]
    assert session["duration_hours"] == 1.5 and session["started_at"].endswith("Z")
    for name, rows in doc["tables"].items():
        for row in rows:
            assert list(row) == [c.name for c in COLUMNS[name]]


def test_participant_names_table_needs_the_explicit_flag(
    client: TestClient, data: ExportData
) -> None:
    res = client.get(data.url("/tables/participant_names.csv"), headers=data.world.pi.headers)
    assert res.status_code == 422
    assert "include_real_names" in res.json()["detail"]


def test_iter_interventions_csv_streams_in_chunks(engine: Engine, data: ExportData) -> None:
    session = read_snapshot(engine)
    try:
        chunks = list(iter_interventions_csv(session, data.study_id, ExportFilters(site_ids=())))
    finally:
        session.close()
    text = b"".join(chunks).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    assert {r["participant_code"] for r in rows} == {"A-EX-01", "A-TH-02", "B-EX-01"}


def test_soft_deleted_and_unended_records(
    engine: Engine, client: TestClient, data: ExportData
) -> None:
    with transaction(engine) as s:
        set_actor(s, data.world.pi.user_id, via="api")
        gone = s.get(Intervention, data.interventions["a3"])
        obs_b = s.get(ObservationSession, data.session_b)
        running = s.get(ObservationSession, data.session_a2)
        assert gone is not None and obs_b is not None and running is not None
        gone.deleted_at = utcnow()
        obs_b.deleted_at = utcnow()
        running.ended_at, running.duration_seconds = None, None
        s.add_all([gone, obs_b, running])
    headers = data.world.analyst.headers
    doc = client.get(data.url("/json"), headers=headers).json()["tables"]
    ids = {r["intervention_id"] for r in doc["interventions"]}
    assert ids == {str(data.interventions[k]) for k in ("a1", "a2", "a2_1")}
    sessions = {r["session_id"]: r for r in doc["sessions"]}
    assert set(sessions) == {str(data.session_a), str(data.session_a2)}
    assert sessions[str(data.session_a2)]["ended_at"] is None
    assert sessions[str(data.session_a2)]["duration_hours"] is None
    # The meeting of the deleted session stays: it is a planned meeting in the filter.
    assert str(data.meeting_b) in {r["meeting_id"] for r in doc["meetings"]}
    assert client.get(data.url(f"/journals/{data.session_b}"), headers=headers).status_code == 404
    text = client.get(data.url(f"/journals/{data.session_a2}"), headers=headers).text
    assert "| Duration | not ended |" in text and "10:01\u2013not ended" in text
