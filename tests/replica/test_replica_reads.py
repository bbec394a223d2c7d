"""Reads that may lag on a real streaming replica; writes and a volunteer's own reads on the
primary; the primary answering those reads while the replica is stopped (app.db.replica).

Proof that a read went to the replica: its replay is paused (`pg_wal_replay_pause()`) while
surveys are written to the primary; every replica-backed route then answers with the surveys
as they were before, the volunteer's own list (primary) with the new ones at once. After
`pg_wal_replay_resume()` and the replica's catch-up (its replay LSN past the primary's
current LSN) the same routes show the new surveys. The replica's pg_stat_activity shows the
app's connections there (application_name cdfmap-replica).
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.db.exports import ExportSlots
from app.main import create_app
from app.settings import Settings
from tests.aio import run
from tests.auth import bearer, make_token, make_user
from tests.factories import TAM_KY_POINT, household_survey
from tests.replica.conftest import Replica

pytestmark = pytest.mark.slow  # a base backup of the whole test server, once per session

EXPORT = "/api/v1/export"
FORMATS = ("geojson", "gpkg", "csv", "xlsx", "kml", "shp.zip")
ZOOM = 14


def _tile(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """The Web Mercator (x, y) of the tile holding a point."""
    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


@pytest.fixture
def people(sync_engine: Engine, admin_token: str) -> dict[str, dict[str, str]]:
    """A volunteer of the sample city, a planner (fresh tokens) and an admin (/metrics)."""
    volunteer = make_user(sync_engine, "replica-volunteer", [("volunteer", ("city", "tam-ky"))])
    planner = make_user(sync_engine, "replica-planner", [("planner", ("city", "tam-ky"))])
    return {
        "volunteer": bearer(make_token(sync_engine, volunteer)),
        "planner": bearer(make_token(sync_engine, planner)),
        "admin": bearer(admin_token),
    }


@pytest.fixture
def app_on_replica(
    database_url: str, replica: Replica, tmp_path: Path, clean_surveys: None
) -> Iterator[TestClient]:
    """The app with DATABASE_REPLICA_URL naming the replica (retried soon after a failure)."""
    settings = Settings(
        database_url=database_url,
        database_replica_url=replica.url(database_url),
        media_dir=tmp_path / "media",
        db_replica_retry_seconds=0.2,
        token_cache_seconds=0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def paused(replica: Replica) -> Iterator[None]:
    """The replica's replay paused (what is written now stays off it), resumed at the end."""
    with replay_paused(replica):
        yield


@contextlib.contextmanager
def replay_paused(replica: Replica) -> Iterator[None]:
    """The replica's replay paused (what is written now stays off it), resumed at the end."""
    replica.wait_caught_up()
    with replica.connect() as connection:
        connection.execute("SELECT pg_wal_replay_pause()")
        while True:  # the pause takes effect at the next WAL record
            row = connection.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
            if row and row[0] == "paused":
                break
    try:
        yield
    finally:
        with replica.connect() as connection:
            connection.execute("SELECT pg_wal_replay_resume()")


def _send(client: TestClient, headers: dict[str, str], sync_engine: Engine, count: int) -> None:
    """Surveys sent by the volunteer through the API, then approved (on the primary)."""
    ids = []
    for _ in range(count):
        survey = household_survey(location={**TAM_KY_POINT})
        response = client.post("/api/v1/submissions", json=survey, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(survey["id"])
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE household_surveys SET status = 'approved'"
                " WHERE id = ANY(CAST(:i AS uuid[]))"
            ),
            {"i": ids},
        )


def _features(path: Path) -> int:
    source = f"/vsizip/{path}" if path.name.endswith(".zip") else str(path)
    layer = "households" if path.suffix == ".gpkg" else None  # beside it: layer_styles
    return int(pyogrio.read_info(source, layer=layer)["features"])


def _what_reads_see(client: TestClient, headers: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """What each replica-backed read answers about the approved households."""
    seen: dict[str, Any] = {}

    def get(url: str) -> Any:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        return response

    city = get("/api/v1/cities/tam-ky/indicators").json()
    seen["indicators"] = city["totals"]["households"]
    seen["indicators.csv"] = get("/api/v1/cities/tam-ky/indicators.csv").content
    for fmt in FORMATS:
        target = tmp_path / f"households.{fmt}"
        target.write_bytes(get(f"{EXPORT}/households.{fmt}?city=tam-ky").content)
        seen[fmt] = _features(target)
    seen["ogc"] = get("/ogc/collections/households/items?limit=1").json()["numberMatched"]
    points = get("/maps/data/cities/tam-ky/households.json").content
    seen["points"] = points
    x, y = _tile(TAM_KY_POINT["lat"], TAM_KY_POINT["lon"], ZOOM)
    tile = client.get(f"/tiles/households/{ZOOM}/{x}/{y}.pbf", headers=headers)
    assert tile.status_code in (200, 204), tile.text
    seen["tile"] = tile.headers["etag"]
    get("/tiles/households.json")
    seen["progress"] = get("/api/v1/progress/tam-ky").content
    seen["national"] = get("/api/v1/national/indicators.csv").content
    # Pages and prints: they answer from the replica (their figures are checked elsewhere).
    assert "<html" in get("/maps/cities/tam-ky").text.lower()
    ward = client.get("/api/v1/cities/tam-ky/wards", headers=headers).json()[0]["id"]
    assert "<html" in get(f"/maps/wards/{ward}").text.lower()
    assert get(f"/maps/wards/{ward}.pdf").content.startswith(b"%PDF")
    assert get("/ogc/collections").json()["collections"]
    return seen


def _mine(client: TestClient, headers: dict[str, str]) -> int:
    response = client.get("/api/v1/submissions", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def _replica_connections(replica: Replica, database: str) -> list[str]:
    """The queries of the app's connections on the replica (application_name)."""
    with replica.connect() as connection:
        rows = connection.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = %s"
            " AND application_name = 'cdfmap-replica'",
            (database,),
        ).fetchall()
    return [row[0] for row in rows]


def test_reads_go_to_the_replica_writes_and_own_reads_to_the_primary(
    app_on_replica: TestClient,
    replica: Replica,
    people: dict[str, dict[str, str]],
    sync_engine: Engine,
    database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    client, planner, volunteer = app_on_replica, people["planner"], people["volunteer"]
    _send(client, volunteer, sync_engine, 3)
    replica.wait_caught_up()
    before = _what_reads_see(client, planner, tmp_path)
    assert before["indicators"] == 3 and before["gpkg"] == 3 and before["ogc"] == 3
    assert all(before[fmt] == 3 for fmt in FORMATS), before

    request.getfixturevalue("paused")
    _send(client, volunteer, sync_engine, 2)  # writes: the primary
    assert _mine(client, volunteer) == 5  # a volunteer's own list: the primary, at once
    behind = _what_reads_see(client, planner, tmp_path)
    assert behind == before  # every replica-backed read still sees the 3 surveys
    database = database_url.rsplit("/", 1)[1]
    queries = _replica_connections(replica, database)
    assert queries, "the app has no connection on the replica"

    with replica.connect() as connection:
        connection.execute("SELECT pg_wal_replay_resume()")
    replica.wait_caught_up()
    after = _what_reads_see(client, planner, tmp_path)
    assert after["indicators"] == 5 and after["ogc"] == 5
    assert all(after[fmt] == 5 for fmt in FORMATS), after
    assert after["points"] != before["points"] and after["tile"] != before["tile"]
    assert after["progress"] != before["progress"]

    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["replica"] == "ok" and body["status"] == "ok"
    assert body["replica_lag_seconds"] >= 0 and body["replica_lag_bytes"] >= 0
    metrics = client.get("/metrics", headers=people["admin"]).text
    assert re.search(
        r'cdfmap_db_pool_connections\{pid="\d+",pool="replica",state="size"\} [1-9]', metrics
    )
    assert re.search(r"cdfmap_replica_up\{[^}]*\} 1", metrics)


def test_a_revoked_token_is_refused_at_once(
    app_on_replica: TestClient,
    replica: Replica,
    people: dict[str, dict[str, str]],
    paused: None,
) -> None:
    client, planner = app_on_replica, people["planner"]
    assert client.get("/api/v1/cities/tam-ky/indicators", headers=planner).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=planner).status_code == 204
    # The replica has not replayed the revocation: the token is checked on the primary.
    for url in ("/api/v1/cities/tam-ky/indicators", f"{EXPORT}/households.geojson?city=tam-ky"):
        assert client.get(url, headers=planner).status_code == 401


def test_reads_answer_from_the_primary_while_the_replica_is_stopped(
    app_on_replica: TestClient,
    replica: Replica,
    people: dict[str, dict[str, str]],
    sync_engine: Engine,
    tmp_path: Path,
) -> None:
    client, planner, volunteer = app_on_replica, people["planner"], people["volunteer"]
    admin = people["admin"]
    _send(client, volunteer, sync_engine, 2)
    replica.wait_caught_up()
    assert _what_reads_see(client, planner, tmp_path)["indicators"] == 2  # on the replica
    replica.stop()
    try:
        _send(client, volunteer, sync_engine, 1)  # writes go on
        seen = _what_reads_see(client, planner, tmp_path)  # every read: 200, from the primary
        assert seen["indicators"] == 3 and all(seen[fmt] == 3 for fmt in FORMATS), seen
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {
            "status": "ok",
            "database": "ok",
            "media": "ok",
            "forms": "ok",
            "print_fonts": "ok",
            "replica": "unavailable",
        }
        metrics = client.get("/metrics", headers=people["admin"]).text
        found = re.search(r"^cdfmap_replica_fallbacks_total (\d+)$", metrics, re.M)
        assert found and int(found.group(1)) >= 1, metrics[-2000:]
        assert re.search(r"cdfmap_replica_up\{[^}]*\} 0", metrics)
    finally:
        replica.start()
    # Back: the reads after the retry interval go to the replica again.
    replica.wait_caught_up()
    deadline = time.monotonic() + 30
    while not re.search(
        r"cdfmap_replica_up\{[^}]*\} 1", client.get("/metrics", headers=admin).text
    ):
        assert client.get("/api/v1/cities/tam-ky/indicators", headers=planner).status_code == 200
        assert time.monotonic() < deadline, "reads never went back to the replica"
    assert client.get("/readyz").json()["replica"] == "ok"


def test_export_slots_hold_for_exports_on_the_replica(
    app_on_replica: TestClient, people: dict[str, dict[str, str]]
) -> None:
    client, planner = app_on_replica, people["planner"]
    slots = ExportSlots(1, 0.2)
    run(slots.acquire())  # uncontended: the one slot is taken whatever loop asks next
    client.app.state.export_slots = slots  # type: ignore[attr-defined]
    busy = client.get(f"{EXPORT}/households.geojson?city=tam-ky", headers=planner)
    assert busy.status_code == 503 and busy.json()["code"] == "exports_busy"
    slots.release()
    done = client.get(f"{EXPORT}/households.geojson?city=tam-ky", headers=planner)
    assert done.status_code == 200


class LagLimited:
    """The app with reads leaving a replica more than a second behind, seen by a planner."""

    def __init__(self, client: TestClient, people: dict[str, dict[str, str]]) -> None:
        self.client = client
        self.planner, self.volunteer, self.admin = (
            people["planner"],
            people["volunteer"],
            people["admin"],
        )

    def households(self) -> int:
        response = self.client.get("/api/v1/cities/tam-ky/indicators", headers=self.planner)
        assert response.status_code == 200, response.text
        return int(response.json()["totals"]["households"])

    def replica_up(self) -> bool:
        metrics = self.client.get("/metrics", headers=self.admin).text
        return re.search(r"cdfmap_replica_up\{[^}]*\} 1", metrics) is not None

    def wait_households(self, count: int, failure: str) -> None:
        """Until the reads count `count` households (they left the replica)."""
        deadline = time.monotonic() + 30
        while self.households() != count:
            assert time.monotonic() < deadline, failure

    def wait_back_on_replica(self, count: int) -> None:
        """Until the reads go to the replica again, counting `count` households meanwhile."""
        deadline = time.monotonic() + 30
        while not self.replica_up():
            assert self.households() == count
            assert time.monotonic() < deadline, "reads never went back to the replica"
        assert self.households() == count


@pytest.fixture
def lag_limited(
    database_url: str,
    replica: Replica,
    tmp_path: Path,
    clean_surveys: None,
    people: dict[str, dict[str, str]],
) -> Iterator[LagLimited]:
    settings = Settings(
        database_url=database_url,
        database_replica_url=replica.url(database_url),
        media_dir=tmp_path / "media",
        db_replica_retry_seconds=0.2,
        db_replica_max_lag_seconds=1.0,
        token_cache_seconds=0,
    )
    with TestClient(create_app(settings)) as client:
        yield LagLimited(client, people)


def test_reads_leave_a_replica_that_falls_too_far_behind(
    lag_limited: LagLimited, replica: Replica, sync_engine: Engine
) -> None:
    app, client = lag_limited, lag_limited.client
    _send(client, app.volunteer, sync_engine, 1)
    replica.wait_caught_up()
    assert app.households() == 1
    assert app.replica_up()
    with replay_paused(replica):
        _send(client, app.volunteer, sync_engine, 2)  # on the primary only
        # Replay stays paused: once the replica is more than a second behind, the reads
        # answer from the primary (the replica cannot know of the two new surveys).
        app.wait_households(3, "reads stayed on the lagging replica")
        assert not app.replica_up()
        lag = client.get("/readyz").json()["replica_lag_seconds"]
        assert lag > 1.0
    replica.wait_caught_up()
    app.wait_back_on_replica(3)  # caught up: the reads go back to it


def test_reads_leave_a_replica_cut_off_from_its_primary(
    lag_limited: LagLimited, replica: Replica, sync_engine: Engine
) -> None:
    """A replica that lost its primary has replayed all it received: it counted as 0 s
    behind, and the reads stayed on it while the primary moved on without it."""
    app, client = lag_limited, lag_limited.client
    _send(client, app.volunteer, sync_engine, 1)
    replica.wait_caught_up()
    assert app.households() == 1
    assert app.replica_up()
    ready = client.get("/readyz").json()
    assert ready["replica_streaming"] is True and ready["replica_lag_seconds"] < 1.0
    with replica.cut_off():
        _send(client, app.volunteer, sync_engine, 2)  # on the primary only
        app.wait_households(3, "reads stayed on the cut-off replica")
        assert not app.replica_up()
        ready = client.get("/readyz").json()
        assert ready["replica"] == "ok" and ready["replica_streaming"] is False
        assert ready["replica_lag_seconds"] > 1.0
        assert ready["replica_lag_bytes"] > 0
    replica.wait_caught_up()
    app.wait_back_on_replica(3)  # streaming and caught up: the reads go back to it
    assert client.get("/readyz").json()["replica_streaming"] is True
