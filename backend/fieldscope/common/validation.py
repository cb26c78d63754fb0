"""Input types and record validation shared by REST bodies and sync pushes.

Text that a database would refuse (NUL, unpaired surrogates) or truncate (over the column
length) must be a 422 here, never a 500 at flush. Request bodies forbid unknown keys so
nothing a client sends is silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from fieldscope.errors import AppError

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class Body(BaseModel):
    """Base of request bodies: unknown keys are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


def clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it has an unpaired surrogate)") from None
    return value


def reject_null(value: Any) -> Any:
    """For PATCH bodies: a required field may be left out, but not set to null."""
    if value is None:
        raise ValueError("must not be null; leave the key out to keep the current value")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1900 and 2200")
    return value


def day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("must be between 1900 and 2200")
    return value


# Stripped text a database stores as given; give lengths with Field(max_length=...).
CleanStr = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(clean_text)]
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
Day = Annotated[date, AfterValidator(day_in_range)]


def problem_from(exc: ValidationError, prefix: str = "") -> AppError:
    """A pydantic ValidationError as the one 422 problem shape, naming each field."""
    errors = []
    for err in exc.errors():
        field = prefix + ".".join(str(p) for p in err["loc"]) if err["loc"] else "request"
        errors.append({"field": field, "message": str(err["msg"]).removeprefix("Value error, ")})
    first = errors[0]
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return AppError(422, "validation_error", detail, errors=errors)


def validate_record(schema: type[BaseModel], record: Any, names: Iterable[str]) -> None:
    """Validate the named attributes of `record` with `schema` and write back the parsed
    values (a pushed mutation carries raw JSON: strings for ids, dates and enums).

    None counts as missing, so a required field left empty says "Field required".
    """
    names = list(names)
    data = {n: v for n in names if (v := getattr(record, n, None)) is not None}
    try:
        parsed = schema.model_validate(data)
    except ValidationError as exc:
        raise problem_from(exc) from None
    for name in names:
        new = getattr(parsed, name)
        old = getattr(record, name, None)
        if type(old) is not type(new) or old != new:
            setattr(record, name, new)
