"""The reference study's published figures, read from the packaged CSV copies."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True)
class LeaderRole:
    site: str
    level: str
    role: str
    background: str  # as in the CSV, e.g. "general practice"
    interviewed_more_than_once: bool
    count: int


@dataclass(frozen=True)
class ObservedHours:
    site: str  # "A", "B", "C" or "all"
    meetings: int | None  # per-site counts were not published
    hours: float


def _rows(name: str) -> list[dict[str, str]]:
    text = files("fieldscope.demo").joinpath("figures", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def table1() -> list[LeaderRole]:
    return [
        LeaderRole(
            site=r["site"],
            level=r["level"],
            role=r["role"],
            background=r["background"],
            interviewed_more_than_once=r["interviewed_more_than_once"] == "yes",
            count=int(r["count"]),
        )
        for r in _rows("table1_clinical_leaders.csv")
    ]


def observation_totals() -> dict[str, ObservedHours]:
    out: dict[str, ObservedHours] = {}
    for r in _rows("observation_totals.csv"):
        meetings = int(r["meetings"]) if r["meetings"] else None
        out[r["site"]] = ObservedHours(r["site"], meetings, float(r["hours"]))
    return out
