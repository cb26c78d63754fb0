"""Field journals: Markdown, printable HTML and DOCX, one session or a bundle."""

from __future__ import annotations

import io
import zipfile
from html.parser import HTMLParser

import docx
from fastapi.testclient import TestClient

from tests.exports.conftest import (
    COMBINING_NOTE,
    EMOJI_QUOTE,
    REAL_NAME,
    WITHDRAWN_NAME,
    ExportData,
)


def _journal(client: TestClient, data: ExportData, fmt: str, **params: str) -> bytes:
    res = client.get(
        data.url(f"/journals/{data.session_a}"),
        params={"format": fmt, **params},
        headers=data.world.analyst.headers,
    )
    assert res.status_code == 200, res.text
    return res.content


def test_markdown_journal_has_header_timeline_write_up_and_summary(
    client: TestClient, data: ExportData
) -> None:
    text = _journal(client, data, "markdown").decode("utf-8")
    assert text.startswith("# Field journal: STP board: café & \\<strategy\\> 😀\n")
    for row in [
        "| Site | A (Site A) |",
        "| Level | executive |",
        "| Stage of change | strategy |",
        "| Date | 2024-03-01 |",
        "| Time (UTC) | 10:00\u201311:30 |",
        "| Duration | 1 h 30 min (1.50 h) |",
        "| Observer | fw1 |",
        "| Attendees | A-EX-01, A-TH-02 |",
    ]:
        assert row in text
    # Interleaved by offset: note 100 s, a1 300.5 s, a2 600 s, a3 1200 s, untimed note last.
    order = [
        text.index("Room set up"),
        text.index("We need the data 📊"),
        text.index("Les médecins 👩\u200d⚕️"),
        text.index("Line one"),
        text.index("Afterwards"),
    ]
    assert order == sorted(order)
    assert "`00:05:00` **A-EX-01** _(Analytical insight \u203a Presenting clinical" in text
    assert "Agenda item: Item 2: winter plan" in text
    # Markdown and HTML specials in participants' words are escaped, not rendered.
    assert "\\<b\\>now\\</b\\> & \\*never\\*" in text
    assert COMBINING_NOTE in text
    # CRLF became LF inside the list item, indented so it stays in the item.
    assert "Line one\n  line two" in text and "\r" not in text
    assert "## Write-up\n\nThe board debated winter.\n" in text
    assert "Second paragraph ✅." in text
    summary = text[text.index("## Summary report") :]
    assert (
        "| Leader | Analytical insight | Representation | Translation and communication "
        "| Relational | Total |" in summary
    )
    assert "| A-EX-01 | 1 | 0 | 0 | 1 | 2 |" in summary
    assert "| A-TH-02 | 0 | 1 | 0 | 0 | 1 |" in summary
    assert "| **Total** | 1 | 1 | 0 | 1 | 3 |" in summary


def test_real_names_are_replaced_by_codes_in_free_text(
    client: TestClient, data: ExportData
) -> None:
    text = _journal(client, data, "markdown").decode("utf-8")
    assert REAL_NAME not in text
    assert "Note: A-EX-01 then agreed with A-TH-02" in text


def test_pi_asking_explicitly_gets_real_names(client: TestClient, data: ExportData) -> None:
    res = client.get(
        data.url(f"/journals/{data.session_a}"),
        params={"include_real_names": "true"},
        headers=data.world.pi.headers,
    )
    assert res.status_code == 200, res.text
    assert f"A-EX-01 ({REAL_NAME})" in res.text
    # Withdrawn people stay withheld even for the PI.
    assert WITHDRAWN_NAME not in res.text


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_journal_is_printable_and_escaped(client: TestClient, data: ExportData) -> None:
    html = _journal(client, data, "html").decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in html
    assert "@media print" in html and "@page" in html
    assert "&lt;b&gt;now&lt;/b&gt;" in html and "<b>now</b>" not in html
    parser = _Collect()
    parser.feed(html)
    text = "".join(parser.text)
    assert EMOJI_QUOTE in text
    assert "STP board: café & <strategy> 😀" in text
    assert "b" not in parser.tags  # the participant's markup stayed text
    assert parser.tags.count("li") == 6  # 3 interventions + 3 notes (withdrawn one absent)
    assert "Interventions by leader and contribution" in text


def test_docx_journal_reads_back(client: TestClient, data: ExportData) -> None:
    content = _journal(client, data, "docx")
    doc = docx.Document(io.BytesIO(content))
    paragraphs = "\n".join(p.text for p in doc.paragraphs)
    assert "Field journal: STP board: café & <strategy> 😀" in paragraphs
    assert EMOJI_QUOTE in paragraphs
    assert "Timeline" in paragraphs and "Write-up" in paragraphs
    header = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert header["Site"] == "A (Site A)"
    assert header["Attendees"] == "A-EX-01, A-TH-02"
    assert header["Duration"] == "1 h 30 min (1.50 h)"
    summary = [[c.text for c in row.cells] for row in doc.tables[1].rows]
    assert summary[0][0] == "Leader" and summary[0][-1] == "Total"
    assert summary[1] == ["A-EX-01", "1", "0", "0", "1", "2"]
    assert summary[-1] == ["Total", "1", "1", "0", "1", "3"]


def test_bundle_zips_one_journal_per_session_in_scope(client: TestClient, data: ExportData) -> None:
    res = client.get(
        data.url("/journals"),
        params={"format": "html", "site": "A"},
        headers=data.world.analyst.headers,
    )
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(res.content)).namelist()
    assert len(names) == 2
    assert all(n.startswith("journals/journal_2024-03-01_") and n.endswith(".html") for n in names)
    assert any(n.endswith(data.session_a.hex[-8:] + ".html") for n in names)


def test_bundle_filters_by_date_level_and_participant(client: TestClient, data: ExportData) -> None:
    def count(**params: str | list[str]) -> int:
        res = client.get(data.url("/journals"), params=params, headers=data.world.pi.headers)
        assert res.status_code == 200, res.text
        return len(zipfile.ZipFile(io.BytesIO(res.content)).namelist())

    assert count() == 3
    assert count(date_from="2024-04-01") == 1
    assert count(date_to="2024-03-01") == 2  # the end day is inclusive
    assert count(level="thematic") == 1
    assert count(level=["thematic", "executive"]) == 3
    assert count(participant="B-EX-01") == 1
    assert count(participant="A-TH-02") == 2  # attended the meeting both observers saw
    assert count(site="B", level="executive") == 0


def test_docx_bundle(client: TestClient, data: ExportData) -> None:
    res = client.get(
        data.url("/journals"), params={"format": "docx"}, headers=data.world.analyst.headers
    )
    assert res.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(res.content))
    for name in archive.namelist():
        doc = docx.Document(io.BytesIO(archive.read(name)))
        assert doc.paragraphs[0].text.startswith("Field journal: ")
