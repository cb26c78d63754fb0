"""Field journals as Markdown, printable HTML and plain text (the REFI-QDA source)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from fieldscope.exports.journal import NOTE_KINDS, InterventionItem, Journal, NoteItem
from fieldscope.exports.text import clock, duration_text, iso_utc

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def header_rows(j: Journal) -> list[tuple[str, str]]:
    ended = f"{j.ended_at:%H:%M}" if j.ended_at else "not ended"
    meeting = f"{j.meeting_title} ({j.meeting_theme})" if j.meeting_theme else j.meeting_title
    rows = [
        ("Study", j.study_name),
        ("Site", f"{j.site_code} ({j.site_name})" if j.site_name else j.site_code),
        ("Level", j.level),
        ("Meeting", meeting),
        ("Stage of change", j.stage_of_change or "not recorded"),
        ("Date", f"{j.started_at:%Y-%m-%d}"),
        ("Time (UTC)", f"{j.started_at:%H:%M}\u2013{ended}"),
        ("Duration", duration_text(j.duration_seconds)),
        ("Observer", j.observer_name),
        ("Attendees", ", ".join(p.label for p in j.attendees) or "none recorded"),
        (
            "Session",
            str(j.session_id) + (" (written up retrospectively)" if j.retrospective else ""),
        ),
    ]
    return rows


def note_line(n: NoteItem) -> str:
    return f"[{clock(n.offset_seconds)}] {NOTE_KINDS.get(n.kind, n.kind)}: {n.text}"


def intervention_line(i: InterventionItem) -> str:
    """The one text span an intervention occupies in every format (and in REFI-QDA)."""
    parts = [f"[{clock(i.offset_seconds)}] {i.person.label} ({i.tag})"]
    if i.quote:
        parts.append(f"“{i.quote}”")
    if i.note:
        parts.append(f"Note: {i.note}")
    if i.agenda_item:
        parts.append(f"Agenda item: {i.agenda_item}")
    return " ".join(parts)


# ---------------------------------------------------------------- plain text (REFI-QDA)


@dataclass(frozen=True)
class Span:
    intervention: InterventionItem
    start: int  # Unicode code points from 0
    end: int  # exclusive


def plain_text(j: Journal) -> tuple[str, list[Span]]:
    """The journal as LF-only text and where each intervention sits in it.

    Python's str indexes are code points, which is what REFI-QDA positions count.
    """
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0

    def add(text: str) -> None:
        nonlocal pos
        parts.append(text)
        pos += len(text)

    add(f"Field journal: {j.meeting_title}\n\n")
    for label, value in header_rows(j):
        add(f"{label}: {value}\n")
    add("\nTimeline\n\n")
    if not j.timeline:
        add("No notes or interventions were recorded.\n")
    for item in j.timeline:
        if isinstance(item, InterventionItem):
            line = intervention_line(item)
            spans.append(Span(item, pos, pos + len(line)))
            add(line + "\n")
        else:
            add(note_line(item) + "\n")
    add("\nWrite-up\n\n")
    add((j.write_up or "No write-up yet.") + "\n")
    return "".join(parts), spans


# ---------------------------------------------------------------- Markdown


def md(text: str) -> str:
    """Escape Markdown so participants' words render as written, never as markup."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_block(text: str, indent: str = "  ") -> str:
    # Continuation lines stay inside their list item.
    return md(text).replace("\n", "\n" + indent)


def _md_item(item: NoteItem | InterventionItem) -> str:
    time = f"`{clock(item.offset_seconds)}`"
    if isinstance(item, NoteItem):
        return f"{time} {NOTE_KINDS.get(item.kind, item.kind)}: {_md_block(item.text)}"
    parts = [time, f"**{md(item.person.label)}**", f"_({md(item.tag)})_"]
    if item.quote:
        parts.append(f"“{_md_block(item.quote)}”")
    if item.note:
        parts.append(f"Note: {_md_block(item.note)}")
    if item.agenda_item:
        parts.append(f"Agenda item: {_md_block(item.agenda_item)}")
    return " ".join(parts)


def _md_summary(j: Journal) -> list[str]:
    s = j.summary
    if not s.rows:
        return ["No tagged interventions."]
    head = ["Leader", *(md(label) for _, label in s.columns), "Total"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for person, counts in s.rows:
        cells = [md(person.label), *(str(counts.get(k, 0)) for k, _ in s.columns)]
        out.append("| " + " | ".join([*cells, str(sum(counts.values()))]) + " |")
    totals = ["**Total**", *(str(s.column_total(k)) for k, _ in s.columns), str(s.total)]
    out.append("| " + " | ".join(totals) + " |")
    return out


def markdown(j: Journal) -> str:
    lines = [f"# Field journal: {md(j.meeting_title)}", "", "| | |", "|---|---|"]
    lines += [f"| {label} | {md(value)} |" for label, value in header_rows(j)]
    lines += ["", "## Timeline", ""]
    if not j.timeline:
        lines.append("No notes or interventions were recorded.")
    lines += [f"- {_md_item(item)}" for item in j.timeline]
    lines += ["", "## Write-up", ""]
    lines += [md(j.write_up) if j.write_up else "_No write-up yet._"]
    lines += ["", "## Summary report", "", "Interventions by leader and contribution.", ""]
    lines += _md_summary(j)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML

_CSS = """
body { font: 11pt/1.45 Georgia, 'Times New Roman', serif; color: #111; max-width: 46rem;
       margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { border: 1px solid #bbb; padding: .25rem .45rem; text-align: left; vertical-align: top; }
table.summary td.n, table.summary th.n { text-align: right; }
ol.timeline { list-style: none; padding: 0; }
ol.timeline li { margin: 0 0 .45rem; padding-left: 5.5rem; text-indent: -5.5rem;
                 white-space: pre-wrap; break-inside: avoid; }
.time { font-family: 'Courier New', monospace; }
li.intervention .who { font-weight: bold; }
.tag { font-style: italic; }
.write-up { white-space: pre-wrap; }
@page { size: A4; margin: 18mm 16mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  h2 { break-after: avoid; }
  tr, li { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_item(item: NoteItem | InterventionItem) -> str:
    if isinstance(item, NoteItem):
        kind = NOTE_KINDS.get(item.kind, item.kind)
        return (
            f'<li class="note"><span class="time">{clock(item.offset_seconds)}</span> '
            f'<span class="kind">{_e(kind)}:</span> {_e(item.text)}</li>'
        )
    extra = ""
    if item.quote:
        extra += f" <q>{_e(item.quote)}</q>"
    if item.note:
        extra += f' <span class="note">Note: {_e(item.note)}</span>'
    if item.agenda_item:
        extra += f' <span class="agenda">Agenda item: {_e(item.agenda_item)}</span>'
    return (
        f'<li class="intervention" id="i-{item.intervention_id}">'
        f'<span class="time">{clock(item.offset_seconds)}</span> '
        f'<span class="who">{_e(item.person.label)}</span> '
        f'<span class="tag">({_e(item.tag)})</span>{extra}</li>'
    )


def _html_summary(j: Journal) -> str:
    s = j.summary
    if not s.rows:
        return "<p>No tagged interventions.</p>"
    head = "".join(f'<th scope="col" class="n">{_e(label)}</th>' for _, label in s.columns)
    body = []
    for person, counts in s.rows:
        cells = "".join(f'<td class="n">{counts.get(k, 0)}</td>' for k, _ in s.columns)
        body.append(
            f'<tr><th scope="row">{_e(person.label)}</th>{cells}'
            f'<td class="n">{sum(counts.values())}</td></tr>'
        )
    totals = "".join(f'<td class="n">{s.column_total(k)}</td>' for k, _ in s.columns)
    return (
        '<table class="summary"><caption>Interventions by leader and contribution</caption>'
        f'<thead><tr><th scope="col">Leader</th>{head}<th scope="col" class="n">Total</th>'
        f"</tr></thead><tbody>{''.join(body)}</tbody>"
        f'<tfoot><tr><th scope="row">Total</th>{totals}<td class="n">{s.total}</td></tr>'
        "</tfoot></table>"
    )


def html_document(j: Journal) -> str:
    header = "".join(
        f'<tr><th scope="row">{_e(label)}</th><td>{_e(value)}</td></tr>'
        for label, value in header_rows(j)
    )
    items = "\n".join(_html_item(t) for t in j.timeline)
    timeline = (
        f'<ol class="timeline">\n{items}\n</ol>'
        if j.timeline
        else "<p>No notes or interventions were recorded.</p>"
    )
    write_up = (
        f'<div class="write-up">{_e(j.write_up)}</div>' if j.write_up else "<p>No write-up yet.</p>"
    )
    title = _e(f"Field journal: {j.meeting_title}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        f'<meta name="generator" content="fieldscope">\n'
        f'<meta name="fieldscope:session" content="{j.session_id}">\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<h1>{title}</h1>\n<table class="header">{header}</table>\n'
        f"<h2>Timeline</h2>\n{timeline}\n"
        f"<h2>Write-up</h2>\n{write_up}\n"
        f"<h2>Summary report</h2>\n{_html_summary(j)}\n"
        f'<p class="exported">Session started {iso_utc(j.started_at)}.</p>\n'
        "</main>\n</body>\n</html>\n"
    )
