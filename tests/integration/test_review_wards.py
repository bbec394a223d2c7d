"""Review where a settlement straddles two wards (boundary files draw them so and
`import-boundaries` takes them): a survey's ward, placed from its point, decides who reviews
and counts it, whatever the ward of its settlement, in bulk as one by one."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.auth import bearer, make_token, make_user
from tests.factories import household_answers, household_survey

CITY = "straddle-town"
URL = "/api/v1/submissions"
# Three wards side by side; settlement S1 (of ward A) reaches into ward B, S2 lies in B.
WARDS = {"A": 105.90, "B": 105.91, "C": 105.92}
SOUTH, NORTH = 21.10, 21.11
S1 = (105.905, 21.102, 105.915, 21.108)
S2 = (105.916, 21.102, 105.919, 21.108)


@pytest.fixture
def town(sync_engine: Engine, clean_surveys: None) -> Iterator[dict[str, Any]]:
    """The city, its wards and settlements, and its people (tokens by role)."""
    with sync_engine.begin() as connection:
        city = connection.execute(
            text(
                f"INSERT INTO cities (slug, name) VALUES ('{CITY}', 'Thị xã Giáp Ranh') "
                "RETURNING id"
            )
        ).scalar_one()
        ids: dict[str, Any] = {"city": city}
        for code, west in WARDS.items():
            ids[code] = connection.execute(
                text(
                    "INSERT INTO wards (city_id, code, name, geom) VALUES (:city, :code, "
                    ":name, ST_Multi(ST_MakeEnvelope(:west, :south, :east, :north, 4326))) "
                    "RETURNING id"
                ),
                {
                    "city": city,
                    "code": code,
                    "name": f"Phường {code}",
                    "west": west,
                    "east": west + 0.01,
                    "south": SOUTH,
                    "north": NORTH,
                },
            ).scalar_one()
        for code, ward, box in (("S1", "A", S1), ("S2", "B", S2)):
            ids[code] = connection.execute(
                text(
                    "INSERT INTO settlements (city_id, ward_id, code, name, geom) VALUES "
                    "(:city, :ward, :code, :name, ST_MakeEnvelope(:w, :s, :e, :n, 4326)) "
                    "RETURNING id"
                ),
                {
                    "city": city,
                    "ward": ids[ward],
                    "code": code,
                    "name": f"Xóm {code}",
                    "w": box[0],
                    "s": box[1],
                    "e": box[2],
                    "n": box[3],
                },
            ).scalar_one()
    roles = {
        "volunteer": [("volunteer", ("city", CITY))],
        "leader_a": [("ward_leader", ("ward", "A"))],
        "leader_b": [("ward_leader", ("ward", "B"))],
        "leader_c": [("ward_leader", ("ward", "C"))],
        "leader_ab": [("ward_leader", ("ward", "A")), ("ward_leader", ("ward", "B"))],
        "city_admin": [("city_admin", ("city", CITY))],
        "planner": [("planner", ("city", CITY))],
    }
    users = {
        name: make_user(sync_engine, f"straddle-{name}", grants, city=CITY)
        for name, grants in roles.items()
    }
    ids["people"] = {name: bearer(make_token(sync_engine, user)) for name, user in users.items()}
    yield ids
    with sync_engine.begin() as connection:
        connection.execute(text("TRUNCATE household_surveys CASCADE"))
        connection.execute(
            text("DELETE FROM users WHERE id = ANY(:ids)"), {"ids": list(users.values())}
        )
        connection.execute(text("DELETE FROM cities WHERE id = :id"), {"id": city})


def survey_at(client: TestClient, town: dict[str, Any], lon: float, name: str, phone: str) -> str:
    """A survey sent by the volunteer at a point of the settlements' middle row."""
    body = household_survey(
        location={"lat": 21.105, "lon": lon, "accuracy_m": 5},
        answers=household_answers(head_name=name, head_phone=phone),
    )
    response = client.post(URL, json=body, headers=town["people"]["volunteer"])
    assert response.status_code == 201, response.text
    return str(body["id"])


@pytest.fixture
def surveys(client: TestClient, town: dict[str, Any], sync_engine: Engine) -> dict[str, str]:
    """In S1: one survey in ward A, two in ward B; one in S2 (ward B)."""
    ids = {
        "a1": survey_at(client, town, 105.907, "Nguyễn Thị An", "0905000100"),
        "b1": survey_at(client, town, 105.912, "Trần Văn Bảo", "0905000101"),
        "b2": survey_at(client, town, 105.914, "Lê Thị Cúc", "0905000102"),
        "s2": survey_at(client, town, 105.917, "Phạm Văn Dũng", "0905000103"),
    }
    with sync_engine.connect() as connection:
        placed = dict(
            connection.execute(
                text(
                    "SELECT h.id::text, w.code || '/' || s.code FROM household_surveys h "
                    "JOIN wards w ON w.id = h.ward_id JOIN settlements s ON s.id = h.settlement_id"
                )
            ).all()
        )
        flags = connection.execute(text("SELECT DISTINCT flags FROM household_surveys")).all()
    assert {key: placed[value] for key, value in ids.items()} == {
        "a1": "A/S1",
        "b1": "B/S1",
        "b2": "B/S1",
        "s2": "B/S2",
    }
    assert flags == [([],)]
    return ids


def statuses(client: TestClient, town: dict[str, Any]) -> dict[str, str]:
    items = client.get("/api/v1/me/surveys", headers=town["people"]["volunteer"]).json()["items"]
    return {item["id"]: item["status"] for item in items}


def bulk(client: TestClient, town: dict[str, Any], who: str, settlement: str, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/settlements/{town[settlement]}/review", json=body, headers=town["people"][who]
    )


def counted(client: TestClient, town: dict[str, Any], who: str, ward: str) -> dict[str, int]:
    answer = client.get(f"/api/v1/wards/{town[ward]}/review-counts", headers=town["people"][who])
    assert answer.status_code == 200, answer.text
    return {s["code"]: s["received"] for s in answer.json()["settlements"]}


def test_a_ward_leader_counts_and_approves_only_their_wards_surveys(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str]
) -> None:
    people = town["people"]
    # Reading one survey: ward B's survey in ward A's settlement is not leader A's.
    assert client.get(f"{URL}/{surveys['b1']}", headers=people["leader_a"]).status_code == 404
    assert client.get(f"{URL}/{surveys['b1']}", headers=people["leader_b"]).status_code == 200
    # The counts follow the same rule: each ward's own surveys, S1 on both wards' pages.
    assert counted(client, town, "leader_a", "A") == {"S1": 1}
    assert counted(client, town, "leader_b", "B") == {"S1": 2, "S2": 1}
    assert counted(client, town, "city_admin", "A") == {"S1": 1}
    # No survey of ward C in S1 and S1 not in C: it does not exist for C's leader.
    assert bulk(client, town, "leader_c", "S1").status_code == 404
    assert bulk(client, town, "planner", "S1").status_code == 403

    approved_by_a = bulk(client, town, "leader_a", "S1")
    assert approved_by_a.status_code == 200, approved_by_a.text
    assert approved_by_a.json()["approved"] == 1
    assert statuses(client, town) == {
        surveys["a1"]: "approved",
        surveys["b1"]: "received",
        surveys["b2"]: "received",
        surveys["s2"]: "received",
    }
    approved_by_b = bulk(client, town, "leader_b", "S1")
    assert approved_by_b.status_code == 200, approved_by_b.text
    assert approved_by_b.json()["approved"] == 2
    assert statuses(client, town)[surveys["s2"]] == "received"  # S2 was not asked
    history = client.get(f"{URL}/{surveys['b1']}/history", headers=people["leader_b"]).json()
    [decision] = [c for c in history["changes"] if c["action"] == "survey.review"]
    assert decision["actor"] == "straddle-leader_b" and decision["new"]["bulk"] is True
    # Nothing left: still a settlement of theirs, nothing approved; C's leader still 404.
    again = bulk(client, town, "leader_b", "S1")
    assert again.status_code == 200 and again.json()["approved"] == 0
    assert bulk(client, town, "leader_a", "S1").json()["approved"] == 0
    assert bulk(client, town, "leader_c", "S1").status_code == 404
    # S2 lies in ward B only: A's leader does not see it.
    assert bulk(client, town, "leader_a", "S2").status_code == 404
    assert counted(client, town, "leader_b", "B") == {"S1": 0, "S2": 1}


def test_the_review_page_approves_what_it_counts_for_its_ward(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str]
) -> None:
    """The page of ward B lists S1 with B's surveys; its button sends the ward, so that a
    city admin or a leader of both wards approves on B's page what B's page counted."""
    on_b = bulk(client, town, "city_admin", "S1", ward_id=town["B"], only_unflagged=True)
    assert on_b.status_code == 200, on_b.text
    assert on_b.json()["approved"] == 2
    assert statuses(client, town)[surveys["a1"]] == "received"
    on_a = bulk(client, town, "leader_ab", "S1", ward_id=town["A"])
    assert on_a.status_code == 200 and on_a.json()["approved"] == 1
    # A ward the reviewer may not review does not exist for them; a wrong value is refused.
    assert bulk(client, town, "leader_a", "S1", ward_id=town["B"]).status_code == 404
    assert bulk(client, town, "leader_a", "S1", ward_id=99_999_999).status_code == 404
    for junk in ("1", True, 0, -3, 1.5, 2**63):
        refused = bulk(client, town, "leader_a", "S1", ward_id=junk)
        assert refused.status_code == 422, (junk, refused.text)
        assert refused.json()["errors"][0]["field"] == "ward_id"


def decide(client: TestClient, town: dict[str, Any], who: str, survey_id: str, **body: Any) -> Any:
    return client.post(f"{URL}/{survey_id}/review", json=body, headers=town["people"][who])


def reviews(client: TestClient, town: dict[str, Any], survey_id: str) -> list[dict[str, Any]]:
    history = client.get(f"{URL}/{survey_id}/history", headers=town["people"]["city_admin"])
    assert history.status_code == 200, history.text
    return [c for c in history.json()["changes"] if c["action"] == "survey.review"]


def test_a_decision_on_a_survey_decided_meanwhile_is_refused(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str], sync_engine: Engine
) -> None:
    """Both read version 1 waiting; the city admin rejects it, then the ward leader's
    approval (a decision changes no version) overwrote the rejection and the invented
    household was counted. The leader is told, and nothing changes."""
    sid = surveys["a1"]
    rejected = decide(
        client,
        town,
        "city_admin",
        sid,
        decision="rejected",
        comment="invented household",
        version=1,
    )
    assert rejected.status_code == 200, rejected.text
    for language, words in (
        ("vi", "(bạn xem: Chờ duyệt; nay: Bị từ chối)"),
        ("en", "(you saw: Waiting for review; now: Rejected)"),
    ):
        refused = client.post(
            f"{URL}/{sid}/review?lang={language}",
            json={"decision": "approved", "version": 1},
            headers=town["people"]["leader_a"],
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "review_status_changed"
        assert words in refused.json()["detail"] and sid in refused.json()["detail"]
    # As the leader was shown it (waiting), named or not; without a version, as before, the
    # decision is on whatever the survey is.
    named = decide(client, town, "leader_a", sid, decision="approved", version=1, status="received")
    assert named.status_code == 409 and named.json()["code"] == "review_status_changed"
    assert statuses(client, town)[sid] == "rejected"
    assert [(c["actor"], c["new"]["status"]) for c in reviews(client, town, sid)] == [
        ("straddle-city_admin", "rejected")
    ]
    # The same decision again changes nothing, by whoever (a retry after a lost answer).
    again = decide(
        client,
        town,
        "leader_a",
        sid,
        decision="rejected",
        comment="invented household",
        version=1,
    )
    assert again.status_code == 200, again.text
    assert len(reviews(client, town, sid)) == 1
    # Shown the survey as it is now, the leader changes the decision.
    changed = decide(
        client, town, "leader_a", sid, decision="approved", version=1, status="rejected"
    )
    assert changed.status_code == 200, changed.text
    assert statuses(client, town)[sid] == "approved"
    # And the admin's view (rejected) is stale in turn.
    stale = decide(
        client,
        town,
        "city_admin",
        sid,
        decision="needs_correction",
        comment="Xem lại",
        version=1,
        status="rejected",
    )
    assert stale.status_code == 409 and stale.json()["code"] == "review_status_changed"
    assert statuses(client, town)[sid] == "approved"
    with sync_engine.connect() as connection:
        version = connection.execute(
            text("SELECT version FROM household_surveys WHERE id = :id"), {"id": sid}
        ).scalar_one()
    assert version == 1  # a decision is no new version of the survey's content


@pytest.mark.parametrize("status", ["waiting", "", 1, True, ["received"], {"status": "x"}])
def test_a_status_seen_that_is_no_status_is_a_422_naming_it(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str], status: Any
) -> None:
    refused = decide(client, town, "leader_a", surveys["a1"], decision="approved", status=status)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["errors"]
    assert (problem["field"], problem["code"]) == ("status", "invalid_status")
    assert statuses(client, town)[surveys["a1"]] == "received"


def print_text(client: TestClient, town: dict[str, Any], who: str, surveys: str) -> str:
    response = client.get(
        f"/maps/settlements/{town['S1']}.pdf?surveys={surveys}&lang=en",
        headers=town["people"][who],
    )
    assert response.status_code == 200, response.text
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=response.content,
        capture_output=True,
        check=True,
    ).stdout.decode()


def household_rows(pdf: str) -> list[str]:
    """The numbered rows of a print's household table (`3 Handwritten ...  26 Nov 2026`)."""
    day = r"\d{1,2} [A-Z][a-z]{2} \d{4}"  # the print's language (English here) writes the day
    return [line for line in pdf.splitlines() if re.match(rf"\s*\d+ .*{day}\s*$", line)]


def test_a_settlement_print_of_all_surveys_holds_only_the_readers_unreviewed_ones(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str]
) -> None:
    """S1 reaches into ward B: on A's leader's print with `surveys=all`, the households still
    waiting for review are A's alone (B's are not theirs to read: 404 one by one). Before,
    the table listed B's two waiting households too, with their points and answers."""
    assert (
        client.get(f"{URL}/{surveys['b1']}", headers=town["people"]["leader_a"]).status_code == 404
    )
    assert len(household_rows(print_text(client, town, "leader_a", "all"))) == 1
    assert len(household_rows(print_text(client, town, "city_admin", "all"))) == 3
    # Approved, a household of another ward is on the print (no name), as before.
    assert bulk(client, town, "leader_b", "S1").json()["approved"] == 2
    assert len(household_rows(print_text(client, town, "leader_a", "all"))) == 3
    assert len(household_rows(print_text(client, town, "leader_a", "approved"))) == 2


def test_counts_of_all_surveys_hold_only_the_readers_unreviewed_ones(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str]
) -> None:
    """`?surveys=all` on the city, ward and settlement lists counts the surveys still waiting
    for review only where the reader may read them (as the indicators do); elsewhere only the
    approved. Before, a volunteer, another ward's leader or CDF staff counted every waiting
    survey of the city."""
    people = town["people"]

    def counts(who: str) -> tuple[int, dict[str, int], dict[str, int]]:
        headers = people[who]
        cities = client.get("/api/v1/cities?surveys=all", headers=headers).json()
        wards = client.get(f"/api/v1/cities/{CITY}/wards?surveys=all", headers=headers).json()
        settlements = client.get(
            f"/api/v1/wards/{town['A']}/settlements?surveys=all", headers=headers
        ).json()
        (city,) = [c["households"] for c in cities if c["slug"] == CITY]
        return (
            city,
            {w["code"]: w["households"] for w in wards},
            {s["code"]: s["households"] for s in settlements},
        )

    # Waiting: a1 (A, S1), b1 and b2 (B, S1), s2 (B, S2).
    assert counts("planner") == (4, {"A": 1, "B": 3, "C": 0}, {"S1": 3})
    assert counts("leader_a") == (1, {"A": 1, "B": 0, "C": 0}, {"S1": 1})
    assert counts("leader_b") == (3, {"A": 0, "B": 3, "C": 0}, {"S1": 2})
    assert counts("leader_c") == (0, {"A": 0, "B": 0, "C": 0}, {"S1": 0})
    assert counts("volunteer") == (0, {"A": 0, "B": 0, "C": 0}, {"S1": 0})
    # Approved, they count for everyone.
    assert bulk(client, town, "leader_b", "S1").json()["approved"] == 2
    assert counts("leader_c") == (2, {"A": 0, "B": 2, "C": 0}, {"S1": 2})
    assert counts("leader_a") == (3, {"A": 1, "B": 2, "C": 0}, {"S1": 3})


def test_ward_indicators_of_all_surveys_count_only_the_readers_unreviewed_ones(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str]
) -> None:
    """A ward's indicators with `surveys=all` also sum its city (totals, ranks) and its
    settlements reaching into other wards: there the surveys still waiting for review count
    only where the reader may read them. Before, ward C's leader read the city's four waiting
    households (shares, collection time) through `city_totals`, and A's leader B's two in S1,
    while both got 404 on each of those surveys."""
    people = town["people"]

    def report(who: str, ward: str) -> dict[str, Any]:
        answer = client.get(
            f"/api/v1/wards/{town[ward]}/indicators?surveys=all", headers=people[who]
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def figures(who: str, ward: str) -> tuple[int, int, dict[str, int]]:
        found = report(who, ward)
        return (
            found["totals"]["households"],
            found["city_totals"]["households"],
            {s["code"]: s["households"] for s in found["settlements"]},
        )

    def exported(who: str, ward: str) -> dict[str, tuple[int, int | None]]:
        answer = client.get(
            f"/api/v1/export/settlements.geojson?city={CITY}&ward={town[ward]}&surveys=all",
            headers=people[who],
        )
        assert answer.status_code == 200, answer.text
        return {
            f["properties"]["code"]: (
                f["properties"]["households"],
                f["properties"]["rank_in_city"],
            )
            for f in answer.json()["features"]
        }

    # Waiting: a1 (A, S1), b1 and b2 (B, S1), s2 (B, S2).
    assert client.get(f"{URL}/{surveys['a1']}", headers=people["leader_c"]).status_code == 404
    empty = report("leader_c", "C")["city_totals"]
    assert (empty["households"], empty["last_collected_at"]) == (0, None)
    assert set(empty["shares"].values()) == {None}
    assert figures("leader_a", "A") == (1, 1, {"S1": 1})
    assert figures("leader_b", "B") == (3, 3, {"S2": 1})
    assert figures("leader_ab", "A") == (1, 4, {"S1": 3})
    # The city's readers still count every waiting survey of the city.
    assert figures("planner", "A") == (1, 4, {"S1": 3})
    assert figures("planner", "C") == (0, 4, {})
    # The export of a ward's settlements counts and ranks them the same way.
    assert exported("leader_a", "A") == {"S1": (1, 1)}
    assert exported("planner", "A") == {"S1": (3, 1)}
    # Approved, they count for everyone.
    assert bulk(client, town, "leader_b", "S1").json()["approved"] == 2
    assert figures("leader_c", "C") == (0, 2, {})
    assert figures("leader_a", "A") == (1, 3, {"S1": 3})


def test_print_figures_of_all_surveys_count_only_the_readers_unreviewed_ones(
    client: TestClient, town: dict[str, Any], surveys: dict[str, str]
) -> None:
    """S1's figures on the settlement print and its row on ward A's print, with
    `surveys=all`: B's two waiting households in S1 count for the city's readers, not for A's
    leader (as the print's table of households). Before, both prints counted three."""

    def settlement_households(who: str) -> int:
        found = re.search(r"Households surveyed\s+(\d+)", print_text(client, town, who, "all"))
        assert found is not None
        return int(found.group(1))

    def ward_households(who: str) -> int:
        response = client.get(
            f"/maps/wards/{town['A']}.pdf?surveys=all&lang=en", headers=town["people"][who]
        )
        assert response.status_code == 200, response.text
        text_of = subprocess.run(
            ["pdftotext", "-layout", "-", "-"],
            input=response.content,
            capture_output=True,
            check=True,
        ).stdout.decode()
        found = re.search(r"Xóm S1\s+(\d+)", text_of)
        assert found is not None, text_of
        return int(found.group(1))

    assert (settlement_households("leader_a"), ward_households("leader_a")) == (1, 1)
    assert (settlement_households("city_admin"), ward_households("city_admin")) == (3, 3)
