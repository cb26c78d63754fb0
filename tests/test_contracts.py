"""Contracts the outside world reads must match the code."""

import json
from pathlib import Path

from fieldscope.app import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_openapi_has_not_drifted() -> None:
    committed = json.loads((ROOT / "schemas" / "openapi.json").read_text())
    current = json.loads(json.dumps(create_app().openapi(), sort_keys=True))
    assert current == committed, "schemas/openapi.json is stale: run ./dev openapi and commit it"


def test_operation_ids_are_unique_and_stable() -> None:
    spec = create_app().openapi()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all("-" in i for i in ids)
