"""CDF staff (cán bộ quỹ CDF) granted like the other city roles: by a city admin for their own
city only (on the admin page, through the roles API, on the command line), with hostile names
about; the person granted then does the staff's work in that city and nothing elsewhere
(maker-checker still holds), and loses it when the role is revoked."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import Engine, text

from app.settings import REPO_ROOT
from tests import hostile
from tests.auth import bearer, make_token, make_user
from tests.cdf_support import app_client, drop_cities, make_city, uid

CITY = "cdf-grant-town"
ELSEWHERE = "cdf-grant-elsewhere"
CITY_NAME = hostile.TEMPLATE_CODE
STAFF_NAME = hostile.HTML_TITLE + " " + hostile.UNICODE
GROUP_NAME = hostile.HTML_ATTRIBUTE + " {{ 7*7 }}"
CONFIG = re.compile(r'<script type="application/json" id="admin-config">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def town(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY, CITY_NAME)
    elsewhere = make_city(sync_engine, ELSEWHERE, hostile.HTML_SCRIPT)
    admin = make_user(sync_engine, "cdf-grant-admin", [("city_admin", ("city", CITY))], city=CITY)
    other_staff = make_user(
        sync_engine, "cdf-grant-checker", [("cdf_staff", ("city", CITY))], city=CITY
    )
    with app_client(database_url, tmp_path_factory.mktemp("cdf-grant")) as client:
        yield {
            "client": client,
            "ids": ids,
            "elsewhere": elsewhere,
            "admin": bearer(make_token(sync_engine, admin)),
            "admin_session": make_token(sync_engine, admin, kind="session"),
            "checker": bearer(make_token(sync_engine, other_staff)),
        }
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "DELETE FROM role_grants WHERE user_id IN (SELECT id FROM users "
                "WHERE username LIKE 'cdf-grant-%')"
            )
        )
    drop_cities(sync_engine, CITY, ELSEWHERE)


def _new_person(town: dict[str, Any], username: str) -> int:
    made = town["client"].post(
        "/api/v1/users",
        json={"username": username, "display_name": STAFF_NAME, "password": "mật-khẩu-dài"},
        headers=town["admin"],
    )
    assert made.status_code == 201, made.text
    assert made.json()["display_name"] == STAFF_NAME
    return int(made.json()["id"])


def _group(client: Any, headers: dict[str, str], city: str, settlement: int | None) -> Any:
    return client.post(
        f"/api/v1/cdf/{city}/groups",
        json={
            "name": GROUP_NAME,
            "settlement_id": settlement,
            "founded_on": "2025-01-01",
            "meeting_frequency": "monthly",
            "share_value": 20_000,
        },
        headers=headers,
    )


def test_a_city_admin_grants_cdf_staff_in_their_city_only(
    town: dict[str, Any], sync_engine: Engine
) -> None:
    client, admin = town["client"], town["admin"]
    person = _new_person(town, "cdf-grant-staff")
    url = f"/api/v1/users/{person}/roles"
    for language, words in (("vi", "Không có thành phố"), ("en", "There is no city")):
        elsewhere = client.post(
            url,
            json={"role": "cdf_staff", "city": ELSEWHERE},
            headers={**admin, "Accept-Language": language},
        )
        assert elsewhere.status_code == 404, elsewhere.text
        assert elsewhere.json()["code"] == "unknown_city" and words in elsewhere.json()["detail"]
        assert hostile.HTML_SCRIPT not in elsewhere.text  # the other city's name is not told
        on_a_ward = client.post(
            url,
            json={"role": "cdf_staff", "city": CITY, "ward_id": town["ids"]["ward"]},
            headers={**admin, "Accept-Language": language},
        )
        assert on_a_ward.status_code == 422, on_a_ward.text
        assert [e["code"] for e in on_a_ward.json()["errors"]] == ["role_is_city_wide"]
    granted = client.post(url, json={"role": "cdf_staff", "city": CITY}, headers=admin)
    assert granted.status_code == 201, granted.text
    assert granted.json()["role"] == "cdf_staff"
    assert granted.json()["city_id"] == town["ids"]["city"]
    again = client.post(url, json={"role": "cdf_staff", "city": CITY}, headers=admin)
    assert again.status_code == 200 and again.json()["id"] == granted.json()["id"]

    listed = {p["id"]: p for p in client.get("/api/v1/users", headers=admin).json()}
    assert listed[person]["display_name"] == STAFF_NAME
    assert [(g["role"], g["city"]) for g in listed[person]["grants"]] == [("cdf_staff", CITY)]
    with sync_engine.connect() as connection:
        action = connection.execute(
            text(
                "SELECT action FROM audit_log WHERE entity = 'user' AND entity_id = :id "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"id": str(person)},
        ).scalar_one()
    assert action == "role.grant"


def test_the_admin_page_offers_cdf_staff_in_words(town: dict[str, Any]) -> None:
    client = town["client"]
    for language, words in (("vi", "Cán bộ quỹ CDF"), ("en", "CDF staff")):
        client.cookies.set("cdfmap_session", town["admin_session"])
        page = client.get(f"/admin?lang={language}")
        client.cookies.clear()
        assert page.status_code == 200
        found = CONFIG.search(page.text)
        assert found is not None
        config = json.loads(found.group(1))
        assert "cdf_staff" in config["assignable"] and "national_admin" not in config["assignable"]
        assert "treasurer" not in config["assignable"]  # appointed on a group by CDF staff
        assert config["roles"]["cdf_staff"] == words
        assert [c["name"] for c in config["cities"]] == [CITY_NAME]  # as data, never template
        assert CITY_NAME not in page.text.replace(str(escape(CITY_NAME)), "")
        assert "uid=" not in page.text


def test_the_granted_person_does_staff_work_in_their_city_and_nothing_elsewhere(
    town: dict[str, Any], sync_engine: Engine
) -> None:
    client, admin = town["client"], town["admin"]
    person = _new_person(town, "cdf-grant-worker")
    grant = client.post(
        f"/api/v1/users/{person}/roles", json={"role": "cdf_staff", "city": CITY}, headers=admin
    )
    assert grant.status_code == 201, grant.text
    staff = bearer(make_token(sync_engine, person))

    group = _group(client, staff, CITY, town["ids"]["settlement"])
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    assert group.json()["name"] == GROUP_NAME
    member = client.post(
        f"/api/v1/cdf/groups/{group_id}/members",
        json={"code": "TV-01", "name": STAFF_NAME, "joined_on": "2025-01-01"},
        headers=staff,
    )
    assert member.status_code == 201, member.text
    product = client.post(
        f"/api/v1/cdf/{CITY}/products",
        json={
            "code": "SX",
            "name": GROUP_NAME,
            "kind": "income",
            "rate_bp": 100,
            "rate_period": "month",
            "term_installments": 6,
            "frequency": "monthly",
            "method": "flat",
        },
        headers=staff,
    )
    assert product.status_code == 201, product.text
    capital = client.post(
        f"/api/v1/cdf/{CITY}/capital",
        json={
            "client_id": uid(),
            "source": "seed_grant",
            "amount": 50_000_000,
            "date": "2025-01-02",
        },
        headers=staff,
    )
    assert capital.status_code == 201, capital.text

    def apply(headers: dict[str, str]) -> int:
        applied = client.post(
            f"/api/v1/cdf/{CITY}/loans",
            json={
                "client_id": uid(),
                "group_id": group_id,
                "member_id": member.json()["id"],
                "product_id": product.json()["id"],
                "principal": 3_000_000,
                "date": "2025-02-01",
            },
            headers=headers,
        )
        assert applied.status_code == 201, applied.text
        return int(applied.json()["loan"]["id"])

    # Maker-checker: what they recorded, someone else approves; what another recorded, they do.
    own = apply(staff)
    refused = client.post(
        f"/api/v1/cdf/loans/{own}/decision", json={"decision": "approved"}, headers=staff
    )
    assert refused.status_code == 403 and refused.json()["code"] == "cdf_maker_checker"
    checked = client.post(
        f"/api/v1/cdf/loans/{own}/decision",
        json={"decision": "approved", "date": "2025-02-02"},
        headers=town["checker"],
    )
    assert checked.status_code == 200, checked.text
    theirs = apply(town["checker"])
    approved = client.post(
        f"/api/v1/cdf/loans/{theirs}/decision",
        json={"decision": "approved", "date": "2025-02-02"},
        headers=staff,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["loan"]["approved_by"] == person

    report = client.get(f"/cdf/{CITY}", headers=staff)
    assert report.status_code == 200
    assert GROUP_NAME not in report.text and str(escape(GROUP_NAME)) in report.text
    assert "{{ 7*7 }}" in html.unescape(report.text) and ">49<" not in report.text

    # Nothing outside their city: the other city does not exist for them; no people, no surveys.
    assert _group(client, staff, ELSEWHERE, None).status_code == 404
    assert client.get(f"/api/v1/cdf/{ELSEWHERE}/report", headers=staff).status_code == 404
    assert client.get(f"/api/v1/cdf/{ELSEWHERE}/groups", headers=staff).status_code == 404
    assert client.get("/api/v1/users", headers=staff).status_code == 403
    assert client.get(f"/cdf/{ELSEWHERE}", headers=staff).status_code == 403
    assert client.get("/cdf/national", headers=staff).status_code == 403
    grant_someone = client.post(
        f"/api/v1/users/{person}/roles", json={"role": "cdf_staff", "city": CITY}, headers=staff
    )
    assert grant_someone.status_code in (403, 404)

    # Revoked: the city's books are gone for them at once (this process forgets its cache).
    revoked = client.delete(f"/api/v1/users/{person}/roles/{grant.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    assert _group(client, staff, CITY, None).status_code == 404
    assert client.get(f"/api/v1/cdf/{CITY}/report", headers=staff).status_code == 404
    listed = {p["id"]: p for p in client.get("/api/v1/users", headers=admin).json()}
    assert person not in listed or listed[person]["grants"] == []


def test_the_command_line_grants_cdf_staff(
    town: dict[str, Any], database_url: str, sync_engine: Engine
) -> None:

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
        )

    make_user(sync_engine, "cdf-grant-cli")
    done = cli("user", "grant", "cdf-grant-cli", "cdf_staff", "--city", CITY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cdf-grant-cli is cdf_staff on {CITY}"
    listed = cli("user", "list")
    assert f"cdf-grant-cli: cdf_staff@{CITY};" in listed.stdout
    on_a_ward = cli(
        "user", "grant", "cdf-grant-cli", "cdf_staff", "--city", CITY, "--ward-code", "W1"
    )
    assert on_a_ward.returncode != 0 and "Traceback" not in on_a_ward.stderr
    helped = cli("user", "grant", "--help")
    assert "cdf_staff" in helped.stdout
