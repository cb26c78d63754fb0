"""Frictionless Table Schemas of the tidy data export, and the data package template.

This module is the source; `fieldscope export schemas --output schemas/datapackage`
writes the committed copies, and a test fails when they drift. Column order here is the
column order of the CSV files and the key order of the JSON rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fieldscope.codebook.models import CodeGroup
from fieldscope.meetings.models import StageOfChange
from fieldscope.participants.models import Background, Level


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # Table Schema type: string, integer, number, boolean, datetime
    description: str
    required: bool = False
    unique: bool = False
    format: str | None = None
    enum: type[StrEnum] | None = None
    minimum: float | None = None

    def descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind}
        if self.format:
            out["format"] = self.format
        out["description"] = self.description
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.unique:
            constraints["unique"] = True
        if self.enum is not None:
            constraints["enum"] = [m.value for m in self.enum]
        if self.minimum is not None:
            constraints["minimum"] = self.minimum
        if constraints:
            out["constraints"] = constraints
        return out


def _uuid(name: str, description: str, *, key: bool = False, required: bool = True) -> Column:
    return Column(name, "string", description, required=required, unique=key, format="uuid")


SITE_CODE = Column("site_code", "string", "Site code, e.g. A.", required=True)

COLUMNS: dict[str, list[Column]] = {
    "sites": [
        Column("site_code", "string", "Site code, e.g. A.", required=True, unique=True),
        Column("site_name", "string", "Site name.", required=True),
        Column("target_hours", "number", "Target observation hours.", minimum=0),
        Column("target_meetings", "integer", "Target number of meetings.", minimum=0),
    ],
    "meetings": [
        _uuid("meeting_id", "Meeting id (stable across exports).", key=True),
        SITE_CODE,
        Column("level", "string", "Governance level.", required=True, enum=Level),
        Column("title", "string", "Meeting title."),
        Column("theme", "string", "Programme or theme, e.g. maternity."),
        Column("stage_of_change", "string", "Stage of the change discussed.", enum=StageOfChange),
        Column("scheduled_start", "datetime", "Scheduled start, ISO 8601 UTC."),
        Column("location", "string", "Where the meeting took place."),
    ],
    "sessions": [
        _uuid("session_id", "Observation session id (stable across exports).", key=True),
        _uuid("meeting_id", "The meeting observed."),
        SITE_CODE,
        Column("level", "string", "Governance level of the meeting.", required=True, enum=Level),
        _uuid("observer_id", "The fieldworker who observed."),
        Column("observer_name", "string", "The fieldworker's display name."),
        Column("started_at", "datetime", "Start of observation, ISO 8601 UTC.", required=True),
        Column("ended_at", "datetime", "End of observation, ISO 8601 UTC; empty if never ended."),
        Column(
            "duration_hours",
            "number",
            "Observed hours (pauses excluded), decimal; empty if never ended.",
            minimum=0,
        ),
        Column("retrospective", "boolean", "Recorded after the meeting, from notes.", True),
        Column("needs_review", "boolean", "A sync conflict touched it; awaiting review.", True),
    ],
    "participants": [
        _uuid("participant_id", "Participant id (stable across exports).", key=True),
        Column("participant_code", "string", "Pseudonym code.", required=True, unique=True),
        SITE_CODE,
        Column("level", "string", "Level of their leadership role.", enum=Level),
        Column("background", "string", "Professional background.", True, enum=Background),
        Column("is_clinical_leader", "boolean", "A clinical leader of the study.", True),
        Column("role_title", "string", "Role title."),
        Column("pending_review", "boolean", "Added in the field, awaiting PI review.", True),
    ],
    "participant_names": [
        _uuid("participant_id", "Participant id.", key=True),
        Column("participant_code", "string", "Pseudonym code.", required=True, unique=True),
        Column("real_name", "string", "Real name (exported only for a PI who asked)."),
    ],
    "attendees": [
        _uuid("meeting_id", "The meeting."),
        _uuid("participant_id", "A consenting participant who attended."),
        Column("participant_code", "string", "Pseudonym code.", required=True),
    ],
    "codebook": [
        Column("codebook_version", "integer", "Codebook version number.", True, minimum=1),
        Column("code_key", "string", "Code key, stable across versions.", required=True),
        Column("parent_key", "string", "For a form: its contribution's key."),
        Column("group", "string", "Code group.", required=True, enum=CodeGroup),
        Column("label", "string", "Label.", required=True),
        Column("description", "string", "Description."),
        Column("colour", "string", "Colour, #RRGGBB."),
        Column("sort_order", "integer", "Order in the codebook.", required=True),
        Column("retired", "boolean", "Retired in this version.", required=True),
    ],
    "interventions": [
        _uuid("intervention_id", "Intervention id (= REFI-QDA selection GUID).", key=True),
        _uuid("session_id", "Observation session."),
        _uuid("meeting_id", "Meeting."),
        SITE_CODE,
        Column("meeting_level", "string", "Governance level of the meeting.", True, enum=Level),
        _uuid("participant_id", "Who intervened."),
        Column("participant_code", "string", "Pseudonym code of who intervened.", True),
        Column("participant_level", "string", "Level of their leadership role.", enum=Level),
        Column("codebook_version", "integer", "Codebook version tagged under.", True, minimum=1),
        Column("code_key", "string", "Primary contribution code.", required=True),
        Column("form_key", "string", "Form of the contribution, if tagged."),
        Column("offset_seconds", "number", "Seconds from session start.", True, minimum=0),
        Column("device_time", "datetime", "Tablet clock when tagged, ISO 8601 UTC."),
        Column("quote", "string", "What was said, as noted."),
        Column("note", "string", "Fieldworker's note."),
        Column("agenda_item", "string", "Agenda item."),
        Column("code_retired", "boolean", "Code retired after tagging.", required=True),
        Column("needs_review", "boolean", "A sync conflict touched it.", required=True),
        _uuid("observer_id", "The fieldworker who tagged it."),
    ],
}

PRIMARY_KEYS: dict[str, list[str]] = {
    "sites": ["site_code"],
    "meetings": ["meeting_id"],
    "sessions": ["session_id"],
    "participants": ["participant_id"],
    "participant_names": ["participant_id"],
    "attendees": ["meeting_id", "participant_id"],
    "codebook": ["codebook_version", "code_key"],
    "interventions": ["intervention_id"],
}

# (fields, resource, fields there). A form key is not declared as a foreign key: Table
# Schema composite keys cannot be partly empty, and (codebook_version, form_key) often is.
FOREIGN_KEYS: dict[str, list[tuple[list[str], str, list[str]]]] = {
    "meetings": [(["site_code"], "sites", ["site_code"])],
    "sessions": [
        (["meeting_id"], "meetings", ["meeting_id"]),
        (["site_code"], "sites", ["site_code"]),
    ],
    "participants": [(["site_code"], "sites", ["site_code"])],
    "participant_names": [(["participant_id"], "participants", ["participant_id"])],
    "attendees": [
        (["meeting_id"], "meetings", ["meeting_id"]),
        (["participant_id"], "participants", ["participant_id"]),
    ],
    "interventions": [
        (["session_id"], "sessions", ["session_id"]),
        (["meeting_id"], "meetings", ["meeting_id"]),
        (["site_code"], "sites", ["site_code"]),
        (["participant_id"], "participants", ["participant_id"]),
        (["codebook_version", "code_key"], "codebook", ["codebook_version", "code_key"]),
    ],
}

DESCRIPTIONS = {
    "sites": "Sites of the study (all of them, whatever the filter) with their targets.",
    "meetings": "Governance meetings: observed ones, and planned ones matching the filter.",
    "sessions": "Observation sessions: one fieldworker observing one meeting.",
    "participants": "Consenting participants, by pseudonym code.",
    "participant_names": "Real names; present only when a PI explicitly asked for them.",
    "attendees": "Who attended which meeting (consenting participants only).",
    "codebook": "Every published codebook version, one row per code.",
    "interventions": "Tagged interventions of clinical leaders, one row per intervention.",
}

# Order of resources in the package, parents before children.
RESOURCES = [
    "sites",
    "codebook",
    "meetings",
    "participants",
    "participant_names",
    "attendees",
    "sessions",
    "interventions",
]
OPTIONAL = frozenset({"participant_names"})


def table_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "fields": [c.descriptor() for c in COLUMNS[name]],
        "missingValues": [""],
        "primaryKey": PRIMARY_KEYS[name],
    }
    fks = FOREIGN_KEYS.get(name)
    if fks:
        schema["foreignKeys"] = [
            {"fields": fields, "reference": {"resource": ref, "fields": ref_fields}}
            for fields, ref, ref_fields in fks
        ]
    return schema


def schema_path(name: str) -> str:
    return f"schemas/{name}.schema.json"


def data_path(name: str) -> str:
    return f"data/{name}.csv"


def resource_descriptor(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": "table",
        "path": data_path(name),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "description": DESCRIPTIONS[name],
        "dialect": {"delimiter": ",", "quoteChar": '"', "header": True},
        "schema": schema_path(name),
    }


def datapackage_template() -> dict[str, Any]:
    """datapackage.json without what each export fills in (name, title, created, filters,
    and which optional resources are present)."""
    return {
        "name": "fieldscope-study",
        "title": "",
        "description": (
            "Tidy observation data exported by fieldscope. Participants appear only by "
            "pseudonym code; withdrawn and declined participants are absent."
        ),
        "version": "1.0.0",
        "created": "",
        "sources": [{"title": "fieldscope"}],
        "resources": [resource_descriptor(name) for name in RESOURCES],
    }


def dumps(descriptor: dict[str, Any]) -> str:
    """The one serialisation used for the committed files and inside every export."""
    return json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"
