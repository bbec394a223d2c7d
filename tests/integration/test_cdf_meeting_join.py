"""Two phones open the meeting of one savings group on one day (the treasurer and the
group's secretary, or one treasurer on a phone and a tablet), each with the id it made:
the second joins the meeting the first opened instead of opening another. Two meetings of one
day each closed with their own count of the same box: the second close counted the money a
second time and posted a wrong cash difference."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.services import cdf_postings
from app.services.access import Grant, Principal
from app.settings import Settings
from tests.aio import run
from tests.auth import make_user
from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, treasurer, uid

CITY = "cdf-join-town"


@pytest.fixture(scope="module")
def join(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY, "Thành phố Gộp Buổi Họp")
    tokens = {"staff": person(sync_engine, "cdf-join-staff", [("cdf_staff", ("city", CITY))], CITY)}
    with app_client(database_url, tmp_path_factory.mktemp("cdf-join")) as client:
        clients = Clients(client, tokens)
        staff = clients.as_("staff")
        groups = []
        for name in ("Nhóm Hòa Thuận", "Nhóm <script>alert(1)</script> 'Đông'"):
            made = staff.post(
                f"/api/v1/cdf/{CITY}/groups",
                json={
                    "name": name,
                    "settlement_id": ids["settlement"],
                    "founded_on": "2025-01-01",
                    "meeting_frequency": "monthly",
                    "share_value": 50_000,
                },
            )
            assert made.status_code == 201, made.text
            groups.append(made.json()["id"])
        members = []
        for code in ("A", "B"):
            member = staff.post(
                f"/api/v1/cdf/groups/{groups[0]}/members",
                json={"code": code, "name": f"Lê Thị {code}", "joined_on": "2025-01-01"},
            )
            assert member.status_code == 201, member.text
            members.append(member.json()["id"])
        # Two people keep the first group's cash book: two phones at one meeting.
        tokens["treasurer"] = treasurer(sync_engine, "cdf-join-thu-quy", ids["city"], groups[0])
        tokens["secretary"] = treasurer(sync_engine, "cdf-join-thu-ky", ids["city"], groups[0])
        staff_id = make_user(
            sync_engine, "cdf-join-race", [("cdf_staff", ("city", CITY))], city=CITY
        )
        principal = Principal(staff_id, "cdf-join-race", "x", (Grant("cdf_staff", ids["city"]),))  # type: ignore[arg-type]
        yield {
            "clients": clients,
            "groups": groups,
            "members": members,
            "user": principal,
            "settings": Settings(database_url=database_url),
        }
    drop_cities(sync_engine, CITY)


def _meetings(engine: Engine, group: int, day: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(
                text(
                    "SELECT id::text AS id, status FROM cdf_meetings "
                    "WHERE group_id = :group AND held_on = :day ORDER BY opened_at"
                ),
                {"group": group, "day": day},
            ).mappings()
        ]


def _cash(engine: Engine, group: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT coalesce(sum(l.amount), 0) FROM cdf_lines l "
                    "JOIN cdf_accounts a ON a.id = l.account_id "
                    "WHERE a.kind = 'group_cash' AND a.group_id = :group"
                ),
                {"group": group},
            ).scalar_one()
        )


def _saving(member: int, amount: int) -> dict[str, Any]:
    return {"client_id": uid(), "kind": "savings", "amount": amount, "member_id": member}


def test_a_second_phone_joins_the_open_meeting_and_the_box_is_counted_once(
    join: dict[str, Any], sync_engine: Engine
) -> None:
    group, (first_member, second_member) = join["groups"][0], join["members"]
    treasurer, secretary = join["clients"].as_("treasurer"), join["clients"].as_("secretary")
    day = "2025-03-10"
    cash_before = _cash(sync_engine, group)
    mine, theirs = uid(), uid()
    url = f"/api/v1/cdf/groups/{group}/meetings"
    opened = treasurer.post(url, json={"id": mine, "date": day})
    assert opened.status_code == 201 and opened.json()["outcome"] == "created", opened.text
    joined = secretary.post(url, json={"id": theirs, "date": day})
    assert joined.status_code == 200, joined.text
    assert joined.json()["outcome"] == "joined"
    assert joined.json()["meeting"]["id"] == mine
    assert joined.json()["meeting"]["status"] == "open"
    assert [m["id"] for m in _meetings(sync_engine, group, day)] == [mine]
    # The second phone's own id names no meeting: nothing was opened under it.
    assert secretary.get(f"/api/v1/cdf/meetings/{theirs}").status_code == 404
    # Its resend (the answer lost) joins again; the first phone's resend is a duplicate.
    again = secretary.post(url, json={"id": theirs, "date": day})
    assert (again.json()["outcome"], again.json()["meeting"]["id"]) == ("joined", mine)
    resent = treasurer.post(url, json={"id": mine, "date": day})
    assert (resent.status_code, resent.json()["outcome"]) == (200, "duplicate")

    # Each phone records into the one meeting.
    for who, member, amount in (
        (treasurer, first_member, 50_000),
        (secretary, second_member, 70_000),
    ):
        sent = who.post(
            f"/api/v1/cdf/meetings/{mine}/records", json={"records": [_saving(member, amount)]}
        )
        assert sent.json()["results"][0]["outcome"] == "created", sent.text
    box = cash_before + 120_000
    closed = secretary.post(f"/api/v1/cdf/meetings/{mine}/close", json={"cash_counted": box})
    assert closed.status_code == 200, closed.text
    assert closed.json()["difference"] == 0 and closed.json()["entry"] is None
    # The other phone counts the same box: its count is the close kept, never a second one.
    same = treasurer.post(f"/api/v1/cdf/meetings/{mine}/close", json={"cash_counted": box})
    assert (same.json()["outcome"], same.json()["difference"]) == ("duplicate", 0)
    other = treasurer.post(
        f"/api/v1/cdf/meetings/{mine}/close",
        json={"cash_counted": box + 120_000, "note": "đếm hai lần"},
    )
    assert other.status_code == 409, other.text
    assert _cash(sync_engine, group) == box
    with sync_engine.connect() as connection:
        differences = connection.execute(
            text(
                "SELECT count(*) FROM cdf_entries e JOIN cdf_meetings m ON m.id = e.meeting_id "
                "WHERE m.group_id = :group AND e.kind = 'cash_difference'"
            ),
            {"group": group},
        ).scalar_one()
    assert differences == 0


def test_after_the_days_meeting_closed_another_one_opens_and_counts_from_that_close(
    join: dict[str, Any], sync_engine: Engine
) -> None:
    """A closed meeting's count is in the books (its difference posted): a later meeting of
    the same day starts from the box as counted, so its own count is right. Its records are
    never put into a meeting already counted (they would be refused, and the money lost)."""
    group, member = join["groups"][0], join["members"][0]
    treasurer, secretary = join["clients"].as_("treasurer"), join["clients"].as_("secretary")
    day = "2025-03-17"
    url = f"/api/v1/cdf/groups/{group}/meetings"
    morning, evening = uid(), uid()
    assert treasurer.post(url, json={"id": morning, "date": day}).status_code == 201
    sent = treasurer.post(
        f"/api/v1/cdf/meetings/{morning}/records", json={"records": [_saving(member, 30_000)]}
    )
    assert sent.json()["results"][0]["outcome"] == "created", sent.text
    box = _cash(sync_engine, group) - 1_000  # a 1,000 đ note is missing
    closed = treasurer.post(
        f"/api/v1/cdf/meetings/{morning}/close", json={"cash_counted": box, "note": "thiếu 1.000đ"}
    )
    assert closed.status_code == 200 and closed.json()["difference"] == -1_000, closed.text
    later = secretary.post(url, json={"id": evening, "date": day})
    assert later.status_code == 201 and later.json()["outcome"] == "created", later.text
    assert later.json()["meeting"]["id"] == evening
    sent = secretary.post(
        f"/api/v1/cdf/meetings/{evening}/records", json={"records": [_saving(member, 20_000)]}
    )
    assert sent.json()["results"][0]["outcome"] == "created", sent.text
    counted = secretary.post(
        f"/api/v1/cdf/meetings/{evening}/close", json={"cash_counted": box + 20_000}
    )
    assert counted.status_code == 200 and counted.json()["difference"] == 0, counted.text
    assert _cash(sync_engine, group) == box + 20_000
    statuses = [m["status"] for m in _meetings(sync_engine, group, day)]
    assert statuses == ["closed", "closed"]


def test_a_meeting_is_joined_only_by_its_own_group_and_day(
    join: dict[str, Any], sync_engine: Engine
) -> None:
    first_group, second_group = join["groups"]
    staff = join["clients"].as_("staff")
    day = "2025-03-24"
    opened = staff.post(
        f"/api/v1/cdf/groups/{first_group}/meetings", json={"id": uid(), "date": day}
    )
    assert opened.status_code == 201, opened.text
    stored = opened.json()["meeting"]["id"]
    other_group = staff.post(
        f"/api/v1/cdf/groups/{second_group}/meetings", json={"id": uid(), "date": day}
    )
    assert other_group.status_code == 201 and other_group.json()["outcome"] == "created"
    next_day = staff.post(
        f"/api/v1/cdf/groups/{first_group}/meetings", json={"id": uid(), "date": "2025-03-25"}
    )
    assert next_day.status_code == 201 and next_day.json()["outcome"] == "created"
    # The stored id sent for another group or another day is still refused.
    for group, on in ((second_group, day), (first_group, "2025-03-26")):
        reused = staff.post(f"/api/v1/cdf/groups/{group}/meetings", json={"id": stored, "date": on})
        assert reused.status_code == 409, reused.text
    assert len(_meetings(sync_engine, first_group, day)) == 1
    assert len(_meetings(sync_engine, second_group, day)) == 1


async def _gather(settings: Settings, calls: list[Any]) -> list[Any]:
    import asyncio

    engine = make_engine(settings.async_database_url, pool_size=12, max_overflow=12)
    try:
        return await asyncio.gather(*(call(engine) for call in calls), return_exceptions=True)
    finally:
        await engine.dispose()


def test_phones_opening_one_meeting_at_the_same_instant_make_one_meeting(
    join: dict[str, Any], sync_engine: Engine
) -> None:
    """Real concurrent transactions on separate connections: one is created, every other
    phone joins it, each phone's resend racing its first send included."""
    user, group = join["user"], join["groups"][0]
    for day in ("2025-04-07", "2025-04-14", "2025-04-21"):
        bodies = [{"id": str(uuid.uuid4()), "date": day} for _ in range(8)]
        calls = [
            (lambda engine, body=body: cdf_postings.open_meeting(engine, user, group, dict(body)))
            for body in bodies + bodies[:3]
        ]
        results = run(_gather(join["settings"], calls))
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
        stored = _meetings(sync_engine, group, day)
        assert len(stored) == 1, stored
        assert {str(r["meeting"]["id"]) for r in results} == {stored[0]["id"]}
        outcomes = sorted(r["outcome"] for r in results)
        # The one created, its own resends duplicates (if they came after it), the rest joined.
        assert outcomes.count("created") == 1
        assert set(outcomes) <= {"created", "duplicate", "joined"}
        opener = next(b for b in bodies if b["id"] == stored[0]["id"])
        assert outcomes.count("duplicate") == (1 if opener in bodies[:3] else 0)


def test_the_meeting_says_what_the_books_hold_of_every_phones_records(
    join: dict[str, Any], sync_engine: Engine
) -> None:
    """Each phone knows only its own records: the meeting answers the cash the books hold on
    its day (what the close compares the count with) and the ids of every phone's records,
    so a phone expects the whole box. Once closed by one phone, the other's record is
    refused there; it is posted once in a new meeting of the day, under its own id."""
    group, (first_member, second_member) = join["groups"][0], join["members"]
    treasurer, secretary = join["clients"].as_("treasurer"), join["clients"].as_("secretary")
    day = "2025-05-05"
    url = f"/api/v1/cdf/groups/{group}/meetings"
    mine = uid()
    assert treasurer.post(url, json={"id": mine, "date": day}).status_code == 201
    assert secretary.post(url, json={"id": uid(), "date": day}).json()["outcome"] == "joined"
    empty = secretary.get(f"/api/v1/cdf/meetings/{mine}")
    assert empty.status_code == 200, empty.text
    before = empty.json()["cash_in_books"]
    assert isinstance(before, int) and empty.json()["record_ids"] == []
    assert empty.json()["cash_of_meeting"] == 0
    assert before == _cash(sync_engine, group)
    ours, theirs = _saving(first_member, 50_000), _saving(second_member, 70_000)
    for who, record in ((treasurer, ours), (secretary, theirs)):
        sent = who.post(f"/api/v1/cdf/meetings/{mine}/records", json={"records": [record]})
        assert sent.json()["results"][0]["outcome"] == "created", sent.text
    for who in (treasurer, secretary):
        seen = who.get(f"/api/v1/cdf/meetings/{mine}").json()
        assert seen["status"] == "open"
        assert seen["cash_in_books"] == before + 120_000
        # What the meeting moved, whichever phone: the rest is the cash at its start.
        assert seen["cash_of_meeting"] == 120_000
        assert sorted(seen["record_ids"]) == sorted([ours["client_id"], theirs["client_id"]])
    # A later day's money is not in the box of this meeting's day.
    later = treasurer.post(
        f"/api/v1/cdf/groups/{group}/transactions",
        json={"client_id": uid(), "kind": "fine", "amount": 5_000, "date": "2025-05-06"},
    )
    assert later.status_code == 201, later.text
    seen = treasurer.get(f"/api/v1/cdf/meetings/{mine}").json()
    assert (seen["cash_in_books"], seen["cash_of_meeting"]) == (before + 120_000, 120_000)
    # A meeting held later in the books' time (its phone's cash at the start read today):
    # the books still tell its start apart from what it moved.
    back = uid()
    assert treasurer.post(url, json={"id": back, "date": "2025-05-04"}).status_code == 201
    early = treasurer.get(f"/api/v1/cdf/meetings/{back}").json()
    assert (early["cash_in_books"], early["cash_of_meeting"]) == (before, 0)

    closed = treasurer.post(
        f"/api/v1/cdf/meetings/{mine}/close",
        json={"cash_counted": before + 119_000, "note": "thiếu 1.000 đ"},
    )
    assert closed.status_code == 200 and closed.json()["difference"] == -1_000, closed.text
    seen = secretary.get(f"/api/v1/cdf/meetings/{mine}").json()
    assert (seen["status"], seen["cash_counted"], seen["cash_in_ledger"]) == (
        "closed",
        before + 119_000,
        before + 120_000,
    )
    assert seen["cash_in_books"] == before + 119_000  # the difference is posted

    # The secretary's record typed after the close: refused, never posted there.
    late = _saving(second_member, 20_000)
    refused = secretary.post(f"/api/v1/cdf/meetings/{mine}/records", json={"records": [late]})
    assert refused.json()["results"][0]["outcome"] == "conflict", refused.text
    assert refused.json()["results"][0]["error"]["code"] == "cdf_meeting_closed"
    # Into a new meeting of the day with the same id: posted once; resends are duplicates.
    evening = uid()
    assert secretary.post(url, json={"id": evening, "date": day}).json()["outcome"] == "created"
    for attempt in range(2):
        sent = secretary.post(f"/api/v1/cdf/meetings/{evening}/records", json={"records": [late]})
        assert sent.json()["results"][0]["outcome"] == ("created", "duplicate")[attempt], sent.text
    again = secretary.post(f"/api/v1/cdf/meetings/{mine}/records", json={"records": [late]})
    assert again.json()["results"][0]["outcome"] == "duplicate", again.text
    assert secretary.get(f"/api/v1/cdf/meetings/{evening}").json()["record_ids"] == [
        late["client_id"]
    ]
    assert secretary.get(f"/api/v1/cdf/meetings/{mine}").json()["cash_in_books"] == (
        before + 139_000
    )
