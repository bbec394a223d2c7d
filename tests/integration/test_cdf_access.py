"""Who sees and posts what in a CDF's books: a treasurer only their group, planners of another
city nothing, members' names only to those who may see personal fields, and the household a
member is linked to never leaking its answers to anyone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from tests.auth import bearer, make_token, make_user
from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, treasurer, uid

CITY = "cdf-access-town"
ELSEWHERE = "cdf-access-elsewhere"
HEAD = "Bí Mật Chủ Hộ"
PHONE = "0912345678"
MEMBER = "Lê Thị Thành Viên"


@pytest.fixture(scope="module")
def world(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY, "Thành phố Truy Cập")
    make_city(sync_engine, ELSEWHERE)
    survey = uuid.uuid4()
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, ward_id, settlement_id, form_id, "
                "form_version, collected_at, answers, content_hash) VALUES (:id, :city, :ward, "
                ":settlement, 'household', '1', :at, CAST(:answers AS jsonb), 'x')"
            ),
            {
                "id": survey,
                "city": ids["city"],
                "ward": ids["ward"],
                "settlement": ids["settlement"],
                "at": datetime(2026, 1, 1, tzinfo=UTC),
                "answers": orjson.dumps({"head_name": HEAD, "head_phone": PHONE}).decode(),
            },
        )
    tokens = {
        "staff": person(sync_engine, "cdf-acc-staff", [("cdf_staff", ("city", CITY))], CITY),
        "planner": person(sync_engine, "cdf-acc-planner", [("planner", ("city", CITY))], CITY),
        "leader": person(sync_engine, "cdf-acc-leader", [("ward_leader", ("ward", "W1"))], CITY),
        "volunteer": person(sync_engine, "cdf-acc-vol", [("volunteer", ("ward", "W1"))], CITY),
        "stranger": person(
            sync_engine, "cdf-acc-stranger", [("planner", ("city", ELSEWHERE))], ELSEWHERE
        ),
        "stranger_staff": person(
            sync_engine, "cdf-acc-stranger-staff", [("cdf_staff", ("city", ELSEWHERE))], ELSEWHERE
        ),
    }
    with app_client(database_url, tmp_path_factory.mktemp("cdf-access")) as client:
        clients = Clients(client, tokens)
        staff = clients.as_("staff")
        groups = []
        for name, settlement in (("Nhóm Một", ids["settlement"]), ("Nhóm Hai", None)):
            response = staff.post(
                f"/api/v1/cdf/{CITY}/groups",
                json={
                    "name": name,
                    "settlement_id": settlement,
                    "founded_on": "2025-01-01",
                    "meeting_frequency": "monthly",
                    "share_value": 25_000,
                },
            )
            assert response.status_code == 201, response.text
            groups.append(response.json()["id"])
        member = staff.post(
            f"/api/v1/cdf/groups/{groups[0]}/members",
            json={
                "code": "TV-01",
                "name": MEMBER,
                "joined_on": "2025-01-01",
                "household_survey_id": str(survey),
            },
        )
        assert member.status_code == 201, member.text
        tokens["treasurer"] = treasurer(sync_engine, "cdf-acc-treasurer", ids["city"], groups[0])
        yield {
            "clients": clients,
            "groups": groups,
            "member": member.json()["id"],
            "survey": str(survey),
        }
    drop_cities(sync_engine, CITY, ELSEWHERE)


def _leaks(response: Any) -> bool:
    return HEAD in response.text or PHONE in response.text


def test_a_treasurer_sees_and_posts_only_their_group(world: dict[str, Any]) -> None:
    mine, theirs = world["groups"]
    caller = world["clients"].as_("treasurer")
    listing = caller.get(f"/api/v1/cdf/{CITY}/groups").json()
    assert [g["id"] for g in listing["groups"]] == [mine]
    statement = caller.get(f"/api/v1/cdf/groups/{mine}")
    assert statement.status_code == 200
    assert statement.json()["members"][0]["name"] == MEMBER  # their own members' names
    assert caller.get(f"/api/v1/cdf/groups/{theirs}").status_code == 404
    saved = caller.post(
        f"/api/v1/cdf/groups/{mine}/transactions",
        json={
            "client_id": uid(),
            "kind": "savings",
            "amount": 75_000,
            "member_id": world["member"],
            "date": "2025-02-01",
        },
    )
    assert saved.status_code == 201, saved.text
    elsewhere = caller.post(
        f"/api/v1/cdf/groups/{theirs}/transactions",
        json={"client_id": uid(), "kind": "fine", "amount": 5_000, "date": "2025-02-01"},
    )
    assert elsewhere.status_code == 404
    # Not the fund's staff: no groups, products or capital, no city report.
    new_group = caller.post(
        f"/api/v1/cdf/{CITY}/groups",
        json={
            "name": "X",
            "founded_on": "2025-01-01",
            "meeting_frequency": "weekly",
            "share_value": 20_000,
        },
    )
    assert new_group.status_code == 403
    assert caller.get(f"/api/v1/cdf/{CITY}/report").status_code == 404
    assert caller.get("/api/v1/cdf/national/report").json()["cities"] == []
    # A member's card shows the link to a household, never its answers.
    assert not _leaks(statement)


def test_members_names_follow_the_personal_field_rules(world: dict[str, Any]) -> None:
    mine = world["groups"][0]
    for who, sees_names in (("staff", True), ("leader", True), ("planner", False)):
        response = world["clients"].as_(who).get(f"/api/v1/cdf/groups/{mine}")
        assert response.status_code == 200, (who, response.text)
        member = response.json()["members"][0]
        assert member["household_linked"] is True
        assert ("name" in member) is sees_names, who
        assert ("household_survey_id" in member) is sees_names, who
        assert (MEMBER in response.text) is sees_names, who
        assert not _leaks(response), who


def test_other_cities_and_other_wards_see_nothing(world: dict[str, Any]) -> None:
    mine, theirs = world["groups"]
    for who in ("stranger", "stranger_staff"):
        caller = world["clients"].as_(who)
        assert caller.get(f"/api/v1/cdf/{CITY}/groups").status_code == 404
        assert caller.get(f"/api/v1/cdf/groups/{mine}").status_code == 404
        assert caller.get(f"/api/v1/cdf/{CITY}/report").status_code == 404
        assert caller.get(f"/api/v1/cdf/{CITY}/loans").status_code == 404
        posted = caller.post(
            f"/api/v1/cdf/groups/{mine}/transactions",
            json={"client_id": uid(), "kind": "fine", "amount": 5_000, "date": "2025-02-01"},
        )
        assert posted.status_code == 404
        assert all(
            c["city"] != CITY for c in caller.get("/api/v1/cdf/national/report").json()["cities"]
        )
    # A volunteer of the ward sees the city exists, but no group's books.
    volunteer = world["clients"].as_("volunteer")
    assert volunteer.get(f"/api/v1/cdf/{CITY}/groups").json()["groups"] == []
    assert volunteer.get(f"/api/v1/cdf/groups/{mine}").status_code == 404
    # The ward's leader sees the group of their ward's settlement, not the one without.
    leader = world["clients"].as_("leader")
    assert [g["id"] for g in leader.get(f"/api/v1/cdf/{CITY}/groups").json()["groups"]] == [mine]
    assert leader.get(f"/api/v1/cdf/groups/{theirs}").status_code == 404


def test_a_member_links_only_to_a_survey_of_the_same_city(world: dict[str, Any]) -> None:
    staff = world["clients"].as_("stranger_staff")
    group = staff.post(
        f"/api/v1/cdf/{ELSEWHERE}/groups",
        json={
            "name": "Nhóm xa",
            "founded_on": "2025-01-01",
            "meeting_frequency": "weekly",
            "share_value": 20_000,
        },
    ).json()["id"]
    linked = staff.post(
        f"/api/v1/cdf/groups/{group}/members",
        json={
            "code": "X1",
            "name": "Người xa",
            "joined_on": "2025-01-01",
            "household_survey_id": world["survey"],
        },
    )
    assert linked.status_code == 404
    assert not _leaks(linked)


def test_me_shows_the_treasurers_group(world: dict[str, Any]) -> None:
    me = world["clients"].as_("treasurer").get("/api/v1/me").json()
    assert me["roles"] == [
        {
            "role": "treasurer",
            "city": CITY,
            "city_id": me["roles"][0]["city_id"],
            "ward_id": None,
            "cdf_group_id": world["groups"][0],
        }
    ]


def test_staff_appoint_and_remove_a_treasurer(world: dict[str, Any], sync_engine: Engine) -> None:
    mine = world["groups"][0]
    newcomer = make_user(sync_engine, "cdf-acc-newcomer", [])
    token = make_token(sync_engine, newcomer)
    clients = world["clients"]
    clients.tokens["newcomer"] = token
    assert clients.as_("newcomer").get(f"/api/v1/cdf/groups/{mine}").status_code == 404
    body = {"user_id": newcomer}
    for who, status in (("planner", 403), ("treasurer", 403), ("stranger_staff", 404)):
        response = clients.as_(who).post(f"/api/v1/cdf/groups/{mine}/treasurers", json=body)
        assert response.status_code == status, (who, response.text)
    appointed = clients.as_("staff").post(f"/api/v1/cdf/groups/{mine}/treasurers", json=body)
    assert appointed.status_code == 201, appointed.text
    assert "cdf-acc-newcomer" in {t["username"] for t in appointed.json()["treasurers"]}
    again = clients.as_("staff").post(f"/api/v1/cdf/groups/{mine}/treasurers", json=body)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    nobody = clients.as_("staff").post(
        f"/api/v1/cdf/groups/{mine}/treasurers", json={"user_id": 2_000_000_000}
    )
    assert nobody.status_code == 404
    assert clients.as_("newcomer").get(f"/api/v1/cdf/groups/{mine}").status_code == 200
    removed = clients.client.delete(
        f"/api/v1/cdf/groups/{mine}/treasurers/{newcomer}", headers=bearer(clients.tokens["staff"])
    )
    assert removed.status_code == 204
    assert clients.as_("newcomer").get(f"/api/v1/cdf/groups/{mine}").status_code == 404
    with sync_engine.connect() as connection:
        actions = (
            connection.execute(
                text(
                    "SELECT action FROM audit_log WHERE entity = 'user' "
                    "AND entity_id = :id ORDER BY id"
                ),
                {"id": str(newcomer)},
            )
            .scalars()
            .all()
        )
    assert actions == ["role.grant", "role.revoke"]


def _user_id(engine: Engine, username: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT id FROM users WHERE username = :u"), {"u": username}
            ).scalar_one()
        )


def test_staff_appoint_only_people_of_their_city(
    world: dict[str, Any], sync_engine: Engine
) -> None:
    """A person of another city, a national admin, or a person without roles whose surveys
    are in another city is no one staff can appoint (404, nothing of them in the answer).
    Before, any active id was made treasurer: the person's every role was then in this city,
    so its admin could set their password and sign in as them, and read the surveys (names
    included) they had collected elsewhere; the answer listed their username too."""
    mine = world["groups"][0]
    clients = world["clients"]
    elsewhere = make_city(sync_engine, ELSEWHERE)
    national = make_user(sync_engine, "cdf-acc-national", [("national_admin", None)])
    former = make_user(sync_engine, "cdf-acc-former", [])  # no role left; surveyed elsewhere
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO household_surveys (id, city_id, ward_id, form_id, form_version, "
                "collected_at, answers, content_hash, collector_user_id) VALUES (:id, :city, "
                ":ward, 'household', '1', now(), '{}', 'x', :user)"
            ),
            {
                "id": uuid.uuid4(),
                "city": elsewhere["city"],
                "ward": elsewhere["ward"],
                "user": former,
            },
        )
    outsiders = {
        "cdf-acc-stranger": _user_id(sync_engine, "cdf-acc-stranger"),
        "cdf-acc-national": national,
        "cdf-acc-former": former,
    }
    for username, user_id in outsiders.items():
        response = clients.as_("staff").post(
            f"/api/v1/cdf/groups/{mine}/treasurers", json={"user_id": user_id}
        )
        assert response.status_code == 404, (username, response.text)
        assert username not in response.text
    with sync_engine.connect() as connection:
        granted = connection.execute(
            text(
                "SELECT count(*) FROM role_grants WHERE role = 'treasurer'"
                " AND user_id = ANY(CAST(:ids AS int[]))"
            ),
            {"ids": list(outsiders.values())},
        ).scalar_one()
    assert granted == 0
    # A person of this city is appointed as before.
    local = _user_id(sync_engine, "cdf-acc-vol")
    appointed = clients.as_("staff").post(
        f"/api/v1/cdf/groups/{mine}/treasurers", json={"user_id": local}
    )
    assert appointed.status_code == 201, appointed.text
