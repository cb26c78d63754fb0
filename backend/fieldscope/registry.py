"""What a client may write, per syncable entity, and how it is checked.

REST routes and sync pushes share these specs, so a record is validated and authorised
the same way however it arrives. Each domain registers its entities in its service
module; `specs()` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from sqlmodel import Session

from fieldscope.auth.models import User
from fieldscope.common.models import Record

# check(session, record, actor, is_new): authorise `actor` to write `record` in its new
# state, validate it (raise AppError with a specific message), and fill server-derived
# fields (study_id/site_id/observer_id of observed records, durations, flags).
Check = Callable[[Session, Record, User, bool], None]


@dataclass(frozen=True)
class EntitySpec:
    name: str
    model: type[Record]
    writable: frozenset[str]  # fields a client may set on create or update
    check: Check
    deletable: bool = True


_SPECS: dict[str, EntitySpec] = {}
_LOADED: list[bool] = []
_DOMAINS = ("studies", "participants", "meetings", "codebook", "observations")


def register(spec: EntitySpec) -> EntitySpec:
    _SPECS[spec.name] = spec
    return spec


def specs() -> dict[str, EntitySpec]:
    # Import every domain even when one already registered (importing a domain's service
    # for another reason must not hide the rest).
    if not _LOADED:
        for domain in _DOMAINS:
            try:
                import_module(f"fieldscope.{domain}.service")
            except ModuleNotFoundError as exc:
                if exc.name != f"fieldscope.{domain}.service":
                    raise
        _LOADED.append(True)
    return _SPECS
