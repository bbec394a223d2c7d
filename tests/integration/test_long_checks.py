"""Surveys of a form the whole engine checks (repeats, calculations) are checked on the
process's worker thread (app.services.check_runner): while one phone's long batch is checked,
the same server answers everyone else at once, and the batch is still stored."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import REPO_ROOT
from bench.common import uvicorn_server
from tests.auth import bearer

# A roster whose calculations count the members, in a chain the phone settles round by round
# (each reads the one after it): ~0.5 s to check one survey of 500 members.
HEAVY_FORM = """\
| survey |
| | type | name | label | calculation |
| | calculate | c1 | | ${c2} + count(${member}) |
| | calculate | c2 | | ${c3} + count(${member}) |
| | calculate | c3 | | ${c4} + count(${member}) |
| | calculate | c4 | | ${c5} + count(${member}) |
| | calculate | c5 | | sum(${age}) |
| | begin repeat | member | Member | |
| | integer | age | Age | |
| | calculate | older | | if(${age} > count(${member}), 1, 0) |
| | end repeat | | | |
| settings |
| | form_id | version |
| | heavy | 1 |
"""
MEMBERS = 500


def heavy_survey() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "form_id": "heavy",
        "form_version": "1",
        "collected_at": "2026-11-26T09:30:00+07:00",
        "city": "tam-ky",
        "answers": {"member": [{"age": index % 90} for index in range(MEMBERS)]},
    }


@pytest.fixture
def server(database_url: str, tmp_path: Path, clean_surveys: None) -> Iterator[str]:
    forms = tmp_path / "forms"
    forms.mkdir()
    shutil.copy(REPO_ROOT / "forms" / "household.xlsx", forms / "household.xlsx")
    (forms / "heavy.md").write_text(HEAVY_FORM, encoding="utf-8")
    with uvicorn_server("app.main:create_app", database_url, env={"FORMS_DIR": str(forms)}) as (
        base,
        _pid,
    ):
        yield base


def test_others_are_answered_while_a_long_batch_is_checked(server: str, admin_token: str) -> None:
    batch = {"submissions": [heavy_survey() for _ in range(4)]}
    answer: dict[str, Any] = {}

    def send() -> None:
        with httpx.Client(base_url=server, timeout=300, headers=bearer(admin_token)) as phone:
            started = time.perf_counter()
            answer["response"] = phone.post("/api/v1/submissions/batch", json=batch)
            answer["span"] = (started, time.perf_counter())

    sender = threading.Thread(target=send)
    waits: list[tuple[float, float]] = []
    with httpx.Client(base_url=server, timeout=60) as other:
        assert other.get("/healthz").status_code == 200  # connected, warmed up
        sender.start()
        time.sleep(0.3)  # the batch is being checked
        while sender.is_alive() and len(waits) < 200:
            asked = time.perf_counter()
            assert other.get("/healthz").status_code == 200
            waits.append((asked, time.perf_counter() - asked))
            time.sleep(0.02)
    sender.join()

    response = answer["response"]
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["created"] == 4
    started, ended = answer["span"]
    assert ended - started > 1.0, "the batch took too little time to tell anything"
    during = [wait for asked, wait in waits if started < asked < ended - 0.1]
    assert len(during) >= 5, waits
    assert max(during) < 0.3, f"a request waited {max(during):.2f} s behind the checks"
