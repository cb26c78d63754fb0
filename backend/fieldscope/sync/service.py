"""Push: apply a batch of queued mutations exactly once (SYNC.md invariants 2 and 4-6).

The whole push is one transaction (the request's): the records' changes, their change-log
and audit rows (written by `changes.py` on flush), the applied-mutation outcomes and the
client's last seq commit together or not at all. See `apply.py` for how one mutation is
applied and `conflicts.py` for field-level conflicts.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from fieldscope.auth.models import User
from fieldscope.changes import insert_json_text, lock_writes
from fieldscope.common.bulk import executemany
from fieldscope.common.models import utcnow
from fieldscope.db import is_sqlite
from fieldscope.errors import AppError
from fieldscope.sync.apply import Applier
from fieldscope.sync.models import AppliedMutation, SyncClient
from fieldscope.sync.schemas import Mutation, MutationResult, PushRequest, PushResponse
from fieldscope.sync.state import user_epoch

_APPLIED: Table = AppliedMutation.__table__  # type: ignore[attr-defined]
_CLIENTS: Table = SyncClient.__table__  # type: ignore[attr-defined]


def payload_hash(m: Mutation) -> str:
    """What a replay must repeat exactly (the id and seq are compared on their own)."""
    body = {
        "entity": m.entity,
        "op": m.op,
        "record_id": str(m.record_id),
        "base_version": m.base_version,
        "fields": m.fields,
        "device_time": m.device_time.isoformat() if m.device_time else None,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def bind_client(session: Session, client_id: uuid.UUID, user: User, now: datetime) -> SyncClient:
    """The client row, created and bound to `user` on first push, locked to commit.

    The lock serialises two pushes of one client (a retry racing its original), so the
    second sees the first's last_seq and replays instead of applying twice. A known client
    (every push but its first) costs one locking read; a new one is inserted first, and of
    two first pushes racing, the second's insert waits for the first and does nothing.
    """
    client = _locked_client(session, client_id)
    if client is None:
        dialect_insert = sqlite_insert if is_sqlite(session.connection()) else pg_insert
        session.execute(
            dialect_insert(_CLIENTS)
            .values(
                client_id=client_id,
                user_id=user.id,
                last_seq=0,
                created_at=now,
                user_agent="",
                rebase_pending=False,
            )
            .on_conflict_do_nothing(index_elements=["client_id"])
        )
        client = _locked_client(session, client_id)  # inserted above, or by the push waited for
        if client is None:
            raise RuntimeError(f"sync client {client_id} vanished while being registered")
    if client.user_id != user.id:
        raise AppError(
            409,
            "client_owned_by_other_user",
            "This installed app is registered to another user. Sign in as that user to "
            "send its changes; nothing was applied.",
        )
    return client


def _locked_client(session: Session, client_id: uuid.UUID) -> SyncClient | None:
    return session.exec(
        select(SyncClient)
        .where(SyncClient.client_id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _seq_conflict(m: Mutation, detail: str) -> AppError:
    return AppError(
        409,
        "seq_conflict",
        f"client_seq {m.client_seq}: {detail} Nothing in this push was applied.",
        extra={"client_seq": m.client_seq, "mutation_id": str(m.mutation_id)},
    )


def _seq_gap(expected: int, got: int, last_seq: int) -> AppError:
    return AppError(
        409,
        "seq_gap",
        f"Expected client_seq {expected} next but got {got}; send the queue in order from "
        f"{expected}. Nothing in this push was applied.",
        extra={"expected_seq": expected, "last_seq": last_seq},
    )


@dataclass
class Plan:
    replays: list[tuple[Mutation, AppliedMutation]]
    new: list[Mutation]
    rebased: int | None  # the last seq before a gap a restore left, if any
    hashes: dict[int, str]  # payload hash by client_seq


def plan(session: Session, client: SyncClient, mutations: list[Mutation]) -> Plan:
    """Split the batch into replays (with their stored rows) and new mutations, in seq order.

    Raises 409 for a seq reused with another id or payload, a gap, or a mutation id that
    was already used at another seq.
    """
    by_seq: dict[int, Mutation] = {}
    hashes: dict[int, str] = {}
    seq_of: dict[uuid.UUID, int] = {}
    for m in mutations:
        h = payload_hash(m)
        prev = by_seq.get(m.client_seq)
        if prev is not None and (prev.mutation_id != m.mutation_id or hashes[m.client_seq] != h):
            raise _seq_conflict(m, "the batch holds two different mutations with this seq.")
        other = seq_of.get(m.mutation_id)
        if other is not None and other != m.client_seq:
            raise _seq_conflict(m, f"mutation {m.mutation_id} also appears as seq {other}.")
        by_seq[m.client_seq], hashes[m.client_seq], seq_of[m.mutation_id] = m, h, m.client_seq
    ordered = [by_seq[s] for s in sorted(by_seq)]
    old = [m for m in ordered if m.client_seq <= client.last_seq]
    new = [m for m in ordered if m.client_seq > client.last_seq]

    replays: list[tuple[Mutation, AppliedMutation]] = []
    if old:
        rows = session.exec(
            select(AppliedMutation).where(
                AppliedMutation.client_id == client.client_id,
                col(AppliedMutation.client_seq).in_([m.client_seq for m in old]),
            )
        ).all()
        stored = {r.client_seq: r for r in rows}
        for m in old:
            row = stored.get(m.client_seq)
            if row is None:
                raise _seq_conflict(m, "the server has no record of this seq (lost in a restore).")
            if row.mutation_id != m.mutation_id:
                raise _seq_conflict(
                    m, f"the server already holds mutation {row.mutation_id} at this seq."
                )
            if row.payload_hash != hashes[m.client_seq]:
                raise _seq_conflict(m, "this mutation was already received with different content.")
            replays.append((m, row))

    rebased: int | None = None
    if new:
        expected = client.last_seq + 1
        first = new[0].client_seq
        if first != expected:
            if not (client.rebase_pending and first > expected):
                raise _seq_gap(expected, first, client.last_seq)
            rebased = client.last_seq
        for a, b in pairwise(new):
            if b.client_seq != a.client_seq + 1:
                raise _seq_gap(a.client_seq + 1, b.client_seq, client.last_seq)
        reused = session.exec(
            select(AppliedMutation.mutation_id, AppliedMutation.client_seq).where(
                col(AppliedMutation.mutation_id).in_([m.mutation_id for m in new])
            )
        ).first()
        if reused is not None:
            m = next(m for m in new if m.mutation_id == reused[0])
            raise AppError(
                409,
                "mutation_id_reused",
                f"Mutation {m.mutation_id} was already received (as client_seq {reused[1]}"
                " or from another client); a new change needs a new mutation_id. Nothing in "
                "this push was applied.",
                extra={"client_seq": m.client_seq, "mutation_id": str(m.mutation_id)},
            )
    return Plan(replays, new, rebased, hashes)


def push(session: Session, user: User, req: PushRequest, *, user_agent: str = "") -> PushResponse:
    now = utcnow()
    client = bind_client(session, req.client_id, user, now)
    batch = plan(session, client, req.mutations)
    new, rebased = batch.new, batch.rebased

    results: list[MutationResult] = []
    for _m, row in batch.replays:
        stored = MutationResult.model_validate(row.result)
        results.append(stored.model_copy(update={"replayed": True}))

    if new:
        edits = any(m.op == "delete" or m.base_version is not None for m in new)
        if edits and not is_sqlite(session.connection()):
            # Edits take the cursor lock before reading, so what they compare against for
            # conflicts stays current. A batch of creates takes it when it flushes, and
            # checks its records meanwhile alongside other pushes.
            lock_writes(session)
        applied = Applier(session, user, client.client_id, now).run(new)
        _store_outcomes(session, client.client_id, new, applied, batch.hashes, now)
        results.extend(applied)
        if rebased is not None:
            client.rebased_from_seq = rebased
        client.rebase_pending = False
        client.last_seq = new[-1].client_seq

    skew = (req.device_time - now).total_seconds() if req.device_time else None
    client.last_push_at = now
    client.last_clock_skew_seconds = skew
    client.user_agent = user_agent[:300]
    session.add(client)
    session.flush()
    results.sort(key=lambda r: r.client_seq)
    return PushResponse(
        server_time=now,
        server_epoch=user_epoch(session, user),
        last_seq=client.last_seq,
        clock_skew_seconds=skew,
        rebased_from_seq=rebased,
        results=results,
    )


def _store_outcomes(
    session: Session,
    client_id: uuid.UUID,
    mutations: list[Mutation],
    results: list[MutationResult],
    hashes: dict[int, str],
    now: datetime,
) -> None:
    rows: list[dict[str, Any]] = []
    for m, r in zip(mutations, results, strict=True):
        rows.append(
            {
                "client_id": client_id,
                "client_seq": m.client_seq,
                "mutation_id": m.mutation_id,
                "payload_hash": hashes[m.client_seq],
                "outcome": r.outcome,
                "reason": r.reason,
                "result_json": r.model_dump_json(exclude=_NOT_STORED),
                "received_at": now,
                "device_time": m.device_time,
                "payload": m.model_dump(mode="json") if r.outcome == "rejected" else None,
            }
        )
    conn = session.connection()
    executemany(conn, insert_json_text(conn, _APPLIED, "result"), rows)


# The outcome as replays return it: everything but the replay flag, serialised by pydantic
# straight to the stored text.
_NOT_STORED = {"replayed"}
