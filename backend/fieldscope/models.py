"""Every table, imported in one place for Alembic and create-all."""

from sqlalchemy import Enum

from fieldscope.audit.models import AuditEvent
from fieldscope.auth.models import DeviceToken, Membership, Role, SetupToken, User
from fieldscope.codebook.models import Code, CodebookVersion, CodeGroup
from fieldscope.common.models import Record, metadata
from fieldscope.dashboard.models import ContributionCell, MeetingContribution, SummaryState
from fieldscope.meetings.models import Meeting, MeetingAttendee, StageOfChange
from fieldscope.observations.models import (
    FieldNote,
    Intervention,
    JournalEntry,
    NoteKind,
    ObservationSession,
)
from fieldscope.participants.models import Background, Consent, Level, Participant
from fieldscope.studies.models import Site, Study
from fieldscope.sync.models import (
    AppliedMutation,
    ChangeCursor,
    ChangeLogEntry,
    ServerState,
    SyncClient,
    SyncConflict,
)
from fieldscope.totals.models import MeetingCoverage, SiteLevelCoverage

__all__ = [
    "AppliedMutation",
    "AuditEvent",
    "Background",
    "ChangeCursor",
    "ChangeLogEntry",
    "Code",
    "CodeGroup",
    "CodebookVersion",
    "Consent",
    "ContributionCell",
    "DeviceToken",
    "FieldNote",
    "Intervention",
    "JournalEntry",
    "Level",
    "Meeting",
    "MeetingAttendee",
    "MeetingContribution",
    "MeetingCoverage",
    "Membership",
    "NoteKind",
    "ObservationSession",
    "Participant",
    "Record",
    "Role",
    "ServerState",
    "SetupToken",
    "Site",
    "SiteLevelCoverage",
    "StageOfChange",
    "Study",
    "SummaryState",
    "SyncClient",
    "SyncConflict",
    "User",
    "metadata",
]


def _portable_enums() -> None:
    """Enums as VARCHAR + CHECK on both backends: adding a value later is a plain migration,
    not a PostgreSQL ALTER TYPE."""
    for table in metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Enum) and column.type.enum_class is not None:
                column.type = Enum(
                    column.type.enum_class,
                    name=column.name,
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                    values_callable=lambda cls: [m.value for m in cls],
                )


def _defer_foreign_keys() -> None:
    """Check foreign keys at commit: the ORM (without relationships) and a pushed batch may
    insert a child before its parent in one transaction."""
    for table in metadata.tables.values():
        for fk in table.foreign_key_constraints:
            fk.deferrable = True
            fk.initially = "DEFERRED"


_portable_enums()
_defer_foreign_keys()
