"""Codebook versions: drafted, published (then frozen), validated against per mutation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldscope.auth.models import Role, User
from fieldscope.changes import changed_fields
from fieldscope.codebook.default import CONTRIBUTIONS, OTHER_GROUPS
from fieldscope.codebook.models import Code, CodebookVersion, CodeGroup
from fieldscope.codebook.schemas import (
    CodeCreate,
    CodeOut,
    CodeState,
    CodeUpdate,
    ContributionOut,
    GroupOut,
    VersionDetail,
    VersionOut,
    VersionState,
)
from fieldscope.common.models import Record, utcnow
from fieldscope.common.records import apply_patch, get_live
from fieldscope.common.validation import validate_record
from fieldscope.errors import AppError, conflict, invalid, not_found
from fieldscope.registry import EntitySpec, register
from fieldscope.studies.access import authorise, flush_unique, immutable, refuse_from_device


def seed_default_codebook(session: Session, study_id: uuid.UUID) -> CodebookVersion:
    """Create and publish version 1 with the four contributions and their forms."""
    version = CodebookVersion(
        study_id=study_id, number=1, label="Default (Waring et al. 2023)", published_at=utcnow()
    )
    session.add(version)
    order = 0
    for key, label, description, colour, forms in CONTRIBUTIONS:
        order += 1
        session.add(
            Code(
                study_id=study_id,
                codebook_version_id=version.id,
                key=key,
                label=label,
                description=description,
                colour=colour,
                sort_order=order,
            )
        )
        for form_key, form_label in forms:
            order += 1
            session.add(
                Code(
                    study_id=study_id,
                    codebook_version_id=version.id,
                    key=form_key,
                    label=form_label,
                    parent_key=key,
                    colour=colour,
                    sort_order=order,
                )
            )
    for group, codes in OTHER_GROUPS:
        for key, label in codes:
            order += 1
            session.add(
                Code(
                    study_id=study_id,
                    codebook_version_id=version.id,
                    key=key,
                    label=label,
                    group=group,
                    sort_order=order,
                )
            )
    session.flush()
    return version


def codes_of(session: Session, version_id: uuid.UUID) -> dict[str, Code]:
    rows = session.exec(
        select(Code).where(Code.codebook_version_id == version_id, col(Code.deleted_at).is_(None))
    ).all()
    return {c.key: c for c in rows}


def latest_published(session: Session, study_id: uuid.UUID) -> CodebookVersion | None:
    return session.exec(
        select(CodebookVersion)
        .where(CodebookVersion.study_id == study_id, col(CodebookVersion.published_at).is_not(None))
        .order_by(col(CodebookVersion.number).desc())
    ).first()


class _CodeFacts(NamedTuple):
    parent_key: str | None
    group: str
    retired: bool


# Codes of published versions, by version id and publication time. A published version and
# its codes never change again (check_codebook_version and check_code refuse it), so every
# transaction of this process may share them; the version row itself is still read per
# transaction. (The publication time in the key: a publish rolled back and redone later
# after edits is another entry.)
_PUBLISHED_CODES: dict[tuple[uuid.UUID, datetime], dict[str, _CodeFacts]] = {}


def _published_codes(session: Session, version: CodebookVersion) -> dict[str, _CodeFacts]:
    """`codes_of` a published version, as plain facts."""
    assert version.published_at is not None
    key = (version.id, version.published_at)
    codes = _PUBLISHED_CODES.get(key)
    if codes is None:
        rows = session.exec(
            select(Code.key, Code.parent_key, Code.group, Code.retired).where(
                Code.codebook_version_id == version.id, col(Code.deleted_at).is_(None)
            )
        ).all()
        codes = {key: _CodeFacts(parent, group, retired) for key, parent, group, retired in rows}
        if len(_PUBLISHED_CODES) > 1000:
            _PUBLISHED_CODES.clear()
        _PUBLISHED_CODES[key] = codes
    return codes


def validate_tag(
    session: Session,
    study_id: uuid.UUID,
    version_id: uuid.UUID,
    code_key: str,
    form_key: str | None,
) -> bool:
    """Check a tag against the codebook version it was entered under.

    Returns True when the code (or form) has since been retired in the study's latest
    version: such a tag is accepted and flagged, never rejected (SYNC.md invariant 13).
    """
    version = session.get(CodebookVersion, version_id)
    if version is None or version.study_id != study_id or version.deleted_at is not None:
        raise AppError(
            422,
            "unknown_codebook_version",
            "That codebook version does not belong to this study.",
            errors=[{"field": "codebook_version_id", "message": "unknown version"}],
        )
    if version.published_at is None:
        raise AppError(
            422,
            "unpublished_codebook",
            f"Codebook version {version.number} is a draft; publish it before tagging.",
        )
    codes = _published_codes(session, version)
    code = codes.get(code_key)
    if code is None or code.parent_key is not None or code.group != CodeGroup.contribution:
        raise AppError(
            422,
            "unknown_code",
            f"'{code_key}' is not a contribution in codebook version {version.number}.",
            errors=[{"field": "code_key", "message": "unknown contribution code"}],
        )
    if form_key is not None:
        form = codes.get(form_key)
        if form is None or form.parent_key != code_key:
            raise AppError(
                422,
                "unknown_form",
                f"'{form_key}' is not a form of '{code_key}' in codebook version {version.number}.",
                errors=[{"field": "form_key", "message": "unknown form"}],
            )
    latest = latest_published(session, study_id)
    if latest is None or latest.id == version_id:
        return code.retired
    now_codes = _published_codes(session, latest)
    keys = [code_key] + ([form_key] if form_key else [])
    return any(k not in now_codes or now_codes[k].retired for k in keys)


# ---- editing: drafts are edited by PIs, then published and frozen (SYNC.md invariant 13)

IMMUTABLE = "Published codebook versions are immutable; create a new draft version to change codes."
VERSION_FIELDS = ("study_id", "number", "label")
CODE_FIELDS = (
    "study_id",
    "codebook_version_id",
    "key",
    "label",
    "description",
    "group",
    "parent_key",
    "colour",
    "sort_order",
    "retired",
)


def _authorise_pi(session: Session, actor: User, study_id: uuid.UUID) -> None:
    refuse_from_device(session, "Codebooks")
    authorise(session, actor, study_id, Role.pi, action="edit the codebook")


def check_codebook_version(session: Session, record: Record, actor: User, is_new: bool) -> None:
    assert isinstance(record, CodebookVersion)
    with session.no_autoflush:
        validate_record(VersionState, record, VERSION_FIELDS)
        changed = {} if is_new else changed_fields(record)
        immutable(changed, "study_id", "number")
        _authorise_pi(session, actor, record.study_id)
        was_published = (
            changed["published_at"][0] if "published_at" in changed else record.published_at
        )
        if not is_new and was_published is not None:
            raise conflict(IMMUTABLE, "codebook_immutable")
        if is_new:
            draft = _draft_of(session, record.study_id)
            if draft is not None and draft.id != record.id:
                raise conflict(
                    f"Version {draft.number} is already a draft; edit or publish it first.",
                    "draft_exists",
                )
        elif record.published_at is not None and record.deleted_at is None:
            _publishable(session, record)


def _publishable(session: Session, version: CodebookVersion) -> None:
    live = [c for c in codes_of(session, version.id).values() if not c.retired]
    if not any(c.group == CodeGroup.contribution and c.parent_key is None for c in live):
        raise invalid(
            f"Version {version.number} has no contribution code in use; add one before publishing.",
            "codes",
            "empty_codebook",
        )


def check_code(session: Session, record: Record, actor: User, is_new: bool) -> None:
    assert isinstance(record, Code)
    with session.no_autoflush:
        validate_record(CodeState, record, CODE_FIELDS)
        changed = {} if is_new else changed_fields(record)
        immutable(changed, "study_id", "codebook_version_id", "key", "parent_key", "group")
        version = session.get(CodebookVersion, record.codebook_version_id)
        if version is None or version.deleted_at or version.study_id != record.study_id:
            raise invalid(
                "codebook_version_id: there is no such codebook version in this study.",
                "codebook_version_id",
                "unknown_codebook_version",
            )
        _authorise_pi(session, actor, record.study_id)
        if version.published_at is not None:
            raise conflict(IMMUTABLE, "codebook_immutable")
        codes = _all_codes(session, version.id)
        if is_new:
            _check_new_code(record, codes, version)
        if "retired" in changed:
            _retire(session, record, codes)


def _check_new_code(record: Code, codes: dict[str, Code], version: CodebookVersion) -> None:
    if record.key in codes:
        raise AppError(
            409,
            "duplicate_code_key",
            f"Version {version.number} already has a code '{record.key}'.",
            errors=[{"field": "key", "message": "already used in this version"}],
        )
    if record.parent_key is None:
        return
    parent = codes.get(record.parent_key)
    if parent is None or parent.deleted_at is not None:
        raise invalid(
            f"parent_key: version {version.number} has no code '{record.parent_key}'.",
            "parent_key",
            "unknown_parent",
        )
    if parent.parent_key is not None or parent.group != CodeGroup.contribution:
        raise invalid(
            f"parent_key: '{parent.key}' is not a contribution; forms belong to contributions.",
            "parent_key",
            "invalid_parent",
        )
    if record.group != CodeGroup.contribution:
        raise invalid(
            "group: a form of a contribution is in the contribution group.",
            "group",
            "invalid_group",
        )
    if parent.retired:
        raise invalid(
            f"parent_key: '{parent.key}' is retired; un-retire it before adding forms.",
            "parent_key",
            "retired_parent",
        )


def _retire(session: Session, record: Code, codes: dict[str, Code]) -> None:
    if record.retired and record.parent_key is None:
        for form in codes.values():
            if form.parent_key == record.key and not form.retired and form.deleted_at is None:
                form.retired = True
                session.add(form)
    elif not record.retired and record.parent_key is not None:
        parent = codes.get(record.parent_key)
        if parent is not None and parent.retired:
            raise invalid(
                f"retired: its contribution '{parent.key}' is retired; un-retire that first.",
                "retired",
                "retired_parent",
            )


def _all_codes(session: Session, version_id: uuid.UUID) -> dict[str, Code]:
    """Every code of a version by key, deleted ones included (keys are never reused)."""
    rows = session.exec(select(Code).where(Code.codebook_version_id == version_id)).all()
    return {c.key: c for c in rows}


def _draft_of(session: Session, study_id: uuid.UUID) -> CodebookVersion | None:
    return session.exec(
        select(CodebookVersion).where(
            CodebookVersion.study_id == study_id,
            col(CodebookVersion.published_at).is_(None),
            col(CodebookVersion.deleted_at).is_(None),
        )
    ).first()


register(EntitySpec("codebook_version", CodebookVersion, frozenset(), check_codebook_version))
register(EntitySpec("code", Code, frozenset(), check_code, deletable=False))


def list_versions(session: Session, study_id: uuid.UUID) -> list[CodebookVersion]:
    return list(
        session.exec(
            select(CodebookVersion)
            .where(CodebookVersion.study_id == study_id, col(CodebookVersion.deleted_at).is_(None))
            .order_by(col(CodebookVersion.number))
        ).all()
    )


def get_version(session: Session, study_id: uuid.UUID, version_id: uuid.UUID) -> CodebookVersion:
    return get_live(session, CodebookVersion, study_id, version_id, "Codebook version")


def version_detail(session: Session, version: CodebookVersion) -> VersionDetail:
    """The version with its codes as a tree: contributions with their forms, then the
    other groups, each in sort order; retired codes are included and flagged."""
    codes = sorted(codes_of(session, version.id).values(), key=lambda c: (c.sort_order, c.key))
    contributions = [
        ContributionOut(
            **CodeOut.model_validate(c).model_dump(),
            forms=[CodeOut.model_validate(f) for f in codes if f.parent_key == c.key],
        )
        for c in codes
        if c.group == CodeGroup.contribution and c.parent_key is None
    ]
    other_groups = [
        GroupOut(group=g, codes=[CodeOut.model_validate(c) for c in codes if c.group == g])
        for g in CodeGroup
        if g != CodeGroup.contribution
    ]
    return VersionDetail(
        **VersionOut.model_validate(version).model_dump(),
        contributions=contributions,
        other_groups=other_groups,
    )


def create_draft(session: Session, actor: User, study_id: uuid.UUID, label: str) -> CodebookVersion:
    """A new draft: a copy of the latest version's codes (retired ones stay retired)."""
    latest = session.exec(
        select(CodebookVersion)
        .where(CodebookVersion.study_id == study_id, col(CodebookVersion.deleted_at).is_(None))
        .order_by(col(CodebookVersion.number).desc())
    ).first()
    top = session.exec(
        select(func.max(CodebookVersion.number)).where(CodebookVersion.study_id == study_id)
    ).one()
    number = (top or 0) + 1
    draft = CodebookVersion(
        study_id=study_id, number=number, label=label or f"Draft of version {number}"
    )
    check_codebook_version(session, draft, actor, True)
    session.add(draft)
    if latest is not None:
        for code in codes_of(session, latest.id).values():
            copy = Code(
                study_id=study_id,
                codebook_version_id=draft.id,
                **code.model_dump(
                    include={
                        "key",
                        "label",
                        "description",
                        "group",
                        "parent_key",
                        "colour",
                        "sort_order",
                        "retired",
                    }
                ),
            )
            session.add(copy)
    _flush(session)
    return draft


def update_version(
    session: Session, actor: User, version: CodebookVersion, label: str
) -> CodebookVersion:
    version.label = label
    check_codebook_version(session, version, actor, False)
    session.add(version)
    _flush(session)
    return version


def publish(session: Session, actor: User, version: CodebookVersion) -> CodebookVersion:
    if version.published_at is not None:
        raise conflict(IMMUTABLE, "codebook_immutable")
    version.published_at = utcnow()
    check_codebook_version(session, version, actor, False)
    session.add(version)
    _flush(session)
    return version


def discard_draft(session: Session, actor: User, version: CodebookVersion) -> None:
    version.deleted_at = utcnow()
    check_codebook_version(session, version, actor, False)
    session.add(version)
    for code in codes_of(session, version.id).values():
        code.deleted_at = version.deleted_at
        session.add(code)
    _flush(session)


def get_code(session: Session, version: CodebookVersion, code_id: uuid.UUID) -> Code:
    row = session.get(Code, code_id)
    if row is None or row.codebook_version_id != version.id or row.deleted_at is not None:
        raise not_found("Code")
    return row


def add_code(session: Session, actor: User, version: CodebookVersion, body: CodeCreate) -> Code:
    order = body.sort_order
    if order is None:
        top = session.exec(
            select(func.max(Code.sort_order)).where(Code.codebook_version_id == version.id)
        ).one()
        order = (top or 0) + 1
    row = Code(
        study_id=version.study_id,
        codebook_version_id=version.id,
        **body.model_dump(exclude={"sort_order"}),
        sort_order=order,
    )
    check_code(session, row, actor, True)
    session.add(row)
    _flush(session)
    return row


def update_code(session: Session, actor: User, row: Code, body: CodeUpdate) -> Code:
    apply_patch(row, body)
    check_code(session, row, actor, False)
    session.add(row)
    _flush(session)
    return row


def _flush(session: Session) -> None:
    flush_unique(session, "Someone changed this codebook at the same time; try again.", "conflict")
