"""Codebook versions: drafted, published (then frozen), validated against per mutation."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from fieldscope.codebook.default import CONTRIBUTIONS, OTHER_GROUPS
from fieldscope.codebook.models import Code, CodebookVersion, CodeGroup
from fieldscope.common.models import utcnow
from fieldscope.errors import AppError


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
    codes = codes_of(session, version_id)
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
    now_codes = codes_of(session, latest.id)
    keys = [code_key] + ([form_key] if form_key else [])
    return any(k not in now_codes or now_codes[k].retired for k in keys)
