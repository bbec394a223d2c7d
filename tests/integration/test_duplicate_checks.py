"""The likely-duplicate check of phones' batches, run a moment after the batch is answered
(app/services/duplicate_checks.py), against a real PostGIS: what it flags, that it runs once
whatever stops it or runs beside it, and that single surveys are still checked at once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.db.duplicate_checks import CheckConnection, check_one
from app.db.engine import SERVER_SETTINGS
from app.main import create_app
from app.services.duplicate_checks import DuplicateChecks
from app.services.submissions import STATEMENT_ROWS, statement_sizes
from app.settings import Settings
from tests import hostile
from tests.aio import run
from tests.auth import bearer, make_token, make_user
from tests.deferred import queued_checks, run_duplicate_checks, wait_for_duplicate_checks
from tests.factories import TAM_KY_POINT, household_answers, household_survey

URL = "/api/v1/submissions"
FLAG = "possible_duplicate"
NEAR = 0.00002  # degrees of latitude: ~2 m, well within the check's ~10 m
# Never runs by itself during a test: the test runs the checks when it wants them run.
HELD = {
    "duplicate_check_quiet_seconds": 3600,
    "duplicate_check_max_delay_seconds": 3600,
    "duplicate_check_sweep_seconds": 3600,
}


@pytest.fixture
def held(settings: Settings, clean_surveys: None) -> Iterator[TestClient]:
    """The app, whose background job leaves the queued checks alone."""
    with TestClient(create_app(settings.model_copy(update=HELD))) as client:
        yield client


@pytest.fixture(scope="module")
def volunteer(sync_engine: Engine) -> dict[str, str]:
    """A volunteer given ward W03 (An Xuân), where the settlements below lie."""
    user_id = make_user(sync_engine, "dup-checks-volunteer", [("volunteer", ("ward", "W03"))])
    return bearer(make_token(sync_engine, user_id))


@pytest.fixture(scope="module")
def leader(sync_engine: Engine) -> dict[str, str]:
    """The leader of ward W03: sees `possible_duplicate` (the volunteer who sent does not)."""
    user_id = make_user(sync_engine, "dup-checks-w03-leader", [("ward_leader", ("ward", "W03"))])
    return bearer(make_token(sync_engine, user_id))


@pytest.fixture(scope="module")
def spots(sync_engine: Engine) -> list[dict[str, float]]:
    """Points inside the settlements of ward W03, ~33 m from each other and 10 m or more
    inside their settlement: surveys at different spots are never compared."""
    with sync_engine.connect() as connection:
        rows = connection.execute(
            text(
                """
SELECT ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
FROM settlements s JOIN wards w ON w.id = s.ward_id
CROSS JOIN generate_series(0, 12) i CROSS JOIN generate_series(0, 12) j
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(ST_XMin(s.geom) + i * 0.0003,
                                                   ST_YMin(s.geom) + j * 0.0003), 4326)
                    AS geom) p
WHERE w.code = 'W03' AND ST_Contains(ST_Buffer(s.geom, -0.0001), p.geom)
ORDER BY s.id, i, j
"""
            )
        ).all()
    assert len(rows) >= 40
    return [{"lat": row.lat, "lon": row.lon, "accuracy_m": 4.0} for row in rows]


def survey(spot: dict[str, float], name: str, phone: str = "", shift: float = 0.0) -> dict:
    """A household survey `shift` degrees north of a spot."""
    return household_survey(
        location=dict(spot, lat=spot["lat"] + shift),
        answers=household_answers(head_name=name, head_phone=phone),
    )


def post_batch(client: TestClient, who: dict[str, str], items: list[dict]) -> dict[str, int]:
    response = client.post(f"{URL}/batch", json={"submissions": items}, headers=who)
    assert response.status_code == 200, response.text
    summary: dict[str, int] = response.json()["summary"]
    return summary


def flagged(engine: Engine) -> dict[str, int]:
    """Surveys carrying the flag, with how many times they carry it."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id::text, cardinality(array_positions(flags, :flag)) FROM "
                "household_surveys WHERE :flag = ANY(flags)"
            ),
            {"flag": FLAG},
        ).all()
    return {row[0]: row[1] for row in rows}


def updated_at(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id::text, updated_at FROM household_surveys"))
        return dict(rows.all())  # type: ignore[arg-type]


def test_a_second_survey_in_a_later_batch_is_flagged_once_the_checks_ran(
    held: TestClient, volunteer: dict, leader: dict, spots: list, sync_engine: Engine
) -> None:
    first = survey(spots[0], "Nguyễn Thị Hoa", "0905000001")
    neighbour_first = survey(spots[1], "Trần Văn Bình", "0905000002")
    assert post_batch(held, volunteer, [first, neighbour_first])["created"] == 2
    same_name = survey(spots[0], "NGUYỄN THỊ HOA", "", shift=NEAR)  # case folded: flagged
    same_phone = survey(spots[0], "Lê Văn Tám", "0905000001", shift=-NEAR)
    neighbour = survey(spots[1], "Phạm Thị Lan", "0905000003", shift=NEAR)  # another household
    far = survey(spots[2], "Nguyễn Thị Hoa", "0905000001")  # ~33 m away: another house
    assert post_batch(held, volunteer, [same_name, same_phone, neighbour, far])["created"] == 4
    # Answered before it is checked: nothing flagged yet; one check queued per statement.
    assert flagged(sync_engine) == {}
    assert queued_checks(sync_engine) == 2
    changed = updated_at(sync_engine)
    assert run_duplicate_checks(held) == 2
    assert flagged(sync_engine) == {same_name["id"]: 1, same_phone["id"]: 1}
    # No change a phone shows: its sync of its volunteer's surveys (by updated_at) skips it.
    assert updated_at(sync_engine) == changed
    assert queued_checks(sync_engine) == 0
    # What the API shows the ward's leader; the volunteer who sent it never sees the flag.
    record = held.get(f"{URL}/{same_name['id']}", headers=leader).json()
    assert FLAG in record["flags"]
    assert FLAG not in held.get(f"{URL}/{same_name['id']}", headers=volunteer).json()["flags"]
    assert FLAG not in held.get(f"{URL}/{first['id']}", headers=leader).json()["flags"]


def test_a_name_typed_with_combining_accents_is_the_same_name(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    """A keyboard that writes Vietnamese accents as combining marks (NFD, Unikey's "tổ hợp")
    types the same name as one that writes them whole (NFC): compared as one."""
    import unicodedata

    first = survey(spots[3], "Nguyễn Thị Hoa", "")
    assert post_batch(held, volunteer, [first])["created"] == 1
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hoa")
    assert decomposed != "Nguyễn Thị Hoa"
    again = survey(spots[3], decomposed, "", shift=NEAR)
    other = survey(spots[3], unicodedata.normalize("NFD", "Trần Văn Bình"), "", shift=-NEAR)
    assert post_batch(held, volunteer, [again, other])["created"] == 2
    run_duplicate_checks(held)
    assert flagged(sync_engine) == {again["id"]: 1}


def test_a_name_of_two_thousand_accent_marks_costs_the_check_no_time(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    """Composing a name's accents takes time quadratic in a run of combining marks: a head's
    name of 2,000 of them, in the worst order, took PostgreSQL ~30-100 ms each time, eight
    times per survey (~10-30 s for these 100 surveys). Only its first 120 characters are
    composed."""
    import unicodedata

    by_class: dict[int, str] = {}
    for code in range(0x300, 0x10000):  # one UTF-16 unit each: 2,000 fit MAX_TEXT_LENGTH
        mark_class = unicodedata.combining(chr(code))
        if mark_class and mark_class not in by_class:
            by_class[mark_class] = chr(code)
    marks = "".join(by_class[c] for c in sorted(by_class, reverse=True))
    name = "a" + (marks * 60)[:1999]
    items = [survey(spots[4], name, "", shift=NEAR * (i % 3)) for i in range(100)]
    assert post_batch(held, volunteer, items)["created"] == 100
    started = time.perf_counter()
    run_duplicate_checks(held)
    seconds = time.perf_counter() - started
    assert seconds < 3.0, seconds
    assert len(flagged(sync_engine)) == 99  # every later one has an earlier one next to it


def test_of_a_pair_in_one_batch_only_the_later_is_flagged(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    # A pair in one statement (the later id is the second survey), and a pair across the
    # batch's two statements (statement_sizes: `early` in the first, the last three in the
    # second; which of the two the database ends first decides which is the later).
    one = survey(spots[0], "Võ Thị Én", "0905000011")
    two = survey(spots[0], "Võ Thị Én", "0905000011", shift=NEAR)
    early = survey(spots[1], "Hồ Văn Giang", "0905000012")
    late = survey(spots[1], "Hồ Văn Giang", "", shift=NEAR)
    # in no settlement
    unplaced = [household_survey(location=TAM_KY_POINT) for _ in range(STATEMENT_ROWS - 1)]
    items = [early, *unplaced, one, two, late]
    first, second = statement_sizes(len(items))
    assert first > 1 and second > 3
    summary = post_batch(held, volunteer, items)
    assert summary["created"] == len(items)
    assert flagged(sync_engine) == {}
    assert run_duplicate_checks(held) == 2  # the unplaced surveys are not checked
    found = flagged(sync_engine)
    assert found.pop(max(one["id"], two["id"], key=uuid.UUID)) == 1
    assert len(found) == 1 and found.keys() < {early["id"], late["id"]}
    with sync_engine.connect() as connection:
        later = connection.execute(
            text(
                "SELECT id::text FROM household_surveys WHERE id IN (:early, :late) "
                "ORDER BY received_at DESC, id DESC LIMIT 1"
            ),
            {"early": early["id"], "late": late["id"]},
        ).scalar_one()
    assert found == {later: 1}


def test_of_a_pair_committed_in_the_other_order_one_is_flagged(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    """A batch that began first (its received_at) commits after the other batch's check ran
    (it waited on a lock): the later survey's check never saw the earlier one, so the
    earlier one is flagged when its own check runs."""
    later = survey(spots[3], "Lý Thị Mai", "0905000031")
    assert post_batch(held, volunteer, [later])["created"] == 1
    assert run_duplicate_checks(held) == 1
    assert flagged(sync_engine) == {}
    earlier = survey(spots[3], "Lý Thị Mai", "", shift=NEAR)
    assert post_batch(held, volunteer, [earlier])["created"] == 1
    with sync_engine.begin() as connection:  # received first, as when its batch began first
        connection.execute(
            text(
                "UPDATE household_surveys SET received_at = "
                "(SELECT received_at - interval '1 second' FROM household_surveys"
                " WHERE id = :later) "
                "WHERE id = :earlier"
            ),
            {"later": later["id"], "earlier": earlier["id"]},
        )
    assert run_duplicate_checks(held) == 1
    assert flagged(sync_engine) == {earlier["id"]: 1}


def test_a_batch_that_stores_no_survey_in_a_settlement_queues_no_check(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    items = [survey(spots[0], "Đặng Văn Khoa", "0905000021")]
    post_batch(held, volunteer, items)
    assert queued_checks(sync_engine) == 1
    assert run_duplicate_checks(held) == 1
    assert post_batch(held, volunteer, items)["duplicate"] == 1  # sent again: nothing stored
    assert post_batch(held, volunteer, [{"id": "x"}, {}])["invalid"] == 2
    assert post_batch(held, volunteer, [household_survey(location=TAM_KY_POINT)])["created"] == 1
    assert queued_checks(sync_engine) == 0


def test_a_single_survey_is_still_checked_as_it_is_stored(
    held: TestClient, volunteer: dict, leader: dict, spots: list, sync_engine: Engine
) -> None:
    first = survey(spots[0], "Bùi Thị Mai", "0905000031")
    assert held.post(URL, json=first, headers=volunteer).status_code == 201
    second = survey(spots[0], "Bùi Thị Mai", "", shift=NEAR)
    response = held.post(URL, json=second, headers=volunteer)
    assert response.status_code == 201 and FLAG not in response.json()["flags"]  # not theirs
    assert FLAG in held.get(f"{URL}/{second['id']}", headers=leader).json()["flags"]
    assert queued_checks(sync_engine) == 0
    # A batch's survey is compared with a single survey sent before it, and the other way.
    third = survey(spots[0], "Bùi Thị Mai", "", shift=-NEAR)
    post_batch(held, volunteer, [third])
    fourth = survey(spots[0], "Bùi Thị Mai", "", shift=2 * NEAR)
    assert held.post(URL, json=fourth, headers=volunteer).status_code == 201
    assert FLAG in held.get(f"{URL}/{fourth['id']}", headers=leader).json()["flags"]
    run_duplicate_checks(held)
    assert flagged(sync_engine) == {second["id"]: 1, third["id"]: 1, fourth["id"]: 1}


HOSTILE_NAMES = (
    "Nguyễn Thị 'Hoa'",
    'Bà "Tư" Hoa',
    "Hoa 100% _ Lan",
    "%",
    "%%_",
    "C:\\Users\\hoa\\",
    "\\",
    "Hoa\\' OR 1=1 --",
    "'; DROP TABLE household_surveys; --",
    "😀 Hoa 😀",
    "\u1100\u1161\u11a8 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "Nguyễn Văn " * 181,  # 1,991 characters (answers hold up to 2,000)
    "x" * 2000,
    *hostile.NAMES,
)


def flagged_roles(engine: Engine, roles: dict[str, tuple[int, str]]) -> set[tuple[int, str]]:
    return {roles[survey_id] for survey_id in flagged(engine) if survey_id in roles}


def test_hostile_names_are_compared_as_a_single_survey_compares_them(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    """Each name three times at one spot: the first, the same name again (no phone), then the
    next name of the list (no phone). Sent one by one (checked inline) and in three batches
    (checked afterwards), the same surveys are flagged."""
    names = HOSTILE_NAMES
    assert len(spots) >= len(names)

    def rounds() -> tuple[list[list[dict]], dict[str, tuple[int, str]]]:
        roles: dict[str, tuple[int, str]] = {}
        batches: list[list[dict]] = [[], [], []]
        for index, name in enumerate(names):
            other = names[(index + 1) % len(names)]
            for number, (role, head, shift) in enumerate(
                (("first", name, 0.0), ("again", name, NEAR), ("other", other, -NEAR))
            ):
                item = survey(spots[index], head, "", shift=shift)
                roles[item["id"]] = (index, role)
                batches[number].append(item)
        return batches, roles

    batches, inline_roles = rounds()
    for batch in batches:
        for item in batch:
            assert held.post(URL, json=item, headers=volunteer).status_code == 201
    inline = flagged_roles(sync_engine, inline_roles)
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))

    batches, deferred_roles = rounds()
    for batch in batches:
        assert post_batch(held, volunteer, batch)["created"] == len(names)
    assert flagged(sync_engine) == {}
    assert run_duplicate_checks(held) == 3
    assert flagged_roles(sync_engine, deferred_roles) == inline
    assert set(flagged(sync_engine).values()) == {1}
    # The names with letters are found again; no name without letters is (no trigram).
    again = {index for index, role in inline if role == "again"}
    for index in (0, 1, 2, 5, 7, 8, 11, 12):
        assert index in again, names[index][:40]
    assert not {3, 4, 6} & again


def settings_with(settings: Settings, **seconds: float) -> Settings:
    return settings.model_copy(update={f"duplicate_check_{k}": v for k, v in seconds.items()})


def test_the_checks_run_by_themselves_once_batches_pause(
    settings: Settings, clean_surveys: None, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    quick = settings_with(settings, quiet_seconds=0.2)
    with TestClient(create_app(quick)) as client:
        post_batch(client, volunteer, [survey(spots[0], "Mai Văn Sơn", "0905000041")])
        second = survey(spots[0], "Mai Văn Sơn", "", shift=NEAR)
        post_batch(client, volunteer, [second])
        wait_for_duplicate_checks(sync_engine)
        assert flagged(sync_engine) == {second["id"]: 1}


def test_the_checks_run_at_the_latest_after_the_longest_delay(
    settings: Settings, clean_surveys: None, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    # Batches never pause (as far as a quiet hour goes): the delay still has them run.
    hurried = settings_with(settings, quiet_seconds=3600, max_delay_seconds=0.3)
    with TestClient(create_app(hurried)) as client:
        post_batch(client, volunteer, [survey(spots[0], "Đỗ Thị Thu", "0905000051")])
        second = survey(spots[0], "Đỗ Thị Thu", "", shift=NEAR)
        post_batch(client, volunteer, [second])
        wait_for_duplicate_checks(sync_engine)
        assert flagged(sync_engine) == {second["id"]: 1}


def test_checks_left_queued_by_a_stopped_app_are_run_by_the_next_to_start(
    settings: Settings, clean_surveys: None, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    with TestClient(create_app(settings.model_copy(update=HELD))) as first_app:
        post_batch(first_app, volunteer, [survey(spots[0], "Lý Văn Tài", "0905000061")])
        second = survey(spots[0], "Lý Văn Tài", "", shift=NEAR)
        post_batch(first_app, volunteer, [second])
    assert queued_checks(sync_engine) == 2  # stopped: the checks stay queued
    assert flagged(sync_engine) == {}
    # The next app runs them at start-up, long before its sweep or any batch.
    later = settings_with(settings, sweep_seconds=3600)
    with TestClient(create_app(later)):
        wait_for_duplicate_checks(sync_engine)
    assert flagged(sync_engine) == {second["id"]: 1}


def checks(url: str, **seconds: float) -> DuplicateChecks:
    """A background job of its own, on its own connection: another app process's."""
    return DuplicateChecks(CheckConnection(url, dict(SERVER_SETTINGS)), **seconds)


def test_two_processes_draining_at_once_run_each_check_once(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine, database_url: str
) -> None:
    households = 24
    originals = [
        survey(spots[k], f"{uuid.uuid4().hex[:10]} {k}", f"09{k:08d}") for k in range(households)
    ]
    post_batch(held, volunteer, originals)
    expected = set()
    for start in range(0, households, 2):  # 12 batches of 2 second surveys each
        seconds = [
            survey(spots[k], originals[k]["answers"]["head_name"], "", shift=NEAR)
            for k in (start, start + 1)
        ]
        expected |= {item["id"] for item in seconds}
        post_batch(held, volunteer, seconds)
    with sync_engine.begin() as connection:  # and each check queued twice (none is flagged twice)
        connection.execute(
            text(
                "INSERT INTO duplicate_checks (survey_ids) "
                "SELECT survey_ids FROM duplicate_checks ORDER BY id"
            )
        )
    jobs = queued_checks(sync_engine)
    assert jobs == 26

    async def both() -> list[int]:
        first, second = checks(database_url), checks(database_url)
        try:
            return list(await asyncio.gather(first.drain(), second.drain()))
        finally:
            await first.stop()
            await second.stop()

    ran = run(both())
    assert sum(ran) == jobs, ran
    assert queued_checks(sync_engine) == 0
    assert flagged(sync_engine) == dict.fromkeys(expected, 1)


def test_a_check_cut_short_by_a_shutdown_stays_queued(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine, database_url: str
) -> None:
    post_batch(held, volunteer, [survey(spots[0], "Tạ Văn Lực", "0905000071")])
    second = survey(spots[0], "Tạ Văn Lực", "", shift=NEAR)
    post_batch(held, volunteer, [second])

    async def stopped_while_waiting_for_a_lock() -> None:
        watcher = await asyncpg.connect(database_url)
        job = checks(database_url)
        try:
            job.start()  # its start-up run takes the queue at once
            deadline = time.monotonic() + 20
            while not await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%duplicate_checks%' AND pid <> pg_backend_pid()"
            ):
                assert time.monotonic() < deadline, "the check never waited for the lock"
                await asyncio.sleep(0.02)
            await job.stop()
        finally:
            await watcher.close()

    with sync_engine.connect() as blocker:
        # A reviewer's correction holds the second survey: the check waits for it.
        blocker.execute(
            text("SELECT 1 FROM household_surveys WHERE id = :id FOR UPDATE"), {"id": second["id"]}
        )
        run(stopped_while_waiting_for_a_lock())
        blocker.rollback()
    time.sleep(0.3)  # had the statement gone on once the lock was free, it would be done
    assert queued_checks(sync_engine) == 1  # the first batch's check ran, the second waits
    assert flagged(sync_engine) == {}
    assert run_duplicate_checks(held) == 1
    assert flagged(sync_engine) == {second["id"]: 1}


def test_a_failing_check_is_logged_and_tried_again_without_stopping_the_job(
    caplog: pytest.LogCaptureFixture, database_url: str
) -> None:
    nowhere = database_url.rsplit("/", 1)[0] + "/cdfmap_no_such_database"

    async def failing() -> bool:
        job = checks(nowhere, sweep_seconds=0.05)
        job.start()
        await asyncio.sleep(0.6)
        alive = job.running
        await job.stop()
        return alive

    with caplog.at_level(logging.ERROR, logger="app.services.duplicate_checks"):
        assert run(failing())
    failures = [r for r in caplog.records if "duplicate checks failed" in r.getMessage()]
    assert len(failures) >= 2  # tried again


async def wait_for_lock(watcher: asyncpg.Connection, count: int) -> None:
    """Until `count` duplicate checks wait for a lock."""
    deadline = time.monotonic() + 20
    while (
        await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%duplicate_checks%' AND pid <> pg_backend_pid()"
        )
        < count
    ):
        assert time.monotonic() < deadline, "the check never waited for the lock"
        await asyncio.sleep(0.02)


def test_two_processes_checking_a_pair_at_once_flag_one_of_them(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine, database_url: str
) -> None:
    """Batch B's check runs in one process while batch A, begun before B but committed
    after it, is checked by another: the second check must see what the first decided
    (found by review: it saw B's job still queued, left the pair to it, and B's check had
    not seen A; neither survey was flagged)."""
    original = survey(spots[5], "Mạc Văn Đức", "0905000091")
    post_batch(held, volunteer, [original])
    assert run_duplicate_checks(held) == 1
    b = survey(spots[6], "Hồ Thị Ngân", "0905000092")
    second = survey(spots[5], "Mạc Văn Đức", "", shift=NEAR)  # the check must lock it
    post_batch(held, volunteer, [b, second])
    a = survey(spots[6], "Hồ Thị Ngân", "", shift=NEAR)

    async def interleaved() -> None:
        watcher = await asyncpg.connect(database_url)
        first = CheckConnection(database_url, dict(SERVER_SETTINGS))
        other = CheckConnection(database_url, dict(SERVER_SETTINGS))
        try:
            check_b = asyncio.ensure_future(check_one(first))
            await wait_for_lock(watcher, 1)  # B's check, its snapshot taken, waits for `second`
            post_batch(held, volunteer, [a])
            with sync_engine.begin() as connection:  # received first: its batch began first
                connection.execute(
                    text(
                        "UPDATE household_surveys SET received_at = "
                        "(SELECT received_at - interval '1 second' FROM household_surveys"
                        " WHERE id = :b) WHERE id = :a"
                    ),
                    {"a": a["id"], "b": b["id"]},
                )
            check_a = asyncio.ensure_future(check_one(other))
            await asyncio.sleep(0.3)  # long enough for a check that does not wait to end
            release.set()
            assert await check_b == (True, 1)
            assert await check_a == (True, 1)
        finally:
            await first.close()
            await other.close()
            await watcher.close()

    release = asyncio.Event()

    async def with_blocker() -> None:
        blocker = await asyncpg.connect(database_url)
        try:
            async with blocker.transaction():
                # A reviewer's correction holds `second`: B's check waits for it.
                await blocker.execute(
                    "SELECT 1 FROM household_surveys WHERE id = $1 FOR UPDATE",
                    uuid.UUID(second["id"]),
                )
                waiting = asyncio.ensure_future(interleaved())
                await release.wait()
            await waiting
        finally:
            await blocker.close()

    run(with_blocker())
    assert queued_checks(sync_engine) == 0
    assert flagged(sync_engine) == {second["id"]: 1, a["id"]: 1}


def failures(engine: Engine) -> list[int]:
    """The failures of each queued check, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT failures FROM duplicate_checks ORDER BY id"))
        return [row[0] for row in rows]


def test_a_check_that_keeps_failing_goes_behind_the_others(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine, database_url: str
) -> None:
    """A check whose statement fails every time (a bug, a timeout) never keeps the checks
    queued after it from running: it is counted and tried again after them."""
    post_batch(held, volunteer, [survey(spots[0], "Đoàn Thị Mến", "0905000081")])
    post_batch(held, volunteer, [survey(spots[1], "Võ Văn Khải", "0905000082")])
    assert run_duplicate_checks(held) == 2  # the first surveys' checks: nothing to flag
    poisoned = survey(spots[0], "Đoàn Thị Mến", "", shift=NEAR)
    post_batch(held, volunteer, [poisoned])  # its check fails while the trigger below is there
    later = survey(spots[1], "Võ Văn Khải", "", shift=NEAR)
    post_batch(held, volunteer, [later])
    assert failures(sync_engine) == [0, 0]
    # A fault of the flagging statement for one survey, as a bug in it would be.
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION test_refuse_check() RETURNS trigger LANGUAGE plpgsql AS "
                "$$BEGIN RAISE EXCEPTION 'a check that cannot run'; END$$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER test_refuse_check BEFORE UPDATE ON household_surveys "
                f"FOR EACH ROW WHEN (NEW.id = '{uuid.UUID(poisoned['id'])}') "
                "EXECUTE FUNCTION test_refuse_check()"
            )
        )
    try:
        job = checks(database_url)

        async def drain() -> str:
            try:
                await job.drain()
            except asyncpg.PostgresError as exc:
                return str(exc)
            finally:
                await job.stop()
            return "no error"

        assert run(drain()) == "a check that cannot run"
        assert failures(sync_engine) == [1, 0]
        assert flagged(sync_engine) == {}
        # Tried again: the one that has not failed goes first, then the failing one again.
        job = checks(database_url)
        assert run(drain()) == "a check that cannot run"
        assert flagged(sync_engine) == {later["id"]: 1}
        assert failures(sync_engine) == [2]
    finally:
        with sync_engine.begin() as connection:
            connection.execute(text("DROP TRIGGER test_refuse_check ON household_surveys"))
            connection.execute(text("DROP FUNCTION test_refuse_check()"))
    # Once it can run, it runs: nothing was lost.
    assert run_duplicate_checks(held) == 1
    assert queued_checks(sync_engine) == 0
    assert flagged(sync_engine) == {later["id"]: 1, poisoned["id"]: 1}


def test_a_bulk_approval_leaves_surveys_whose_check_is_queued(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine
) -> None:
    leader = bearer(
        make_token(
            sync_engine,
            make_user(sync_engine, "dup-checks-leader", [("ward_leader", ("ward", "W03"))]),
        )
    )
    first = survey(spots[0], "Cao Thị Vân", "0905000081")
    second = survey(spots[0], "Cao Thị Vân", "", shift=NEAR)
    other = survey(spots[0], "Lâm Văn Xuân", "0905000082", shift=-NEAR)
    post_batch(held, volunteer, [first])
    post_batch(held, volunteer, [second, other])
    with sync_engine.connect() as connection:
        settlement_id, ward_id = connection.execute(
            text("SELECT settlement_id, ward_id FROM household_surveys WHERE id = :id"),
            {"id": first["id"]},
        ).one()

    def unflagged() -> int:
        counts = held.get(f"/api/v1/wards/{ward_id}/review-counts", headers=leader).json()
        row: dict[str, Any] = next(s for s in counts["settlements"] if s["id"] == settlement_id)
        assert row["received"] == 3
        return int(row["received_unflagged"])

    url = f"/api/v1/settlements/{settlement_id}/review"
    assert unflagged() == 0  # none checked yet
    approve = held.post(url, json={"only_unflagged": True}, headers=leader)
    assert approve.status_code == 200 and approve.json()["approved"] == 0
    run_duplicate_checks(held)
    assert unflagged() == 2
    assert held.post(url, json={"only_unflagged": True}, headers=leader).json()["approved"] == 2
    # An approved or rejected survey is still flagged when found to be a second survey.
    third = survey(spots[0], "Cao Thị Vân", "", shift=2 * NEAR)
    post_batch(held, volunteer, [third])
    decided = held.post(
        f"{URL}/{third['id']}/review", json={"decision": "rejected", "comment": "x"}, headers=leader
    )
    assert decided.status_code == 200, decided.text
    run_duplicate_checks(held)
    assert flagged(sync_engine) == {second["id"]: 1, third["id"]: 1}


def test_a_survey_corrected_while_its_check_waits_is_not_flagged_on_its_old_content(
    held: TestClient, volunteer: dict, spots: list, sync_engine: Engine, database_url: str
) -> None:
    """The check read the survey as it was sent (beside another household's survey, the
    same head and phone); a correction moving it to another house committed while the check
    waited for its row: the check must not flag what the survey no longer says (found by
    review: flagged, and the job gone, so the flag stayed for good)."""
    original = survey(spots[7], "Trần Thị Mai", "0905111222")
    assert held.post(URL, json=original, headers=volunteer).status_code == 201
    second = survey(spots[7], "Trần Thị Mai", "0905111222", shift=NEAR)
    post_batch(held, volunteer, [second])
    elsewhere = survey(spots[8], "Đoàn Văn Sơn", "0905333444")  # another house, ~33 m off

    async def corrected_while_the_check_waits() -> None:
        watcher = await asyncpg.connect(database_url)
        blocker = await asyncpg.connect(database_url)
        checker = CheckConnection(database_url, dict(SERVER_SETTINGS))
        try:
            async with blocker.transaction():
                # What a volunteer's correction writes, holding the row as it does.
                await blocker.execute(
                    "SELECT 1 FROM household_surveys WHERE id = $1 FOR UPDATE",
                    uuid.UUID(second["id"]),
                )
                check = asyncio.ensure_future(check_one(checker))
                await wait_for_lock(watcher, 1)
                await blocker.execute(
                    "UPDATE household_surveys SET version = version + 1,"
                    " geom = ST_SetSRID(ST_MakePoint($2, $3), 4326),"
                    " answers = answers || $4::jsonb WHERE id = $1",
                    uuid.UUID(second["id"]),
                    elsewhere["location"]["lon"],
                    elsewhere["location"]["lat"],
                    json.dumps({"head_name": "Đoàn Văn Sơn", "head_phone": "0905333444"}),
                )
            assert await check == (True, 0)
        finally:
            await checker.close()
            await blocker.close()
            await watcher.close()

    run(corrected_while_the_check_waits())
    assert queued_checks(sync_engine) == 0
    assert flagged(sync_engine) == {}
