"""Server epoch and the change-log high-water mark (SYNC.md invariant 10)."""

from __future__ import annotations

import uuid

from sqlalchemy import text, update
from sqlmodel import Session, col, select

from fieldscope.auth.models import Membership, User
from fieldscope.common.models import new_id, utcnow
from fieldscope.sync.models import ServerState, SyncClient


def server_epoch(session: Session) -> uuid.UUID:
    state = session.get(ServerState, 1)
    if state is None:  # a database created without the migration's seed row
        state = ServerState(id=1)
        session.add(state)
        session.flush()
    return state.epoch


def scope_key(session: Session, user: User) -> str:
    """What the user may see: their memberships and roles (and whether they are admin)."""
    rows = session.exec(
        select(Membership.study_id, Membership.role).where(Membership.user_id == user.id)
    ).all()
    parts = sorted(f"{study_id}:{role}" for study_id, role in rows)
    return ("admin;" if user.is_admin else "") + ",".join(parts)


def user_epoch(session: Session, user: User, scope: str | None = None) -> uuid.UUID:
    """The epoch a user's devices see: the server's, mixed with what the user may see.

    A device pulls by cursor, so it would never receive the older records of a study the
    user has just joined, nor drop those of a study they left. Deriving the epoch from the
    user's memberships makes any such change a reset, like a restore from backup.
    """
    return uuid.uuid5(
        server_epoch(session), scope if scope is not None else scope_key(session, user)
    )


def last_cursor(session: Session) -> int:
    value = session.execute(text("SELECT value FROM change_cursor WHERE id = 1")).scalar_one()
    return int(value)


def new_epoch(session: Session) -> uuid.UUID:
    """Start a new epoch (run after restoring a backup): every device resets its pulled
    copies, and each client may continue its seq past what the restored database holds."""
    epoch = new_id()
    state = session.get(ServerState, 1)
    if state is None:
        session.add(ServerState(id=1, epoch=epoch, created_at=utcnow()))
    else:
        state.epoch = epoch
        state.created_at = utcnow()
        session.add(state)
    session.execute(
        update(SyncClient)
        .where(col(SyncClient.rebase_pending).is_(False))
        .values(rebase_pending=True)
    )
    session.flush()
    return epoch
