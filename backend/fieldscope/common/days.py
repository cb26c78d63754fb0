"""Inclusive UTC day ranges as SQL conditions, shared by every filter on dates.

Why one place: "on or before a day" means "before the start of the next day" in every
filter (days are validated as 1900-2199 by `validation.Day`, so a next day exists)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def on_or_after(column: Any, day: date) -> ColumnElement[bool]:
    """`column` (a UTC timestamp) falls on `day` or later."""
    condition: ColumnElement[bool] = column >= day_start(day)
    return condition


def on_or_before(column: Any, day: date) -> ColumnElement[bool]:
    """`column` (a UTC timestamp) falls on `day` or earlier."""
    condition: ColumnElement[bool] = column < day_start(day + timedelta(days=1))
    return condition
