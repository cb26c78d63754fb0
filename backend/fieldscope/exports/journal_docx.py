"""Field journals as Word documents (python-docx): one journal in memory at a time."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.shared import Pt

from fieldscope.exports.journal import NOTE_KINDS, InterventionItem, Journal
from fieldscope.exports.journal_render import header_rows
from fieldscope.exports.text import clock

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_bytes(j: Journal) -> bytes:
    doc: Any = Document()
    doc.core_properties.title = f"Field journal: {j.meeting_title}"
    doc.core_properties.author = "fieldscope"
    doc.core_properties.created = j.created_at.replace(tzinfo=None)
    doc.styles["Normal"].font.size = Pt(10.5)
    doc.add_heading(f"Field journal: {j.meeting_title}", level=1)

    rows = header_rows(j)
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].text = label
        row.cells[0].paragraphs[0].runs[0].bold = True
        row.cells[1].text = value

    doc.add_heading("Timeline", level=2)
    if not j.timeline:
        doc.add_paragraph("No notes or interventions were recorded.")
    for item in j.timeline:
        para = doc.add_paragraph()
        para.add_run(clock(item.offset_seconds) + "  ").font.name = "Courier New"
        if isinstance(item, InterventionItem):
            para.add_run(item.person.label).bold = True
            para.add_run(f" ({item.tag})").italic = True
            if item.quote:
                para.add_run(f" “{item.quote}”")
            if item.note:
                para.add_run(f" Note: {item.note}")
            if item.agenda_item:
                para.add_run(f" Agenda item: {item.agenda_item}")
        else:
            para.add_run(f"{NOTE_KINDS.get(item.kind, item.kind)}: ").bold = True
            para.add_run(item.text)

    doc.add_heading("Write-up", level=2)
    for block in (j.write_up or "No write-up yet.").split("\n\n"):
        doc.add_paragraph(block)

    doc.add_heading("Summary report", level=2)
    _summary(doc, j)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _summary(doc: Any, j: Journal) -> None:
    s = j.summary
    if not s.rows:
        doc.add_paragraph("No tagged interventions.")
        return
    doc.add_paragraph("Interventions by leader and contribution.")
    table = doc.add_table(rows=len(s.rows) + 2, cols=len(s.columns) + 2)
    table.style = "Table Grid"
    head = ["Leader", *(label for _, label in s.columns), "Total"]
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for row, (person, counts) in zip(table.rows[1:], s.rows, strict=False):
        values = [person.label, *(str(counts.get(k, 0)) for k, _ in s.columns)]
        for cell, text in zip(row.cells, [*values, str(sum(counts.values()))], strict=True):
            cell.text = text
    totals = ["Total", *(str(s.column_total(k)) for k, _ in s.columns), str(s.total)]
    for cell, text in zip(table.rows[-1].cells, totals, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
