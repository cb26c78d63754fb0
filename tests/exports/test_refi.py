"""REFI-QDA: the .qdpx project and the .qdc codebook, against the published XSDs."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from fastapi.testclient import TestClient

from tests.exports.conftest import EMOJI_QUOTE, WITHDRAWN_NAME, ZWJ_QUOTE, ExportData

XSD = Path(__file__).parent / "xsd"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "refi-qda"
NS = {"p": "urn:QDA-XML:project:1.0", "c": "urn:QDA-XML:codebook:1.0"}


@pytest.fixture(scope="module")
def project_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD / "Project-mrt2019.xsd"))


@pytest.fixture(scope="module")
def codebook_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD / "Codebook-mrt2019.xsd"))


def test_bundled_xsds_are_the_shared_ones() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/refi-qda is not checked out next to the repository")
    for name in ("Project-mrt2019.xsd", "Codebook-mrt2019.xsd"):
        assert (XSD / name).read_bytes() == (SHARED / name).read_bytes()


def test_the_shared_example_validates(project_schema: xmlschema.XMLSchema) -> None:
    """The validator itself works: the known-good example passes, a broken one fails."""
    if not SHARED.is_dir():
        pytest.skip("../shared/refi-qda is not checked out next to the repository")
    text = (SHARED / "example" / "project.qde").read_text("utf-8")
    project_schema.validate(text)
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        project_schema.validate(text.replace('color="#FF0000"', 'color="#FFFF0000"'))


def _qdpx(client: TestClient, data: ExportData, **params: Any) -> zipfile.ZipFile:
    headers = params.pop("headers", data.world.analyst.headers)
    res = client.get(data.url("/qdpx"), params=params, headers=headers)
    assert res.status_code == 200, res.text
    return zipfile.ZipFile(io.BytesIO(res.content))


def _check_project(
    archive: zipfile.ZipFile, schema: xmlschema.XMLSchema
) -> tuple[ET.Element, dict[str, str]]:
    """Validate project.qde, then check every selection by slicing its source text."""
    qde = archive.read("project.qde").decode("utf-8")
    schema.validate(qde)
    root = ET.fromstring(qde)
    assert root.tag == "{urn:QDA-XML:project:1.0}Project"
    assert root.get("origin", "").startswith("fieldscope ")
    names = archive.namelist()
    assert all(n == "project.qde" or n.startswith("sources/") for n in names)
    guids = {el.get("guid") for el in root.iter() if el.get("guid")}
    for el in root.iter():  # every reference resolves
        target = el.get("targetGUID")
        if target:
            assert target in guids, (el.tag, target)
        for attr in ("creatingUser",):
            if el.get(attr):
                assert el.get(attr) in guids
    texts: dict[str, str] = {}
    for src in root.iterfind("p:Sources/p:TextSource", NS):
        path = src.get("plainTextPath", "")
        assert path == f"internal://{src.get('guid')}.txt"
        raw = archive.read("sources/" + path.removeprefix("internal://"))
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        text = raw.decode("utf-8")
        texts[src.get("guid", "")] = text
        for sel in src.iterfind("p:PlainTextSelection", NS):
            start, end = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
            span = text[start:end]
            assert 0 <= start < end <= len(text)
            # Each selection is exactly one intervention's line, nothing more or less.
            assert span.startswith("[") and "\n" not in span.replace("\nline two", "")
            assert text[end] == "\n" and (start == 0 or text[start - 1] == "\n")
            assert sel.get("name", "").split(" ")[0] in span
    return root, texts


def test_qdpx_validates_and_every_selection_slices_to_its_intervention(
    client: TestClient, data: ExportData, project_schema: xmlschema.XMLSchema
) -> None:
    root, texts = _check_project(_qdpx(client, data), project_schema)
    assert set(texts) == {str(data.session_a), str(data.session_a2), str(data.session_b)}
    selections = {
        sel.get("guid"): (src.get("guid"), sel)
        for src in root.iterfind("p:Sources/p:TextSource", NS)
        for sel in src.iterfind("p:PlainTextSelection", NS)
    }
    # The selection GUID is the intervention id of the CSV export.
    assert set(selections) == {str(data.interventions[k]) for k in ("a1", "a2", "a3", "a2_1", "b1")}

    def span(key: str) -> str:
        source, sel = selections[str(data.interventions[key])]
        start, end = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
        return texts[source][start:end]

    # Positions count code points: emoji outside the BMP, ZWJ sequences, combining marks.
    assert span("a1") == (
        "[00:05:00] A-EX-01 (Analytical insight \u203a Presenting clinical evidence or service "
        f"data) \u201c{EMOJI_QUOTE}\u201d Note: A-EX-01 then agreed with A-TH-02 "
        "Agenda item: Item 2: winter plan"
    )
    assert span("a2") == (
        f"[00:10:00] A-TH-02 (Representation) \u201c{ZWJ_QUOTE}\u201d Note: Cafe\u0301 meeting "
        "ran over"
    )
    assert span("a3").endswith("\u201cLine one\nline two\u201d")  # CRLF normalised to LF
    # Positions would be off by the number of astral characters if counted in UTF-16.
    text_a = texts[str(data.session_a)]
    assert len(text_a.encode("utf-16-le")) // 2 > len(text_a)

    _, sel = selections[str(data.interventions["a1"])]
    codings = [c.find("p:CodeRef", NS) for c in sel.iterfind("p:Coding", NS)]
    code_names = {code.get("guid"): code.get("name") for code in root.iterfind(".//p:Code", NS)}
    assert [code_names[c.get("targetGUID", "")] for c in codings if c is not None] == [
        "Analytical insight",
        "Presenting clinical evidence or service data",
    ]


def test_qdpx_codebook_cases_variables_and_users(
    client: TestClient, data: ExportData, project_schema: xmlschema.XMLSchema
) -> None:
    root, _ = _check_project(_qdpx(client, data), project_schema)
    codes = root.find("p:CodeBook/p:Codes", NS)
    assert codes is not None
    tops = [(c.get("name"), c.get("isCodable")) for c in codes.findall("p:Code", NS)]
    assert tops == [
        ("Analytical insight", "true"),
        ("Representation", "true"),
        ("Translation and communication", "true"),
        ("Relational", "true"),
        ("Sources of influence", "false"),
        ("Secondary effects", "false"),
    ]
    relational = codes.findall("p:Code", NS)[3]
    assert relational.get("color") == "#6b3fa0"
    assert [c.get("name") for c in relational.findall("p:Code", NS)][-1] == "Mediating conflict"
    influence = codes.findall("p:Code", NS)[4]
    assert [c.get("isCodable") for c in influence.findall("p:Code", NS)] == ["true"] * 4

    variables = {v.get("name"): v.get("typeOfVariable") for v in root.iterfind(".//p:Variable", NS)}
    assert variables["Site"] == "Text" and variables["Meeting date"] == "Date"
    guid_of = {v.get("guid"): v.get("name") for v in root.iterfind(".//p:Variable", NS)}

    def values(el: ET.Element) -> dict[str, str]:
        out = {}
        for vv in el.iterfind("p:VariableValue", NS):
            ref = vv.find("p:VariableRef", NS)
            value = next(c for c in vv if c.tag != "{urn:QDA-XML:project:1.0}VariableRef")
            out[guid_of[ref.get("targetGUID") if ref is not None else ""] or ""] = value.text
        return out  # type: ignore[return-value]

    cases = {c.get("name"): c for c in root.iterfind("p:Cases/p:Case", NS)}
    assert sorted(cases) == ["A-EX-01", "A-TH-02", "B-EX-01"]  # no withdrawn, no declined
    ex1 = cases["A-EX-01"]
    assert values(ex1) == {
        "Site": "A",
        "Level": "executive",
        "Background": "medicine",
        "Clinical leader": "true",
    }
    assert {r.get("targetGUID") for r in ex1.iterfind("p:SelectionRef", NS)} == {
        str(data.interventions[k]) for k in ("a1", "a3", "a2_1")
    }
    assert {r.get("targetGUID") for r in ex1.iterfind("p:SourceRef", NS)} == {
        str(data.session_a),
        str(data.session_a2),
    }
    assert ex1.find("p:Description", NS) is None  # no real name unless a PI asks

    source = next(
        s
        for s in root.iterfind("p:Sources/p:TextSource", NS)
        if s.get("guid") == str(data.session_a)
    )
    assert values(source) == {
        "Site": "A",
        "Level": "executive",
        "Stage of change": "strategy",
        "Meeting date": "2024-03-01",
        "Duration hours": "1.5000",
    }
    users = {u.get("guid"): u.get("name") for u in root.iterfind("p:Users/p:User", NS)}
    assert users[str(data.world.fw.user_id)] == "fw1"
    assert users[str(data.world.fw2.user_id)] == "fw2"
    assert root.get("creatingUserGUID") == str(data.world.analyst.user_id)
    assert source.get("creatingUser") == str(data.world.fw.user_id)


def test_guids_are_stable_across_exports(
    client: TestClient, data: ExportData, project_schema: xmlschema.XMLSchema
) -> None:
    def guids(archive: zipfile.ZipFile) -> list[str]:
        root = ET.fromstring(archive.read("project.qde"))
        user = "{urn:QDA-XML:project:1.0}User"  # the exporter is one of the users
        return [el.get("guid", "") for el in root.iter() if el.get("guid") and el.tag != user]

    first = _qdpx(client, data)
    second = _qdpx(client, data, headers=data.world.pi.headers)
    assert guids(first) == guids(second)
    assert len(guids(first)) == len(set(guids(first)))
    for name in first.namelist():
        if name.startswith("sources/"):
            assert first.read(name) == second.read(name)


def test_qdpx_filters_and_real_names(
    client: TestClient, data: ExportData, project_schema: xmlschema.XMLSchema
) -> None:
    root, texts = _check_project(_qdpx(client, data, site="B"), project_schema)
    assert list(texts) == [str(data.session_b)]
    assert [c.get("name") for c in root.iterfind("p:Cases/p:Case", NS)] == ["B-EX-01"]

    archive = _qdpx(client, data, include_real_names="true", headers=data.world.pi.headers)
    root, texts = _check_project(archive, project_schema)
    case = next(c for c in root.iterfind("p:Cases/p:Case", NS) if c.get("name") == "A-EX-01")
    assert case.findtext("p:Description", namespaces=NS) == "Real name: Jane Émile Smith"
    assert "A-EX-01 (Jane Émile Smith)" in texts[str(data.session_a)]
    assert WITHDRAWN_NAME not in "".join(texts.values())


def test_qdc_codebook_validates(
    client: TestClient, data: ExportData, codebook_schema: xmlschema.XMLSchema
) -> None:
    res = client.get(data.url("/qdc"), headers=data.world.analyst.headers)
    assert res.status_code == 200, res.text
    assert not res.content.startswith(b"\xef\xbb\xbf")
    text = res.content.decode("utf-8")
    codebook_schema.validate(text)
    root = ET.fromstring(text)
    assert root.tag == "{urn:QDA-XML:codebook:1.0}CodeBook"
    assert root.get("origin", "").startswith("fieldscope ")
    tops = [c.get("name") for c in root.findall("c:Codes/c:Code", NS)]
    assert tops[:4] == [
        "Analytical insight",
        "Representation",
        "Translation and communication",
        "Relational",
    ]
    # The same GUIDs as the project's codebook, so a .qdc can be merged into a project.
    qde = ET.fromstring(_qdpx(client, data).read("project.qde"))
    assert sorted(c.get("guid", "") for c in root.iter("{urn:QDA-XML:codebook:1.0}Code")) == sorted(
        c.get("guid", "") for c in qde.iter("{urn:QDA-XML:project:1.0}Code")
    )
