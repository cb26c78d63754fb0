"""REFI-QDA (QDA-XML 1.0): a .qdpx project and a .qdc codebook.

What importers need (../shared/refi-qda/README.md): `origin` on Project; text sources as
files (`plainTextPath="internal://<guid>.txt"`, flat lower-case `sources/`), UTF-8 without
BOM, LF only; selection positions in code points, end exclusive; the schema's element
order; every reference resolving; GUIDs stable across exports. Records keep their own
ids as GUIDs (a selection's GUID is the intervention id of the CSV export); things without
an id of their own get a UUIDv5 of the study and their key.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlmodel import Session, col, select

from fieldscope import __version__
from fieldscope.auth.models import User
from fieldscope.codebook.models import CodeGroup
from fieldscope.common.models import utcnow
from fieldscope.exports import queries
from fieldscope.exports.journal import CodeInfo, Journal, JournalBuilder
from fieldscope.exports.journal_render import plain_text
from fieldscope.exports.queries import A, I, M, P, S
from fieldscope.exports.service import ExportScope
from fieldscope.exports.text import clean, clock, iso_utc
from fieldscope.exports.zipstream import ZipStream
from fieldscope.participants.models import Participant

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
ORIGIN = f"fieldscope {__version__}"
NAMESPACE = uuid.UUID("6f3c1d2e-8a4b-5c7d-9e0f-1a2b3c4d5e6f")  # fieldscope's UUIDv5 namespace
_RGB = re.compile(r"#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")
GROUP_NAMES = {
    CodeGroup.contribution: "Contributions",
    CodeGroup.source_of_influence: "Sources of influence",
    CodeGroup.secondary_effect: "Secondary effects",
}
# name, typeOfVariable, description
VARIABLES = [
    ("Site", "Text", "Site code (of the meeting for sources, of the participant for cases)."),
    ("Level", "Text", "Governance level (of the meeting for sources, of the role for cases)."),
    ("Stage of change", "Text", "Stage of the change discussed: strategy or delivery."),
    ("Meeting date", "Date", "Date the session started (UTC)."),
    ("Duration hours", "Float", "Observed hours, pauses excluded."),
    ("Background", "Text", "Participant's professional background."),
    ("Clinical leader", "Boolean", "Participant is a clinical leader of the study."),
]


def derived_guid(study_id: uuid.UUID, kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{study_id}:{kind}:{key}"))


def code_guid(study_id: uuid.UUID, key: str) -> str:
    return derived_guid(study_id, "code", key)


def source_file(session_id: uuid.UUID) -> str:
    return f"sources/{session_id}.txt"


def _xml(el: ET.Element) -> str:
    return ET.tostring(el, encoding="unicode")


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _describe(el: ET.Element, text: str) -> None:
    if text:
        _sub(el, "Description").text = clean(text)


# ---------------------------------------------------------------- codebook


def _code_element(
    study_id: uuid.UUID, info: CodeInfo, children: dict[str, list[CodeInfo]]
) -> ET.Element:
    attrs = {"guid": code_guid(study_id, info.key), "name": clean(info.label) or info.key}
    attrs["isCodable"] = "true"
    if _RGB.fullmatch(info.colour or ""):
        attrs["color"] = info.colour
    el = ET.Element("Code", attrs)
    description = info.description + (" (retired)" if info.retired else "")
    _describe(el, description.strip())
    for child in children.get(info.key, []):
        el.append(_code_element(study_id, child, children))
    return el


def code_elements(study_id: uuid.UUID, codes: dict[str, CodeInfo]) -> list[ET.Element]:
    """Contributions with their forms as child codes, then one uncodable folder per other
    group (sources of influence, secondary effects) holding its codes."""
    children: dict[str, list[CodeInfo]] = {}
    for info in codes.values():
        if info.parent_key and info.parent_key in codes and info.parent_key != info.key:
            children.setdefault(info.parent_key, []).append(info)
    tops = [c for c in codes.values() if not (c.parent_key and c.parent_key in codes)]
    out = [_code_element(study_id, c, children) for c in tops if c.group is CodeGroup.contribution]
    for group in CodeGroup:
        members = [c for c in tops if c.group is group and group is not CodeGroup.contribution]
        if not members:
            continue
        folder = ET.Element(
            "Code",
            {
                "guid": derived_guid(study_id, "group", group.value),
                "name": GROUP_NAMES.get(group, group.value.replace("_", " ").capitalize()),
                "isCodable": "false",  # a folder: nothing is ever coded on it
            },
        )
        folder.extend(_code_element(study_id, c, children) for c in members)
        out.append(folder)
    return out


def qdc_document(session: Session, study_id: uuid.UUID) -> str:
    """A stand-alone .qdc codebook (urn:QDA-XML:codebook:1.0)."""
    from fieldscope.exports.journal import codebook_catalogue

    codes = codebook_catalogue(session, study_id)
    root = ET.Element("CodeBook", {"xmlns": CODEBOOK_NS, "origin": ORIGIN})
    box = _sub(root, "Codes")
    box.extend(code_elements(study_id, codes))
    return '<?xml version="1.0" encoding="utf-8"?>\n' + _xml(root) + "\n"


# ---------------------------------------------------------------- project


class ProjectWriter:
    """Writes project.qde and the sources of one export scope, in one snapshot."""

    def __init__(
        self, session: Session, scope: ExportScope, progress: Callable[[int], None] | None = None
    ) -> None:
        self.session = session
        self.scope = scope
        self.progress = progress or (lambda _n: None)
        self.journals = JournalBuilder(session, scope)
        self.study_id = scope.study_id
        self.var_guid = {
            name: derived_guid(self.study_id, "variable", name) for name, _, _ in VARIABLES
        }

    # Users: the observers of the exported sessions, and whoever exports.
    def users(self) -> list[User]:
        ids = set(
            self.session.exec(
                select(S.observer_id)
                .join(M, col(M.id) == col(S.meeting_id))
                .where(*queries.session_conditions(self.scope))
            ).all()
        )
        if self.scope.exporter_id:
            ids.add(self.scope.exporter_id)
        users = self.session.exec(select(User).where(col(User.id).in_(ids))).all()
        return sorted(users, key=lambda u: (u.display_name, str(u.id)))

    def _value(self, parent: ET.Element, name: str, kind: str, value: str | None) -> None:
        if value is None or value == "":
            return
        vv = _sub(parent, "VariableValue")
        _sub(vv, "VariableRef", targetGUID=self.var_guid[name])
        _sub(vv, kind).text = value

    def cases(self) -> Iterator[ET.Element]:
        """Consenting participants present in the exported sessions, with their sources
        and their coded selections."""
        sessions = queries.session_ids(self.scope).order_by(None).subquery()
        attended = (
            select(A.participant_id, S.id)
            .join(S, col(S.meeting_id) == col(A.meeting_id))
            .where(col(S.id).in_(select(sessions.c.id)), col(A.deleted_at).is_(None))
        )
        spoke = (
            select(I.participant_id, I.session_id)
            .where(col(I.session_id).in_(select(sessions.c.id)), col(I.deleted_at).is_(None))
            .distinct()
        )
        present: dict[uuid.UUID, set[uuid.UUID]] = {}
        for pid, sid in [*self.session.exec(attended).all(), *self.session.exec(spoke).all()]:
            present.setdefault(pid, set()).add(sid)
        people = [
            p
            for p in self.session.exec(
                select(Participant).where(col(Participant.id).in_(present), *queries.consented())
            ).all()
        ]
        for p in sorted(people, key=lambda p: p.code):
            yield self._case(p, present[p.id])

    def _case(self, p: Participant, session_ids: set[uuid.UUID]) -> ET.Element:
        case = ET.Element("Case", {"guid": str(p.id), "name": p.code})
        if self.scope.include_real_names and p.real_name:
            _describe(case, f"Real name: {p.real_name}")
        site = self.journals.sites.get(p.site_id)
        self._value(case, "Site", "TextValue", site.code if site else None)
        self._value(case, "Level", "TextValue", p.level.value if p.level else None)
        self._value(case, "Background", "TextValue", p.background.value)
        self._value(
            case, "Clinical leader", "BooleanValue", "true" if p.is_clinical_leader else "false"
        )
        for sid in sorted(session_ids, key=str):
            _sub(case, "SourceRef", targetGUID=str(sid))
        interventions = self.session.exec(
            select(I.id)
            .select_from(I)
            .join(S, col(S.id) == col(I.session_id))
            .join(M, col(M.id) == col(S.meeting_id))
            .join(P, col(P.id) == col(I.participant_id))
            .where(
                col(I.participant_id) == p.id,
                *queries.intervention_conditions(self.scope, by_filter=False),
            )
            .order_by(col(I.id))
        ).all()
        for iid in interventions:
            _sub(case, "SelectionRef", targetGUID=str(iid))
        return case

    def source(self, j: Journal) -> ET.Element:
        _, spans = plain_text(j)
        observer = str(j.observer_id)
        src = ET.Element(
            "TextSource",
            {
                "guid": str(j.session_id),
                "name": j.slug,
                "plainTextPath": f"internal://{j.session_id}.txt",
                "creatingUser": observer,
                "creationDateTime": iso_utc(j.created_at) or "",
            },
        )
        _describe(src, f"Field journal of '{j.meeting_title}', observed by {j.observer_name}.")
        for span in spans:
            i = span.intervention
            sel = _sub(
                src,
                "PlainTextSelection",
                guid=str(i.intervention_id),
                name=f"{i.person.code} {clock(i.offset_seconds)}",
                startPosition=str(span.start),
                endPosition=str(span.end),
                creatingUser=observer,
                creationDateTime=iso_utc(i.created_at) or "",
            )
            for key in [i.code_key, i.form_key]:
                if key is None:
                    continue
                coding = _sub(
                    sel,
                    "Coding",
                    guid=derived_guid(self.study_id, f"coding:{i.intervention_id}", key),
                    creatingUser=observer,
                )
                _sub(coding, "CodeRef", targetGUID=code_guid(self.study_id, key))
        self._value(src, "Site", "TextValue", j.site_code)
        self._value(src, "Level", "TextValue", j.level)
        self._value(src, "Stage of change", "TextValue", j.stage_of_change)
        self._value(src, "Meeting date", "DateValue", f"{j.started_at:%Y-%m-%d}")
        if j.duration_seconds is not None:
            self._value(src, "Duration hours", "FloatValue", f"{j.duration_seconds / 3600:.4f}")
        return src

    def project_qde(self, now: datetime, study_name: str) -> Iterator[str]:
        users = self.users()
        creator = str(self.scope.exporter_id) if self.scope.exporter_id else None
        attrs = {"name": clean(study_name) or "fieldscope study", "origin": ORIGIN}
        if creator:
            attrs["creatingUserGUID"] = creator
        attrs["creationDateTime"] = iso_utc(now) or ""
        head = ET.Element("Project", {"xmlns": PROJECT_NS, **attrs})
        opening = _xml(head)
        # ET writes an empty element as "<Project ... />": reopen it to stream children.
        yield '<?xml version="1.0" encoding="utf-8"?>\n' + opening.removesuffix(" />") + ">\n"
        if users:
            box = ET.Element("Users")
            for u in users:
                _sub(box, "User", guid=str(u.id), name=clean(u.display_name))
            yield _xml(box) + "\n"
        codes = code_elements(self.study_id, self.journals.codes)
        if codes:
            book = ET.Element("CodeBook")
            _sub(book, "Codes").extend(codes)
            yield _xml(book) + "\n"
        variables = ET.Element("Variables")
        for name, kind, description in VARIABLES:
            var = _sub(variables, "Variable", guid=self.var_guid[name], name=name)
            var.set("typeOfVariable", kind)
            _describe(var, description)
        yield _xml(variables) + "\n"
        first = True
        for case in self.cases():
            if first:
                yield "<Cases>\n"
                first = False
            yield _xml(case) + "\n"
        if not first:
            yield "</Cases>\n"
        first = True
        for journal in self.journals.journals():
            if first:
                yield "<Sources>\n"
                first = False
            yield _xml(self.source(journal)) + "\n"
            self.progress(1)
        if not first:
            yield "</Sources>\n"
        about = ET.Element("Description")
        names = "with real names" if self.scope.include_real_names else "pseudonymised"
        about.text = (
            f"Exported by {ORIGIN} at {iso_utc(now)}, {names}. Filters: "
            f"{self.scope.filters.describe()}. Withdrawn and declined participants are absent."
        )
        yield _xml(about) + "\n</Project>\n"

    def sources(self) -> Iterator[tuple[str, bytes]]:
        for journal in self.journals.journals():
            text, _ = plain_text(journal)
            # UTF-8 without BOM, LF only: a BOM or CR would shift every position after it.
            yield source_file(journal.session_id), text.encode("utf-8")
            self.progress(1)


def iter_qdpx(
    session: Session, scope: ExportScope, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The .qdpx ZIP: project.qde, then sources/<guid>.txt per session.

    The journals are built twice (for the project, then for the source files) rather
    than held in memory: one read snapshot makes both passes identical.
    """
    from fieldscope.studies.models import Study

    study = session.get(Study, scope.study_id)
    now = utcnow()
    writer = ProjectWriter(session, scope, progress)
    z = ZipStream(now)
    qde = (part.encode() for part in writer.project_qde(now, study.name if study else ""))
    yield from z.member("project.qde", qde)
    for name, data in writer.sources():
        yield from z.member(name, [data])
    yield from z.close()
