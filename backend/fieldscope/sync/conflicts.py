"""Field-level conflicts of a pushed mutation against its base version (SYNC.md 11-12).

A field conflicts when the mutation changes it and the latest change to that field since
the mutation's base version came from someone else (another device, the web app, a PI).
A change by the same installed app is never a conflict: a device may queue several edits
of one record before the first is acknowledged. The later-applied write wins; the value it
replaced, both authors and both versions go to `sync_conflicts`, so nothing is lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from sqlmodel import Session, col, select

from fieldscope.auth.models import User
from fieldscope.common.models import Record
from fieldscope.registry import EntitySpec
from fieldscope.sync.models import ChangeLogEntry, SyncConflict
from fieldscope.sync.schemas import ConflictNote, Mutation


@dataclass(frozen=True)
class _Change:
    version: int
    fields: frozenset[str]
    actor_id: uuid.UUID | None
    client_id: uuid.UUID | None


def jsonable(value: Any) -> Any:
    return to_jsonable_python(value)


class ConflictFinder:
    def __init__(self, session: Session, user: User, client_id: uuid.UUID) -> None:
        self.session = session
        self.user = user
        self.client_id = client_id

    def _since(self, m: Mutation, record: Record, version: int) -> list[_Change] | None:
        """Changes after the mutation's base, oldest first; None when there are none.

        A base the server never reached (a restore lost it) is treated as no base at all,
        so every change by someone else counts.
        """
        base = m.base_version or 0
        if base > version:
            base = 0
        if version <= base:
            return None
        # No autoflush: the record's own change must not be flushed half-way through.
        with self.session.no_autoflush:
            rows = self.session.exec(
                select(
                    ChangeLogEntry.version,
                    ChangeLogEntry.changed_fields,
                    ChangeLogEntry.actor_id,
                    ChangeLogEntry.client_id,
                )
                .where(
                    ChangeLogEntry.record_id == record.id,
                    ChangeLogEntry.entity == m.entity,
                    col(ChangeLogEntry.version) > base,
                )
                .order_by(col(ChangeLogEntry.version))
            ).all()
        return [_Change(v, frozenset(f), a, c) for v, f, a, c in rows]

    def edit_conflicts(
        self,
        spec: EntitySpec,
        m: Mutation,
        record: Record,
        version: int,
        changed: dict[str, tuple[Any, Any]],
        keys: set[str],
    ) -> list[ConflictNote]:
        if not keys:
            return []
        history = self._since(m, record, version)
        if not history:
            return []
        latest: dict[str, _Change] = {}
        for change in history:
            for name in change.fields:
                latest[name] = change
        notes = []
        for name in sorted(keys):
            last = latest.get(name)
            if last is None or last.client_id == self.client_id:
                continue
            old, new = changed[name]
            notes.append(self._record(m, record, name, version, new, old, last))
        return notes

    def delete_conflicts(
        self, spec: EntitySpec, m: Mutation, record: Record, version: int
    ) -> list[ConflictNote]:
        """Delete-after-edit: someone else changed the record since the deleter's base."""
        history = self._since(m, record, version)
        if not history:
            return []
        watched = spec.writable | {"deleted_at"}
        others = [c for c in history if c.client_id != self.client_id and c.fields & watched]
        if not others:
            return []
        return [self._record(m, record, "deleted_at", version, record.deleted_at, None, others[-1])]

    def _record(
        self,
        m: Mutation,
        record: Record,
        name: str,
        version: int,
        winning: Any,
        losing: Any,
        loser: _Change,
    ) -> ConflictNote:
        row = SyncConflict(
            study_id=record.study_scope(),
            entity=m.entity,
            record_id=record.id,
            field=name,
            base_version=m.base_version or 0,
            winning_value=jsonable(winning),
            losing_value=jsonable(losing),
            winning_author_id=self.user.id,
            losing_author_id=loser.actor_id,
            winning_version=version + 1,
            losing_version=loser.version,
            mutation_id=m.mutation_id,
        )
        self.session.add(row)
        return ConflictNote(
            conflict_id=row.id,
            field=name,
            winning_value=row.winning_value,
            losing_value=row.losing_value,
            losing_author_id=loser.actor_id,
            losing_version=loser.version,
        )
