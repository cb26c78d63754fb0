"""`fieldscope export ...` writes the same exports as the API, as the member named."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import xmlschema
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from fieldscope.cli import app
from fieldscope.db import dispose_engines
from fieldscope.exports import files, refi, tidy
from fieldscope.exports.queries import read_snapshot
from fieldscope.exports.schemas import JournalFormat
from fieldscope.exports.service import ExportScope
from tests.exports.conftest import ExportData

XSD = Path(__file__).parent / "xsd"


@pytest.fixture
def cli(engine: Engine) -> Iterator[list[str]]:
    yield ["--database-url", engine.url.render_as_string(hide_password=False)]
    dispose_engines()


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_cli_exports_csv_datapackage_qdpx_and_journals(
    cli: list[str], data: ExportData, tmp_path: Path
) -> None:
    who = ["--study", "study-one", "--as", "analyst@example.org"]
    out = tmp_path / "interventions.csv"
    code, text = run(["export", "csv", "interventions", *who, "-o", str(out), *cli])
    assert code == 0, text
    assert "wrote" in text
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert len(rows) == 5

    out = tmp_path / "package.zip"
    code, text = run(["export", "datapackage", *who, "--site", "A", "-o", str(out), *cli])
    assert code == 0, text
    assert "datapackage.json" in zipfile.ZipFile(out).namelist()

    out = tmp_path / "project.qdpx"
    code, text = run(["export", "qdpx", *who, "--from", "2024-03-01", "-o", str(out), *cli])
    assert code == 0, text
    schema = xmlschema.XMLSchema(str(XSD / "Project-mrt2019.xsd"))
    schema.validate(zipfile.ZipFile(out).read("project.qde").decode())

    out = tmp_path / "journals.zip"
    code, text = run(["export", "journals", *who, "--format", "docx", "-o", str(out), *cli])
    assert code == 0, text
    assert len(zipfile.ZipFile(out).namelist()) == 3

    out = tmp_path / "journal.md"
    args = ["export", "journal", str(data.session_a), *who, "-o", str(out), *cli]
    code, text = run(args)
    assert code == 0, text
    assert out.read_text("utf-8").startswith("# Field journal: ")

    out = tmp_path / "codebook.qdc"
    code, text = run(["export", "qdc", *who, "-o", str(out), *cli])
    assert code == 0, text
    xmlschema.XMLSchema(str(XSD / "Codebook-mrt2019.xsd")).validate(out.read_text("utf-8"))


def test_cli_applies_the_same_rules_and_leaves_no_file(
    cli: list[str], data: ExportData, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "x.zip"
    fw = ["--study", "study-one", "--as", "fw1@example.org"]
    code, text = run(["export", "datapackage", *fw, "-o", str(out), *cli])
    assert code == 1 and "Fieldworkers can export only" in text
    analyst = ["--study", "study-one", "--as", "analyst@example.org"]
    code, text = run(["export", "json", *analyst, "--include-real-names", "-o", str(out), *cli])
    assert code == 1 and "Only a PI" in text
    code, text = run(["export", "json", *analyst, "--site", "Q", "-o", str(out), *cli])
    assert code == 2 and "No site with code Q" in text
    code, text = run(["export", "json", *analyst, "--to", "9999-12-31", "-o", str(out), *cli])
    assert code == 2 and "date_to: must be between 1900 and 2200" in text
    code, text = run(["export", "json", "--study", "nope", "--as", "x@y.org", "-o", str(out), *cli])
    assert code == 1 and "No study 'nope'" in text
    assert not list((tmp_path / "out").iterdir())


def test_progress_counts_every_row_and_session(engine: Engine, data: ExportData) -> None:
    scope = ExportScope(data.study_id, exporter_id=data.world.analyst.user_id)
    session = read_snapshot(engine)
    try:
        done: list[int] = []
        b"".join(tidy.iter_datapackage(session, scope, done.append))
        assert sum(done) == tidy.total_rows(session, scope) > 0
        done.clear()
        b"".join(files.iter_journal_bundle(session, scope, JournalFormat.markdown, done.append))
        assert sum(done) == 3
        done.clear()
        b"".join(refi.iter_qdpx(session, scope, done.append))
        assert sum(done) == 6  # two passes over three sessions
    finally:
        session.close()
