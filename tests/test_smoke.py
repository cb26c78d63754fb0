from fastapi.testclient import TestClient

from tests.factories import World


def test_health(client: TestClient) -> None:
    res = client.get("/api/v1/health")
    assert res.status_code == 200
    assert res.json()["status"] == "ok"


def test_me_lists_memberships(client: TestClient, world: World) -> None:
    res = client.get("/api/v1/auth/me", headers=world.pi.headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["email"] == "pi@example.org"
    assert [m["role"] for m in body["memberships"]] == ["pi"]


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    res = client.get("/api/v1/nope")
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("application/problem+json")


def test_start_up_takes_the_long_lived_heap_out_of_full_collections(client: TestClient) -> None:
    # Without it every full collection walks ~150k start-up objects (a 100-250 ms pause
    # inside whichever request triggers it; see docs/bench-scale.md).
    import gc

    assert gc.get_freeze_count() > 50_000
