"""ODK Collect's edits (`meta/deprecatedID`), however the sendings meet
(app/services/odk.py, app/services/review.correct)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.integration.test_odk import phone, post_submission, volunteer
from tests.odk import household_xml

__all__ = ["phone", "volunteer"]  # fixtures


def _locked_while(sync_engine: Engine, survey: str, sendings: int, send: Any) -> None:
    """Hold survey's row while `sendings` threads run send(i); let go once each waits on it."""
    with sync_engine.connect() as holder:
        holder.execute(
            text("SELECT 1 FROM household_surveys WHERE id = :id FOR UPDATE"),
            {"id": survey.removeprefix("uuid:")},
        )
        threads = [threading.Thread(target=send, args=(i,)) for i in range(sendings)]
        for thread in threads:
            thread.start()
        with sync_engine.connect() as watcher:
            for _ in range(300):
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'"
                    )
                ).scalar_one()
                watcher.rollback()  # pg_stat_activity is read once per transaction
                if waiting >= sendings:
                    break
                time.sleep(0.02)
            else:
                raise AssertionError("the sendings never waited on the survey")
        holder.rollback()
        for thread in threads:
            thread.join(timeout=30)


def test_two_edits_of_a_survey_at_once_are_both_kept(
    client: TestClient, phone: dict[str, Any], sync_engine: Engine
) -> None:
    # A correction's statements ran before its transaction began (SQLAlchemy's asyncpg
    # adapter sends BEGIN with its own first statement): the survey's row was not held, both
    # edits kept version 1 and the second failed on it (a 500).
    first = f"uuid:{uuid.uuid4()}"
    assert post_submission(client, phone["prefix"], household_xml(first)).status_code == 201
    edits = [
        household_xml(f"uuid:{uuid.uuid4()}", deprecated_id=first, household_size=size)
        for size in ("6", "7")
    ]
    statuses: list[int] = []
    _locked_while(
        sync_engine,
        first,
        2,
        lambda i: statuses.append(post_submission(client, phone["prefix"], edits[i]).status_code),
    )
    assert statuses == [201, 201]
    history = client.get(f"/api/v1/submissions/{first[5:]}/history").json()
    assert history["version"] == 3
    kept = [v["content"]["answers"]["household_size"] for v in history["versions"]]
    assert kept[0] == 4 and kept[1] in (6, 7)
