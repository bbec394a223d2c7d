"""/readyz (database at the right schema, media writable), /metrics (admins or this machine
only, route templates, latency, ingest outcomes, pools) and the per-request JSON log lines
(no query string, no token, no raw path)."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.observe import LOGGER
from app.db.migrate import upgrade_to_head
from app.main import create_app
from app.settings import Settings, with_driver
from tests.auth import bearer, make_token, make_user
from tests.factories import household_survey
from tests.scratch_db import scratch_database


def nowhere_url() -> str:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/nowhere"


@pytest.fixture(scope="module")
def tokens(sync_engine: Engine) -> dict[str, str]:
    grants = {
        "national_admin": [("national_admin", None)],
        "city_admin": [("city_admin", ("city", "tam-ky"))],
        "planner": [("planner", ("city", "tam-ky"))],
        "leader": [("ward_leader", ("ward", "W03"))],
    }
    return {
        who: make_token(sync_engine, make_user(sync_engine, f"metrics-{who}", roles))
        for who, roles in grants.items()
    }


# --- /readyz ------------------------------------------------------------------------------


def test_ready_when_the_database_answers_and_media_is_writable(anonymous: TestClient) -> None:
    response = anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "media": "ok",
        "forms": "ok",
        "print_fonts": "ok",
    }


def test_not_ready_when_the_media_directory_cannot_be_written(
    database_url: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings = Settings(database_url=database_url, media_dir=blocker / "media")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "database": "ok",
            "media": "unwritable",
            "forms": "ok",
            "print_fonts": "ok",
        }
        assert client.get("/healthz").status_code == 200  # alive all the same
        assert str(tmp_path) not in response.text


def test_not_ready_when_the_database_is_down(tmp_path: Path) -> None:
    settings = Settings(database_url=nowhere_url(), media_dir=tmp_path / "media")
    with TestClient(create_app(settings)) as client:  # starts: the database may come back
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "database": "unavailable",
            "media": "ok",
            "forms": "ok",
            "print_fonts": "ok",
        }
        assert "nowhere" not in response.text and "postgres" not in response.text
        assert client.get("/healthz").status_code == 503


def test_not_ready_when_the_schema_changes_under_a_running_server(
    database_url: str, tmp_path: Path
) -> None:
    with scratch_database(database_url, "cdfmap_ready") as url:
        upgrade_to_head(with_driver(url, "postgresql+psycopg"))
        settings = Settings(database_url=url, media_dir=tmp_path / "media")
        with TestClient(create_app(settings)) as client:
            assert client.get("/readyz").status_code == 200
            with psycopg.connect(url) as connection:  # a newer release migrated it meanwhile
                connection.execute("UPDATE alembic_version SET version_num = '0999_newer'")
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["database"] == "schema_mismatch"
            assert "0999" not in response.text


# --- /metrics -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("planner", 403),
        ("leader", 403),
        ("bad_token", 401),
        ("city_admin", 200),
        ("national_admin", 200),
    ],
)
def test_metrics_only_for_admins_from_elsewhere(
    anonymous: TestClient, tokens: dict[str, str], who: str, status: int
) -> None:
    headers = {}
    if who == "bad_token":
        headers = bearer("not-a-token-{{7*7}}")
    elif who != "anonymous":
        headers = bearer(tokens[who])
    response = anonymous.get("/metrics", headers=headers)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "cdfmap_http_requests_total" in response.text
    else:
        assert "cdfmap_http_requests_total" not in response.text


def test_metrics_count_routes_latency_ingest_and_pools(
    client: TestClient, tokens: dict[str, str]
) -> None:
    survey = household_survey()
    assert client.post("/api/v1/submissions", json=survey).status_code == 201
    assert client.post("/api/v1/submissions", json=survey).status_code == 200
    bad = household_survey(collected_at="not a time")
    assert client.post("/api/v1/submissions", json=bad).status_code == 422
    secret_path = f"/api/v1/submissions/{uuid.uuid4()}"
    assert client.get(secret_path).status_code == 404
    assert client.get("/api/v1/enrol/SECRET-ENROLMENT-CODE-123").status_code == 404
    text = client.get("/metrics").text
    lines = text.splitlines()

    def value(prefix: str) -> float:
        (line,) = [line for line in lines if line.startswith(prefix)]
        return float(line.rsplit(" ", 1)[1])

    pid = next(line for line in lines if line.startswith("cdfmap_process_start_time_seconds"))
    pid_label = pid.split("{")[1].split("}")[0]
    created = 'cdfmap_ingest_total{kind="survey",outcome="created"}'
    assert value(created) == 1
    assert value(created.replace("created", "duplicate")) == 1
    assert value(created.replace("created", "refused")) == 1
    route = 'route="/api/v1/submissions/{submission_id}"'
    assert any(route in line and 'status="404"' in line for line in lines)
    assert secret_path not in text and "SECRET-ENROLMENT" not in text
    assert 'route="(unmatched)"' in text
    count = 'cdfmap_http_request_duration_seconds_count{route="/api/v1/submissions"}'
    assert value(count) == 3
    infinity = 'cdfmap_http_request_duration_seconds_bucket{route="/api/v1/submissions",le="+Inf"}'
    assert value(infinity) == 3
    assert value("cdfmap_workers ") == 1
    assert f'cdfmap_db_pool_connections{{{pid_label},pool="ingest",state="open"}}' in text
    assert f'cdfmap_db_pool_connections{{{pid_label},pool="queries",state="in_use"}}' in text
    assert f"cdfmap_print_queue_depth{{{pid_label}}} 0" in text


def test_metrics_from_this_machine_need_no_token_unless_forwarded(live_server: str) -> None:
    local = httpx.get(f"{live_server}/metrics")
    assert local.status_code == 200
    assert "cdfmap_http_requests_total" in local.text
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        proxied = httpx.get(f"{live_server}/metrics", headers={header: "203.0.113.9"})
        assert proxied.status_code == 401, header


# --- request log --------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def request_lines() -> Iterator[Lines]:
    handler = Lines()
    logging.getLogger(LOGGER).addHandler(handler)
    yield handler
    logging.getLogger(LOGGER).removeHandler(handler)


def test_one_json_line_per_request_without_personal_data(
    settings: Settings, admin_token: str, request_lines: Lines, clean_surveys: None
) -> None:
    assert settings.request_log is None and not settings.demo  # production: on by default
    name = "Nguyễn Thị Hoa"
    survey = household_survey()
    with TestClient(create_app(settings), headers=bearer(admin_token)) as client:
        assert client.post("/api/v1/submissions", json=survey).status_code == 201
        client.get(f"/api/v1/submissions/{survey['id']}?q={name}&token={admin_token}")
        client.get("/api/v1/enrol/SECRET-ENROLMENT-CODE-123?head_phone=0905123456")
    assert len(request_lines.lines) == 3
    records = [json.loads(line) for line in request_lines.lines]
    assert set(records[0]) == {"ts", "method", "route", "status", "ms", "bytes"}
    assert records[0]["route"] == "/api/v1/submissions" and records[0]["status"] == 201
    assert records[1]["route"] == "/api/v1/submissions/{submission_id}"
    assert records[1]["status"] == 200
    assert records[2]["route"] == "(unmatched)"
    everything = "\n".join(request_lines.lines)
    for secret in (name, admin_token, survey["id"], "SECRET-ENROLMENT", "0905123456", "?"):
        assert secret not in everything


def test_no_lines_when_the_log_is_off(
    database_url: str, tmp_path: Path, request_lines: Lines
) -> None:
    settings = Settings(database_url=database_url, media_dir=tmp_path, request_log=False)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
    assert request_lines.lines == []
    demo = Settings(database_url=database_url, media_dir=tmp_path, demo=True)
    with TestClient(create_app(demo)) as client:
        assert client.get("/healthz").status_code == 200
    assert request_lines.lines == []  # demo mode (make run): off unless asked for
