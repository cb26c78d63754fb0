"""Withdrawn and declined participants are absent from every export format."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import docx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from fieldscope.changes import set_actor
from fieldscope.db import transaction
from fieldscope.participants.models import Consent, Participant
from tests.exports.conftest import (
    DECLINED_QUOTE,
    WITHDRAWN_NAME,
    WITHDRAWN_QUOTE,
    ZWJ_QUOTE,
    ExportData,
)


def _texts(name: str, content: bytes) -> Iterator[tuple[str, str]]:
    """Every piece of text inside an export, unpacking ZIPs and Word documents."""
    if name.endswith(".docx"):
        doc = docx.Document(io.BytesIO(content))
        parts = [p.text for p in doc.paragraphs]
        parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
        yield name, "\n".join(parts)
    elif content.startswith(b"PK\x03\x04"):
        archive = zipfile.ZipFile(io.BytesIO(content))
        for member in archive.namelist():
            yield from _texts(f"{name}/{member}", archive.read(member))
    else:
        yield name, content.decode("utf-8")


def _every_export(client: TestClient, data: ExportData) -> Iterator[tuple[str, str]]:
    pi = data.world.pi.headers
    requests: list[tuple[str, dict[str, str]]] = [
        ("/datapackage", {}),
        ("/datapackage", {"include_real_names": "true"}),
        ("/json", {}),
        ("/qdpx", {}),
        ("/qdpx", {"include_real_names": "true"}),
        ("/qdc", {}),
    ]
    for table in ("interventions", "participants", "attendees", "sessions", "meetings"):
        requests.append((f"/tables/{table}.csv", {}))
    requests.append(("/tables/participant_names.csv", {"include_real_names": "true"}))
    for fmt in ("markdown", "html", "docx"):
        requests.append(("/journals", {"format": fmt}))
        requests.append(("/journals", {"format": fmt, "include_real_names": "true"}))
        for sid in (data.session_a, data.session_b):
            requests.append((f"/journals/{sid}", {"format": fmt}))
    for path, params in requests:
        res = client.get(data.url(path), params=params, headers=pi)
        assert res.status_code == 200, (path, params, res.text)
        ext = {"docx": ".docx"}.get(params.get("format", ""), "")
        yield from _texts(
            f"{path}?{params}{ext if path.startswith('/journals/') else ''}", res.content
        )


def test_withdrawn_and_declined_are_absent_from_every_format(
    client: TestClient, data: ExportData
) -> None:
    forbidden = [
        WITHDRAWN_QUOTE,
        DECLINED_QUOTE,
        WITHDRAWN_NAME,
        "A-EX-09",
        "B-PR-07",
        str(data.withdrawn_id),
        str(data.declined_id),
        str(data.interventions["aw"]),
        str(data.interventions["bd"]),
    ]
    seen = 0
    for name, text in _every_export(client, data):
        seen += 1
        for needle in forbidden:
            assert needle not in text, f"{needle!r} leaked into {name}"
    assert seen > 30
    # Mentions of them in other people's text are withheld, not silently cut.
    res = client.get(data.url(f"/journals/{data.session_a}"), headers=data.world.pi.headers)
    assert "\\[participant withheld\\] left early, upset" in res.text  # Markdown-escaped
    assert "Afterwards \\[participant withheld\\] asked to be removed" in res.text
    assert "\\[participant withheld\\] was silent." in res.text


def test_withdrawing_consent_later_removes_them_from_the_next_export(
    engine: Engine, client: TestClient, data: ExportData
) -> None:
    url = data.url("/tables/interventions.csv")
    before = client.get(url, headers=data.world.analyst.headers)
    assert "A-TH-02" in before.text and "Les médecins" in before.text
    with transaction(engine) as s:
        set_actor(s, data.world.pi.user_id, via="api")
        person = s.get(Participant, data.world.leaders["A-TH-02"])
        assert person is not None
        person.consent = Consent.withdrawn
        s.add(person)
    after = client.get(url, headers=data.world.analyst.headers)
    assert after.status_code == 200
    assert "A-TH-02" not in after.text and ZWJ_QUOTE not in after.text
    # Mentioned by code in someone else's note: withheld there too.
    assert "then agreed with [participant withheld]" in after.text
    qdpx = client.get(data.url("/qdpx"), headers=data.world.analyst.headers)
    for name, text in _texts("qdpx", qdpx.content):
        assert "A-TH-02" not in text and "Les médecins" not in text, name
    # Asking for them by code is refused with a reason, not answered with an empty file.
    res = client.get(url, params={"participant": "A-TH-02"}, headers=data.world.pi.headers)
    assert res.status_code == 422
    assert res.json()["code"] == "participant_not_consented"
