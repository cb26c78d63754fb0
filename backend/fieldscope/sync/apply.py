"""Apply new mutations of one push, in seq order, through the entities' shared checks.

Each mutation either takes full effect or none: a rejected one (its check raised AppError,
or the database refused it) is rolled back to its savepoint and recorded with the reason,
and the rest of the batch goes on (SYNC.md invariant 6).

Speed: a savepoint and a flush per mutation cost several round trips each. So a batch is
first tried in ONE savepoint, flushing only where a later check must see an earlier
mutation (an edit or delete, a record touched twice, a reference to a record created in
this batch); if any mutation is refused, that savepoint is rolled back and the batch is
applied again one savepoint per mutation. Both paths apply the same checks in the same
order, so they produce the same outcomes.
"""

from __future__ import annotations

import copy
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fieldscope.auth.models import User
from fieldscope.changes import changed_fields, insert_new, set_actor
from fieldscope.common.models import Record
from fieldscope.errors import AppError
from fieldscope.registry import EntitySpec, specs
from fieldscope.sync.conflicts import ConflictFinder
from fieldscope.sync.schemas import ConflictNote, Mutation, MutationResult


class _Retry(Exception):
    """The optimistic single-savepoint pass hit a refusal: redo one savepoint per mutation."""


def label(entity: str) -> str:
    return entity.replace("_", " ")


def _uuid_values(fields: dict[str, Any]) -> set[str]:
    return {v for v in fields.values() if isinstance(v, str) and len(v) == 36}


class Applier:
    def __init__(self, session: Session, user: User, client_id: uuid.UUID, now: datetime) -> None:
        self.session = session
        self.user = user
        self.client_id = client_id
        self.now = now
        self.specs = specs()
        self.records: dict[tuple[str, uuid.UUID], Record] = {}
        self.created: list[Record] = []  # added since the last flush
        self.by_record: dict[uuid.UUID, uuid.UUID] = {}
        self.finder = ConflictFinder(session, user, client_id)

    # --- the two passes -------------------------------------------------------------------

    def run(self, mutations: list[Mutation]) -> list[MutationResult]:
        info = self.session.info
        info["client_id"] = self.client_id
        info["mutation_by_record"] = self.by_record
        try:
            try:
                return self._optimistic(mutations)
            except _Retry:
                return self._one_by_one(mutations)
        finally:
            info.pop("client_id", None)
            info.pop("mutation_by_record", None)
            set_actor(self.session, self.user.id, via="api")

    def _optimistic(self, mutations: list[Mutation]) -> list[MutationResult]:
        self._preload(mutations)
        results: list[MutationResult] = []
        created: set[str] = set()  # ids (as text) created in this pass and not yet flushed
        savepoint = self.session.begin_nested()
        try:
            for m in mutations:
                key = (m.entity, m.record_id)
                is_create = m.op == "upsert" and key not in self.records
                if created and (not is_create or _uuid_values(m.fields) & created):
                    self._flush(created)
                results.append(self._apply(m))
                if is_create:
                    created.add(str(m.record_id))
                else:
                    self._flush(created)
            self._flush(created)
            savepoint.commit()
            return results
        except (AppError, IntegrityError) as exc:
            savepoint.rollback()
            raise _Retry from exc
        except BaseException:
            savepoint.rollback()
            raise

    def _one_by_one(self, mutations: list[Mutation]) -> list[MutationResult]:
        self._preload(mutations)
        results: list[MutationResult] = []
        for m in mutations:
            savepoint = self.session.begin_nested()
            try:
                result = self._apply(m)
                self._write()
                savepoint.commit()
            except AppError as err:
                savepoint.rollback()
                result = self._rejected(m, err)
            except IntegrityError as exc:
                savepoint.rollback()
                result = self._rejected(m, _integrity(m, exc))
            except BaseException:
                savepoint.rollback()
                raise
            finally:
                self.by_record.clear()
                self.created.clear()
            results.append(result)
        return results

    def _flush(self, created: set[str]) -> None:
        self._write()
        created.clear()
        self.by_record.clear()

    def _write(self) -> None:
        """Flush; new records are written in bulk (`changes.insert_new`)."""
        try:
            insert_new(self.session, self.created)
        finally:
            self.created.clear()

    def _preload(self, mutations: list[Mutation]) -> None:
        """Start a pass: forget the last one, load every targeted record (a query per entity)."""
        self.records.clear()
        self.created.clear()
        # A refused pass leaves the ids it mapped: they would misattribute the next pass's
        # change-log rows (say, a cascade) to a mutation that never took effect.
        self.by_record.clear()
        ids: dict[str, set[uuid.UUID]] = defaultdict(set)
        for m in mutations:
            ids[m.entity].add(m.record_id)
        for entity, wanted in ids.items():
            spec = self.specs.get(entity)
            if spec is None:
                continue
            model = spec.model
            rows = self.session.exec(select(model).where(col(model.id).in_(list(wanted)))).all()
            for row in rows:
                self.records[(entity, row.id)] = row

    def _rejected(self, m: Mutation, err: AppError) -> MutationResult:
        self.records.pop((m.entity, m.record_id), None)
        spec = self.specs.get(m.entity)
        current = None
        if spec is not None:
            current = self.session.get(spec.model, m.record_id)
            if current is not None:
                self.records[(m.entity, m.record_id)] = current
        return MutationResult(
            mutation_id=m.mutation_id,
            client_seq=m.client_seq,
            outcome="rejected",
            reason=err.detail,
            reason_code=err.code,
            errors=err.errors,
            entity=m.entity,
            record_id=m.record_id,
            version=current.version if current is not None else None,
        )

    # --- one mutation ---------------------------------------------------------------------

    def _apply(self, m: Mutation) -> MutationResult:
        spec = self.specs.get(m.entity)
        if spec is None:
            raise AppError(
                422,
                "entity_not_syncable",
                f"This server cannot accept {label(m.entity)} records from devices yet.",
            )
        unknown = sorted(set(m.fields) - spec.writable)
        if unknown:
            raise AppError(
                422,
                "field_not_writable",
                f"A device cannot set {', '.join(unknown)} on a {label(m.entity)}.",
                errors=[{"field": f, "message": "cannot be set from a device"} for f in unknown],
            )
        set_actor(self.session, self.user.id, via="sync", mutation_id=m.mutation_id)
        self.by_record[m.record_id] = m.mutation_id
        record = self.records.get((m.entity, m.record_id))
        if m.op == "delete":
            return self._delete(spec, m, record)
        if record is None:
            return self._create(spec, m)
        return self._update(spec, m, record)

    def _create(self, spec: EntitySpec, m: Mutation) -> MutationResult:
        if m.base_version is not None:
            raise AppError(
                422,
                "unknown_record",
                f"This {label(m.entity)} is not on the server (its creation may have been "
                "rejected), so the edit cannot be applied.",
            )
        record = _new_record(spec.model, {**m.fields, "id": m.record_id})
        spec.check(self.session, record, self.user, True)
        self.session.add(record)
        self.created.append(record)
        self.records[(m.entity, m.record_id)] = record
        return self._result(m, "applied", 1, [])

    def _update(self, spec: EntitySpec, m: Mutation, record: Record) -> MutationResult:
        version = record.version
        restoring = record.deleted_at is not None
        for key, value in m.fields.items():
            setattr(record, key, value)
        if restoring:  # an edit of a deleted record brings it back (later-applied wins)
            record.deleted_at = None
        spec.check(self.session, record, self.user, False)
        changed = changed_fields(record)
        keys = set(m.fields) & changed.keys()
        if restoring:
            keys.add("deleted_at")
        notes = self.finder.edit_conflicts(spec, m, record, version, changed, keys)
        return self._finish(m, record, version, notes)

    def _delete(self, spec: EntitySpec, m: Mutation, record: Record | None) -> MutationResult:
        if m.fields:
            raise AppError(422, "delete_with_fields", "A delete carries no fields; send {}.")
        if record is None:
            raise AppError(
                422,
                "unknown_record",
                f"This {label(m.entity)} is not on the server, so it cannot be deleted.",
            )
        if not spec.deletable:
            raise AppError(403, "not_deletable", f"A {label(m.entity)} cannot be deleted.")
        if record.deleted_at is not None:
            # Already a tombstone: deleting again loses nothing and changes nothing.
            return self._result(m, "applied", record.version, [])
        version = record.version
        record.deleted_at = self.now
        spec.check(self.session, record, self.user, False)
        notes = self.finder.delete_conflicts(spec, m, record, version)
        return self._finish(m, record, version, notes)

    def _finish(
        self, m: Mutation, record: Record, version: int, notes: list[ConflictNote]
    ) -> MutationResult:
        if notes and "needs_review" in type(record).model_fields:
            record.needs_review = True
        new_version = version + 1 if changed_fields(record) else version
        outcome = "applied_with_conflict" if notes else "applied"
        return self._result(m, outcome, new_version, notes)

    def _result(
        self, m: Mutation, outcome: str, version: int, notes: list[ConflictNote]
    ) -> MutationResult:
        return MutationResult(
            mutation_id=m.mutation_id,
            client_seq=m.client_seq,
            outcome=outcome,
            entity=m.entity,
            record_id=m.record_id,
            version=version,
            conflicts=notes,
        )


_DEFAULTS: dict[type[Record], tuple[dict[str, Any], dict[str, Callable[[], Any]]]] = {}


def _new_record(model: type[Record], values: dict[str, Any]) -> Record:
    """A new record with its defaults and the client's `values`, without the table model's
    constructor, which resolves every default through pydantic and sets every field
    through two layers of instrumentation (together more than the insert costs).

    Defaults and the client's raw values go in as a loaded row's values would: an insert
    writes whatever the new object holds, and no flush hook reads a new object's history.
    The entity's check then parses them, setting each parsed value that differs (a UUID
    for its text) through the instrumentation, and validates as usual.
    """
    record: Record = model.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    state = record.__dict__
    state.update(_defaults(model))
    state.update(values)
    return record


def _defaults(model: type[Record]) -> dict[str, Any]:
    """Every field's default except the id, with factories called."""
    if model not in _DEFAULTS:
        plain: dict[str, Any] = {}
        factories: dict[str, Callable[[], Any]] = {}
        for name, info in model.model_fields.items():
            if name == "id" or info.is_required():
                continue
            if info.default_factory is not None:
                factories[name] = info.default_factory  # type: ignore[assignment]
            elif isinstance(info.default, list | dict | set):
                factories[name] = partial(copy.copy, info.default)
            else:
                plain[name] = info.default
        _DEFAULTS[model] = (plain, factories)
    plain, factories = _DEFAULTS[model]
    values = dict(plain)
    values.update((k, make()) for k, make in factories.items())
    return values


_UNIQUE_HINTS = {
    "participants": "A participant with this pseudonym code already exists in this study.",
    "meeting_attendees": "This participant is already recorded as attending this meeting.",
    "journal_entries": "This observation session already has a journal entry.",
}


def _integrity(m: Mutation, exc: IntegrityError) -> AppError:
    """A database refusal as a reason a person can read (the checks should catch most)."""
    text = str(exc.orig)
    table = next((t for t in _UNIQUE_HINTS if t in text), None)
    detail = (
        _UNIQUE_HINTS[table]
        if table
        else (
            f"The database refused this {label(m.entity)}: it clashes with another record or "
            "refers to one that does not exist."
        )
    )
    return AppError(409, "integrity_error", detail)
