"""Field journals as files: one session, or a ZIP bundle for a filter."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlmodel import Session

from fieldscope.common.models import utcnow
from fieldscope.exports.journal import Journal, JournalBuilder
from fieldscope.exports.journal_docx import MEDIA_TYPE as DOCX_MEDIA_TYPE
from fieldscope.exports.journal_docx import docx_bytes
from fieldscope.exports.journal_render import html_document, markdown
from fieldscope.exports.schemas import JournalFormat
from fieldscope.exports.service import ExportScope
from fieldscope.exports.zipstream import ZipStream

EXTENSIONS = {JournalFormat.markdown: "md", JournalFormat.html: "html", JournalFormat.docx: "docx"}
MEDIA_TYPES = {
    JournalFormat.markdown: "text/markdown; charset=utf-8",
    JournalFormat.html: "text/html; charset=utf-8",
    JournalFormat.docx: DOCX_MEDIA_TYPE,
}


def render(journal: Journal, fmt: JournalFormat) -> bytes:
    if fmt is JournalFormat.markdown:
        return markdown(journal).encode("utf-8")
    if fmt is JournalFormat.html:
        return html_document(journal).encode("utf-8")
    return docx_bytes(journal)


def journal_file_name(journal: Journal, fmt: JournalFormat) -> str:
    return f"journal_{journal.slug}.{EXTENSIONS[fmt]}"


def iter_journal_bundle(
    session: Session,
    scope: ExportScope,
    fmt: JournalFormat,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """A ZIP of one journal per session in scope, oldest first, one in memory at a time."""
    z = ZipStream(utcnow())
    for journal in JournalBuilder(session, scope).journals():
        yield from z.member(f"journals/{journal_file_name(journal, fmt)}", [render(journal, fmt)])
        if progress:
            progress(1)
    yield from z.close()
