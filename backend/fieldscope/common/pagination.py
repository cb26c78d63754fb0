"""Limit/offset pagination shared by list endpoints: `{items, total, limit, offset}`."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from fieldscope.settings import get_settings

T = TypeVar("T")

# Read once at import: the documented maximum is part of the OpenAPI contract.
PAGE_SIZE_MAX = get_settings().page_size_max
PAGE_SIZE_DEFAULT = min(50, PAGE_SIZE_MAX)
OFFSET_MAX = 2**31 - 1


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=PAGE_SIZE_MAX,
            description=f"Page size, 1 to {PAGE_SIZE_MAX} (settings.page_size_max).",
        ),
    ] = PAGE_SIZE_DEFAULT,
    offset: Annotated[
        int, Query(ge=0, le=OFFSET_MAX, description="Items to skip before this page.")
    ] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def fetch_page(session: Session, stmt: Select[Any], paging: PageParams) -> tuple[list[Any], int]:
    """The page of rows of `stmt` (which must be ordered) and the total without paging."""
    total = session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    ).scalar_one()
    rows = session.execute(stmt.limit(paging.limit).offset(paging.offset)).all()
    items = [row[0] if len(row) == 1 else row for row in rows]
    return items, int(total)
