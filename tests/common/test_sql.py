"""`common.sql.id_text` prints a stored UUID as `str(uuid)` does, on both backends."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, Integer, MetaData, Table, Uuid, insert, select
from sqlalchemy.engine import Engine

from fieldscope.common.sql import id_text


def test_id_text_is_the_canonical_text_of_the_stored_id(engine: Engine) -> None:
    table = Table(
        "test_id_text", MetaData(), Column("n", Integer, primary_key=True), Column("id", Uuid)
    )
    ids = [uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.uuid1()]
    table.create(engine)
    try:
        with engine.begin() as conn:
            conn.execute(insert(table), [{"n": i, "id": v} for i, v in enumerate(ids)])
            got = conn.execute(select(table.c.id, id_text(table.c.id)).order_by(table.c.n)).all()
    finally:
        table.drop(engine)
    assert [text for _, text in got] == [str(v) for v in ids]
    assert all(text == str(stored) for stored, text in got)
