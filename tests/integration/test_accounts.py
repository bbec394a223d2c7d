"""Accounts against a real PostGIS: sign-in, tokens that expire and are revoked, throttling,
phone enrolment, web sessions with CSRF, and a server that refuses to start without a key."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.db.engine import SERVER_SETTINGS, make_engine
from app.db.pool import StatementPool
from app.main import create_app
from app.services import accounts
from app.services.auth import Authenticator, AuthPolicy, hash_password
from app.settings import Settings
from tests import hostile
from tests.aio import run
from tests.auth import bearer, make_token, make_user, token_hash, ward_id
from tests.cdf_support import drop_cities, make_city
from tests.factories import household_survey

PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def fresh(settings: Settings, sync_engine: Engine) -> Iterator[TestClient]:
    """An app with a token cache of 0 s (every request reads the token's state), nobody
    signed in, and no sign-in failures on record."""
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures"))
    quick = settings.model_copy(update={"token_cache_seconds": 0})
    with TestClient(create_app(quick)) as client:
        yield client


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return {"status": response.status_code, "body": response.json(), "headers": response.headers}


def test_password_sign_in_gives_a_bearer_token(
    fresh: TestClient, sync_engine: Engine, password_hash: str
) -> None:
    make_user(
        sync_engine, "hoa.nguyen", [("volunteer", ("city", "tam-ky"))], password_hash=password_hash
    )
    answer = sign_in(fresh, "Hoa.Nguyen ")  # usernames are case-insensitive
    assert answer["status"] == 200, answer
    body = answer["body"]
    assert body["token_type"] == "bearer" and 23 * 3600 < body["expires_in"] <= 24 * 3600
    assert answer["headers"]["cache-control"] == "no-store"
    me = fresh.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "hoa.nguyen"
    assert me.json()["roles"][0]["role"] == "volunteer"
    assert me.json()["roles"][0]["city"] == "tam-ky"
    with sync_engine.connect() as connection:
        stored = connection.execute(
            text("SELECT token_hash FROM auth_tokens WHERE token_hash = :h"),
            {"h": token_hash(body["access_token"])},
        ).scalar()
        assert stored is not None  # only its HMAC is kept
        clear = connection.execute(
            text("SELECT count(*) FROM auth_tokens WHERE encode(token_hash, 'escape') LIKE :t"),
            {"t": f"%{body['access_token']}%"},
        ).scalar_one()
        assert clear == 0


def test_wrong_and_unknown_sign_ins_are_the_same_401(
    fresh: TestClient, sync_engine: Engine, password_hash: str
) -> None:
    make_user(sync_engine, "lan", [], password_hash=password_hash)
    wrong = sign_in(fresh, "lan", "not the password")
    unknown = sign_in(fresh, "nobody-here", "whatever1")
    assert wrong["status"] == unknown["status"] == 401
    assert wrong["body"]["code"] == unknown["body"]["code"] == "bad_credentials"
    assert wrong["headers"]["www-authenticate"].startswith("Bearer")


def test_sign_ins_are_throttled_per_account_and_address(
    fresh: TestClient, sync_engine: Engine, password_hash: str
) -> None:
    make_user(sync_engine, "tuan", [], password_hash=password_hash)
    for _ in range(5):
        assert sign_in(fresh, "tuan", "guess-guess")["status"] == 401
    locked = sign_in(fresh, "tuan")  # even the right password waits now
    assert locked["status"] == 429
    assert int(locked["headers"]["retry-after"]) > 0
    assert locked["body"]["code"] == "too_many_sign_ins"
    # Another account from the same address still works, until the address's limit.
    make_user(sync_engine, "mai", [], password_hash=password_hash)
    assert sign_in(fresh, "mai")["status"] == 200
    for index in range(30):
        sign_in(fresh, f"spray-{index}", "password1")
    assert sign_in(fresh, "mai")["status"] == 429


def test_tokens_expire_and_are_revoked(
    fresh: TestClient, sync_engine: Engine, password_hash: str
) -> None:
    user_id = make_user(sync_engine, "expiring", [("volunteer", ("city", "tam-ky"))])
    old = make_token(sync_engine, user_id, lifetime=timedelta(seconds=-1))
    assert fresh.get("/api/v1/me", headers=bearer(old)).status_code == 401
    live = make_token(sync_engine, user_id)
    assert fresh.get("/api/v1/me", headers=bearer(live)).status_code == 200
    assert fresh.post("/api/v1/auth/logout", headers=bearer(live)).status_code == 204
    assert fresh.get("/api/v1/me", headers=bearer(live)).status_code == 401
    # Disabling a person revokes everything they hold.
    other = make_token(sync_engine, user_id)
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"), {"id": user_id}
        )
    assert fresh.get("/api/v1/me", headers=bearer(other)).status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "bearer " + "x" * 5000, "Token abc"],
)
def test_a_bad_authorization_header_is_401(fresh: TestClient, header: str) -> None:
    response = fresh.get("/api/v1/cities", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "sign_in_required"


def test_anonymous_requests_get_401_with_a_challenge(fresh: TestClient) -> None:
    for path in ("/api/v1/cities", "/api/v1/forms", "/api/v1/submissions", "/api/v1/me"):
        response = fresh.get(path, headers={"accept-language": "vi"})
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "đăng nhập" in response.json()["detail"]
    survey = fresh.post("/api/v1/submissions", json=household_survey())
    assert survey.status_code == 401


def test_signed_out_nobody_learns_which_cities_and_wards_exist(
    fresh: TestClient, sync_engine: Engine
) -> None:
    """An unpublished city's indicators and map answered 401 and 303 (sign in), a missing
    one 404: anyone could list the cities and ward ids. Signed out, both get the same."""
    with sync_engine.connect() as connection:
        ward_id = connection.execute(
            text(
                "SELECT w.id FROM wards w JOIN cities c ON c.id = w.city_id "
                "WHERE c.slug = 'tam-ky' AND NOT c.public_aggregates ORDER BY w.id LIMIT 1"
            )
        ).scalar_one()
    pairs = [
        ("/api/v1/cities/{}/indicators", ("tam-ky", "no-such-city")),
        ("/api/v1/cities/{}/indicators.csv", ("tam-ky", "no-such-city")),
        ("/api/v1/wards/{}/indicators", (ward_id, 987654)),
        ("/maps/cities/{}", ("tam-ky", "no-such-city")),
        ("/maps/wards/{}", (ward_id, 987654)),
    ]
    for pattern, (real, missing) in pairs:
        answers = [
            fresh.get(pattern.format(place), follow_redirects=False) for place in (real, missing)
        ]
        assert answers[0].status_code in (401, 303), (pattern, answers[0].status_code)
        assert [a.status_code for a in answers] == [answers[0].status_code] * 2, pattern
        if answers[0].status_code == 303:
            assert all(a.headers["location"].startswith("/login?next=") for a in answers)


def _enrolment_code(fresh: TestClient, admin_token: str, user_id: int) -> str:
    response = fresh.post(
        f"/api/v1/users/{user_id}/enrolments",
        json={"device_name": "Điện thoại tổ 3"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert "#enrol=" in url and "<svg" in response.json()["qr_svg"]
    return url.split("#enrol=")[1]


def test_a_phone_is_enrolled_once_by_its_code_and_can_be_revoked(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    user_id = make_user(sync_engine, "tnv-enrol", [("volunteer", ("ward", "W03"))])
    code = _enrolment_code(fresh, admin_token, user_id)
    enrolled = fresh.post("/api/v1/auth/enrol", json={"code": code})
    assert enrolled.status_code == 200, enrolled.text
    token = enrolled.json()["access_token"]
    assert enrolled.json()["user"]["username"] == "tnv-enrol"
    assert enrolled.json()["expires_in"] > 20 * 86400  # a phone keeps working for weeks
    assert fresh.get("/api/v1/me", headers=bearer(token)).status_code == 200  # in use
    again = fresh.post("/api/v1/auth/enrol", json={"code": code})
    assert again.status_code == 401 and again.json()["code"] == "bad_enrolment"
    survey = household_survey()
    assert fresh.post("/api/v1/submissions", json=survey, headers=bearer(token)).status_code == 201
    with sync_engine.connect() as connection:
        collector = connection.execute(
            text("SELECT collector_user_id FROM household_surveys WHERE id = :id"),
            {"id": survey["id"]},
        ).scalar_one()
    assert collector == user_id
    devices = fresh.get(f"/api/v1/users/{user_id}/devices", headers=bearer(admin_token)).json()
    assert [d["name"] for d in devices] == ["Điện thoại tổ 3"]
    revoked = fresh.delete(f"/api/v1/devices/{devices[0]['id']}", headers=bearer(admin_token))
    assert revoked.status_code == 204
    assert fresh.get("/api/v1/me", headers=bearer(token)).status_code == 401
    for language, word in (("vi", "điện thoại"), ("en", "phone")):
        bad = fresh.delete(
            "/api/v1/devices/not-a-phone",
            headers={**bearer(admin_token), "Accept-Language": language},
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "invalid_device_id"
        assert word in bad.json()["errors"][0]["message"]  # it said "the survey id"


def test_a_code_sent_again_after_a_lost_answer_enrols_the_phone_once(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    """The answer to an enrolment was lost (the phone's "Thử lại" with the same code): the
    code, used, was refused, and the phone could not sign in though its token existed,
    listed as a phone nobody holds. Sent again while its token was never used, it gets a
    new token, the first one revoked; once a token is used, or after 15 minutes, it is
    refused as before."""
    user_id = make_user(sync_engine, "tnv-lost-answer", [("volunteer", ("ward", "W03"))])
    code = _enrolment_code(fresh, admin_token, user_id)
    lost = _enrol(fresh, code)  # the answer never reached the phone
    retried = _enrol(fresh, code)
    assert retried != lost
    assert fresh.get("/api/v1/me", headers=bearer(lost)).status_code == 401
    assert fresh.get("/api/v1/me", headers=bearer(retried)).status_code == 200
    devices = fresh.get(f"/api/v1/users/{user_id}/devices", headers=bearer(admin_token)).json()
    assert [d["name"] for d in devices if d["revoked_at"] is None] == ["Điện thoại tổ 3"]
    used = fresh.post("/api/v1/auth/enrol", json={"code": code})  # its token is in use now
    assert used.status_code == 401 and used.json()["code"] == "bad_enrolment"
    assert fresh.get("/api/v1/me", headers=bearer(retried)).status_code == 200
    late_code = _enrolment_code(fresh, admin_token, user_id)
    _enrol(fresh, late_code)
    with sync_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE enrolments SET used_at = used_at - interval '16 minutes' "
                "WHERE user_id = :id AND token_id IS NOT NULL AND used_at > now() - "
                "interval '1 minute' AND id = (SELECT id FROM enrolments WHERE user_id = :id "
                "ORDER BY created_at DESC LIMIT 1)"
            ),
            {"id": user_id},
        )
    late = fresh.post("/api/v1/auth/enrol", json={"code": late_code})
    assert late.status_code == 401 and late.json()["code"] == "bad_enrolment"


def test_an_old_code_is_refused_after_disable_enable_and_a_new_password(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    """The reviewer's case: the code made before still enrolled a phone (200)."""
    user_id = make_user(sync_engine, "tnv-reenabled", [("volunteer", ("ward", "W03"))])
    old_code = _enrolment_code(fresh, admin_token, user_id)
    for change in ({"is_active": False}, {"is_active": True}, {"password": "mật-khẩu-mới-1"}):
        answer = fresh.patch(f"/api/v1/users/{user_id}", json=change, headers=bearer(admin_token))
        assert answer.status_code == 200, answer.text
    refused = fresh.post("/api/v1/auth/enrol", json={"code": old_code})
    unknown = fresh.post("/api/v1/auth/enrol", json={"code": "not-a-code-anyone-made"})
    assert refused.status_code == unknown.status_code == 401
    assert refused.json() == unknown.json()  # nothing tells a cancelled code from a wrong one
    new_code = _enrolment_code(fresh, admin_token, user_id)
    assert fresh.post("/api/v1/auth/enrol", json={"code": new_code}).status_code == 200


def _enrol(fresh: TestClient, code: str) -> str:
    enrolled = fresh.post("/api/v1/auth/enrol", json={"code": code})
    assert enrolled.status_code == 200, enrolled.text
    return str(enrolled.json()["access_token"])


@pytest.mark.parametrize("action", ["disabled", "password", "device.revoke"])
def test_disabling_a_new_password_and_a_revoked_phone_cancel_codes_on_record(
    fresh: TestClient, sync_engine: Engine, admin_token: str, action: str
) -> None:
    user_id = make_user(sync_engine, f"tnv-cancel-{action}", [("volunteer", ("ward", "W03"))])
    phone = _enrol(fresh, _enrolment_code(fresh, admin_token, user_id))
    used = fresh.get(f"/api/v1/users/{user_id}/devices", headers=bearer(admin_token)).json()
    codes = [_enrolment_code(fresh, admin_token, user_id) for _ in range(2)]
    admin = bearer(admin_token)
    changes = {
        "disabled": [{"is_active": False}, {"is_active": True}],
        "password": [{"password": "x" * 12}],
    }
    for change in changes.get(action, []):
        answer = fresh.patch(f"/api/v1/users/{user_id}", json=change, headers=admin)
        assert answer.status_code == 200, answer.text
    if action == "device.revoke":
        revoked = fresh.delete(f"/api/v1/devices/{used[0]['id']}", headers=admin)
        assert revoked.status_code == 204
    assert fresh.get("/api/v1/me", headers=bearer(phone)).status_code == 401
    for code in codes:
        refused = fresh.post("/api/v1/auth/enrol", json={"code": code})
        assert refused.status_code == 401 and refused.json()["code"] == "bad_enrolment", action
    with sync_engine.connect() as connection:
        entries = connection.execute(
            text(
                "SELECT actor, old, new FROM audit_log WHERE entity = 'user' "
                "AND entity_id = :id AND action = 'device.enrolment_cancel' ORDER BY id"
            ),
            {"id": str(user_id)},
        ).all()
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM enrolments WHERE user_id = :id "
                "AND used_at IS NULL AND cancelled_at IS NULL"
            ),
            {"id": user_id},
        ).scalar_one()
    # The second code cancelled the first; the change cancelled the second (the used one is
    # not cancelled): each on record by the admin, naming the code and why.
    assert [(actor, new) for actor, _, new in entries] == [
        ("test-admin", {"reason": "new_code"}),
        ("test-admin", {"reason": action}),
    ], entries
    for _, old, _ in entries:
        assert [code["device_name"] for code in old["enrolments"]] == ["Điện thoại tổ 3"]
    assert waiting == 0
    # A code made afterwards enrols a phone as before.
    assert _enrol(fresh, _enrolment_code(fresh, admin_token, user_id))


def test_changes_that_sign_nobody_out_leave_codes_alone(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    user_id = make_user(sync_engine, "tnv-renamed", [("volunteer", ("ward", "W03"))])
    code = _enrolment_code(fresh, admin_token, user_id)
    for change in ({"display_name": "Trần Văn Bình"}, {"is_active": True}):
        answer = fresh.patch(f"/api/v1/users/{user_id}", json=change, headers=bearer(admin_token))
        assert answer.status_code == 200, answer.text
    assert _enrol(fresh, code)


@pytest.mark.parametrize("code", ["", "x" * 500, hostile.TEMPLATE_CODE, "' OR 1=1 --"])
def test_bad_enrolment_codes_are_refused(fresh: TestClient, code: str) -> None:
    response = fresh.post("/api/v1/auth/enrol", json={"code": code})
    assert response.status_code in (401, 422)


def test_the_sign_in_page_sets_a_session_and_returns_to_the_page_asked_for(
    fresh: TestClient, sync_engine: Engine, password_hash: str
) -> None:
    make_user(
        sync_engine, "ward-lead", [("ward_leader", ("ward", "W03"))], password_hash=password_hash
    )
    page = fresh.get("/login", params={"next": "/api/v1/me", "lang": "vi"})
    assert page.status_code == 200 and "Đăng nhập" in page.text
    failed = fresh.post("/login", data={"username": "ward-lead", "password": "nope-nope"})
    assert failed.status_code == 401 and "Sai tên đăng nhập" in failed.text
    response = fresh.post(
        "/login",
        data={"username": "ward-lead", "password": PASSWORD, "next": "/api/v1/me"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/api/v1/me"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert fresh.get("/api/v1/me").json()["username"] == "ward-lead"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_never_sends_you_to_another_site(
    fresh: TestClient, sync_engine: Engine, password_hash: str, target: str
) -> None:
    make_user(sync_engine, "redirected", [], password_hash=password_hash)
    response = fresh.post(
        "/login",
        data={"username": "redirected", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_cookie_writes_need_the_pages_csrf_token(
    fresh: TestClient, sync_engine: Engine, password_hash: str
) -> None:
    make_user(
        sync_engine, "cookie-vol", [("volunteer", ("city", "tam-ky"))], password_hash=password_hash
    )
    fresh.post("/login", data={"username": "cookie-vol", "password": PASSWORD})
    refused = fresh.post("/api/v1/submissions", json=household_survey())
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    page = fresh.get("/")  # the start page of a signed-in person carries the token
    assert page.status_code == 200 and "cookie-vol" in page.text
    form = fresh.get("/login", follow_redirects=False)  # signed in already: no form again
    assert form.status_code == 303
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert token is not None
    accepted = fresh.post(
        "/api/v1/submissions", json=household_survey(), headers={"x-csrf-token": token.group(1)}
    )
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("secret", [None, "", "changeme", "short-secret", "please-change-me" * 4])
def test_the_server_refuses_to_start_without_a_real_secret(
    database_url: str, secret: str | None
) -> None:
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Settings(database_url=database_url, secret_key=secret, demo=False))


def test_demo_mode_makes_and_keeps_its_own_secret(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, secret_key=None, demo=True, var_dir=tmp_path)
    create_app(settings)
    first = (tmp_path / "secret_key").read_text()
    create_app(settings)
    assert (tmp_path / "secret_key").read_text() == first and len(first) >= 32


@pytest.mark.parametrize(
    ("language", "role_name", "books"),
    [("vi", "Cán bộ quỹ CDF", "Sổ sách quỹ CDF"), ("en", "CDF staff", "CDF books")],
)
def test_the_start_page_names_a_cdf_role_and_links_its_books(
    fresh: TestClient,
    sync_engine: Engine,
    password_hash: str,
    language: str,
    role_name: str,
    books: str,
) -> None:
    # The CDF's roles had no name on the start page (a bare "· Tam Kỳ") and no link.
    make_user(
        sync_engine, "home-cdf", [("cdf_staff", ("city", "tam-ky"))], password_hash=password_hash
    )
    fresh.post("/login", data={"username": "home-cdf", "password": PASSWORD})
    page = fresh.get(f"/?lang={language}")
    assert page.status_code == 200
    assert f"<li>{role_name} · " in page.text
    assert f'href="/cdf/tam-ky?lang={language}">{books}: ' in page.text


def test_granting_a_role_held_already_changes_nothing_and_says_so(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    user_id = make_user(sync_engine, "twice-granted")
    url = f"/api/v1/users/{user_id}/roles"
    body = {"role": "volunteer", "city": "tam-ky"}
    first = fresh.post(url, json=body, headers=bearer(admin_token))
    again = fresh.post(url, json=body, headers=bearer(admin_token))
    assert (first.status_code, again.status_code) == (201, 200)  # was 201 with "id": null
    assert again.json() == first.json() and isinstance(first.json()["id"], int)
    with sync_engine.connect() as connection:
        grants = connection.execute(
            text("SELECT count(*) FROM role_grants WHERE user_id = :u"), {"u": user_id}
        ).scalar_one()
    assert grants == 1


def test_a_grant_naming_no_city_slug_is_refused_as_its_schema_says(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    """`city` of a grant is a city's slug: an empty or hostile text is a 422 naming `city`,
    in the request's language, and the schema says so (schemathesis found "" accepted by
    the schema and refused by the server as missing)."""
    user_id = make_user(sync_engine, "cap-quyen-thanh-pho-rong")
    url = f"/api/v1/users/{user_id}/roles"
    schema = fresh.get("/openapi.json").json()
    body = schema["paths"]["/api/v1/users/{user_id}/roles"]["post"]["requestBody"]
    city = body["content"]["application/json"]["schema"]["properties"]["city"]
    assert "pattern" in str(city)
    for bad in ("", " ", "Tam Kỳ", "tam-ky'; DROP TABLE role_grants; --", "x" * 65):
        for language in ("vi", "en"):
            answer = fresh.post(
                url,
                json={"role": "cdf_staff", "city": bad},
                headers={**bearer(admin_token), "Accept-Language": language},
            )
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.json()["errors"][0]["field"] == "city"
    with sync_engine.connect() as connection:
        held = connection.execute(
            text("SELECT count(*) FROM role_grants WHERE user_id = :u"), {"u": user_id}
        ).scalar_one()
    assert held == 0
    granted = fresh.post(
        url, json={"role": "cdf_staff", "city": "tam-ky"}, headers=bearer(admin_token)
    )
    assert granted.status_code == 201, granted.text


def test_a_ward_of_another_city_is_named_and_said_to_be_elsewhere(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    """A city admin giving a ward of another city: no such ward for them, as one that does
    not exist (it answered "Không có thành phố '2'", the other city's inner id, and then named
    the ward: looping over ids listed every city's wards); a national admin naming a city
    and a ward of another is told which is where."""
    other = make_city(sync_engine, "thu-phuong-khac", "Thành phố Khác")
    try:
        admin = bearer(
            make_token(
                sync_engine,
                make_user(sync_engine, "qt-tam-ky-cap-quyen", [("city_admin", ("city", "tam-ky"))]),
            )
        )
        user_id = make_user(sync_engine, "duoc-cap-phuong-khac")
        url = f"/api/v1/users/{user_id}/roles"
        missing = fresh.post(
            url,
            json={"role": "ward_leader", "ward_id": 999_999},
            headers={**admin, "Accept-Language": "en"},
        )
        assert missing.status_code == 404
        for body in (
            {"role": "ward_leader", "ward_id": other["ward"]},
            {"role": "volunteer", "city": "tam-ky", "ward_id": other["ward"]},
        ):
            for language in ("vi", "en"):
                answer = fresh.post(url, json=body, headers={**admin, "Accept-Language": language})
                assert answer.status_code == 404, answer.text
                assert answer.json()["code"] == missing.json()["code"]
                for secret in ("Phường Một", "Thành phố Khác", f"'{other['city']}'"):
                    assert secret not in answer.text
        # A national admin naming one city and a ward of another is told which.
        national = fresh.post(
            f"{url}?lang=vi",
            json={
                "role": "ward_leader",
                "city": "thu-phuong-khac",
                "ward_id": ward_id(sync_engine, "W01"),
            },
            headers={**bearer(admin_token), "Accept-Language": "vi"},
        )
        assert national.status_code == 422
        assert national.json()["errors"][0]["message"] == (
            "Phường/xã 'An Mỹ' không thuộc Thành phố Khác."
        )
        with sync_engine.connect() as connection:
            held = connection.execute(
                text("SELECT count(*) FROM role_grants WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
        assert held == 0
    finally:
        drop_cities(sync_engine, "thu-phuong-khac")


def test_a_person_added_again_after_a_lost_answer_is_the_person_added(
    fresh: TestClient, sync_engine: Engine
) -> None:
    """The admin's page lost the answer to "add a person" and sent it again: the person was
    stored, the resend was a 409 "username taken", and the person, with no role yet, was on
    no list the admin could see (review). The same request from the same admin is the
    person added (200); another name, password or admin, or a person with a role, is 409."""
    admin_id = make_user(sync_engine, "qt-them-lai", [("city_admin", ("city", "tam-ky"))])
    admin = bearer(make_token(sync_engine, admin_id))
    other_admin = bearer(
        make_token(
            sync_engine,
            make_user(sync_engine, "qt-them-lai-2", [("city_admin", ("city", "tam-ky"))]),
        )
    )
    body = {"username": "tnv-them-lai", "display_name": "Trần Thị <b>Lại</b>"}
    first = fresh.post("/api/v1/users", json=body, headers=admin)
    assert first.status_code == 201, first.text
    again = fresh.post("/api/v1/users", json=body, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["outcome"] == "duplicate"
    for headers, sent in (
        (admin, {**body, "display_name": "Người khác"}),
        (admin, {**body, "password": "mật-khẩu-dài-đủ-1"}),
        (other_admin, body),
    ):
        taken = fresh.post("/api/v1/users", json=sent, headers=headers)
        assert taken.status_code == 409 and taken.json()["code"] == "username_taken", sent
    with_password = {
        "username": "tnv-them-lai-mk",
        "display_name": "Lê Văn Mật",
        "password": "x" * 12,
    }
    assert fresh.post("/api/v1/users", json=with_password, headers=admin).status_code == 201
    assert fresh.post("/api/v1/users", json=with_password, headers=admin).status_code == 200
    wrong = fresh.post("/api/v1/users", json={**with_password, "password": "y" * 12}, headers=admin)
    assert wrong.status_code == 409
    granted = fresh.post(
        f"/api/v1/users/{first.json()['id']}/roles",
        json={"role": "volunteer", "ward_id": ward_id(sync_engine, "W03")},
        headers=admin,
    )
    assert granted.status_code == 201, granted.text
    placed = fresh.post("/api/v1/users", json=body, headers=admin)  # a person at work now
    assert placed.status_code == 409
    with sync_engine.connect() as connection:
        people = connection.execute(
            text("SELECT count(*) FROM users WHERE username LIKE 'tnv-them-lai%'")
        ).scalar_one()
    assert people == 2


def test_a_change_sent_again_is_on_record_once(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    """A rename or a disable sent again (a resend, a second tab) wrote a new `user.update`
    entry each time, though nothing changed (review)."""
    user_id = make_user(sync_engine, "tnv-doi-mot-lan", [("volunteer", ("ward", "W03"))])
    url, admin = f"/api/v1/users/{user_id}", bearer(admin_token)
    for change in ({"display_name": "Tên <i>mới</i>"}, {"is_active": False}):
        for _ in range(3):
            answer = fresh.patch(url, json=change, headers=admin)
            assert answer.status_code == 200, answer.text
            assert all(answer.json()[k] == v for k, v in change.items())
    with sync_engine.connect() as connection:
        entries = (
            connection.execute(
                text(
                    "SELECT new FROM audit_log WHERE entity = 'user' AND entity_id = :id "
                    "AND action = 'user.update' ORDER BY id"
                ),
                {"id": str(user_id)},
            )
            .scalars()
            .all()
        )
    assert entries == [{"display_name": "Tên <i>mới</i>"}, {"is_active": False}]


def _on_record(sync_engine: Engine, user_id: int, action: str) -> list[tuple]:
    """The audit log's entries of one kind about a person: (old, new), oldest first."""
    with sync_engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT old, new FROM audit_log WHERE entity = 'user' AND entity_id = :id "
                    "AND action = :action ORDER BY id"
                ),
                {"id": str(user_id), "action": action},
            )
        ]


def test_a_password_sent_again_signs_out_nobody_signed_in_since(
    fresh: TestClient, sync_engine: Engine, admin_token: str, password_hash: str
) -> None:
    """A new password sent again (the admin's answer lost, a retry) after the person had
    signed in with it revoked that sign-in, the phone enrolled since and the code made since,
    and went on record as a second change (review). The password the person has is no
    change: the same answer as the change had, nothing revoked, nothing on record. Another
    password is a change as before."""
    user_id = make_user(
        sync_engine, "tnv-mk-lai", [("volunteer", ("ward", "W03"))], password_hash=password_hash
    )
    url, admin = f"/api/v1/users/{user_id}", bearer(admin_token)
    new = {"password": "mật-khẩu-mới-đủ-dài"}
    first = fresh.patch(url, json=new, headers=admin)
    assert first.status_code == 200, first.text
    signed_in = sign_in(fresh, "tnv-mk-lai", new["password"])
    assert signed_in["status"] == 200, signed_in
    session = bearer(signed_in["body"]["access_token"])
    phone = bearer(_enrol(fresh, _enrolment_code(fresh, admin_token, user_id)))
    code = _enrolment_code(fresh, admin_token, user_id)
    for change in (new, new, {**new, "display_name": "Tên <b>mới</b>"}):
        again = fresh.patch(url, json=change, headers=admin)
        assert again.status_code == 200, again.text
        assert again.json() == {**first.json(), **{k: change[k] for k in change if k != "password"}}
    assert fresh.get("/api/v1/me", headers=session).status_code == 200
    assert fresh.get("/api/v1/me", headers=phone).status_code == 200
    assert [new for _, new in _on_record(sync_engine, user_id, "user.update")] == [
        {"password_hash": "***"},
        {"display_name": "Tên <b>mới</b>"},
    ]
    assert _on_record(sync_engine, user_id, "device.enrolment_cancel") == []
    assert _enrol(fresh, code)  # the code made since still enrols
    other = fresh.patch(url, json={"password": PASSWORD}, headers=admin)  # the one before
    assert other.status_code == 200 and other.json() == again.json()
    assert fresh.get("/api/v1/me", headers=session).status_code == 401
    assert fresh.get("/api/v1/me", headers=phone).status_code == 401
    assert sign_in(fresh, "tnv-mk-lai", PASSWORD)["status"] == 200
    assert len(_on_record(sync_engine, user_id, "user.update")) == 3


def _live_codes(sync_engine: Engine, user_id: int) -> int:
    with sync_engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM enrolments WHERE user_id = :id AND used_at IS NULL "
                    "AND cancelled_at IS NULL AND expires_at > now()"
                ),
                {"id": user_id},
            ).scalar_one()
        )


def test_a_new_enrolment_code_cancels_the_ones_not_yet_used(
    fresh: TestClient, sync_engine: Engine, admin_token: str
) -> None:
    """ "Make a QR code" sent twice (a double tap, a retry after a lost answer) left two live
    codes for the person, each enrolling a phone (review). A new code cancels the person's
    codes not yet used, on record; a code already used keeps its retry within 15 minutes
    (the phone that lost its answer), and the phones enrolled keep working."""
    user_id = make_user(sync_engine, "tnv-ma-moi", [("volunteer", ("ward", "W03"))])
    first = _enrolment_code(fresh, admin_token, user_id)
    second = _enrolment_code(fresh, admin_token, user_id)  # the resend
    assert _live_codes(sync_engine, user_id) == 1
    refused = fresh.post("/api/v1/auth/enrol", json={"code": first})
    unknown = fresh.post("/api/v1/auth/enrol", json={"code": "not-a-code-anyone-made"})
    assert refused.status_code == 401 and refused.json() == unknown.json()
    lost = _enrol(fresh, second)  # its answer never reached the phone
    third = _enrolment_code(fresh, admin_token, user_id)  # another phone, meanwhile
    retried = _enrol(fresh, second)  # the phone's "Thử lại"
    assert fresh.get("/api/v1/me", headers=bearer(lost)).status_code == 401
    assert fresh.get("/api/v1/me", headers=bearer(retried)).status_code == 200
    other_phone = _enrol(fresh, third)
    assert fresh.get("/api/v1/me", headers=bearer(retried)).status_code == 200
    assert fresh.get("/api/v1/me", headers=bearer(other_phone)).status_code == 200
    cancelled = _on_record(sync_engine, user_id, "device.enrolment_cancel")
    assert [new for _, new in cancelled] == [{"reason": "new_code"}]
    assert [code["device_name"] for code in cancelled[0][0]["enrolments"]] == ["Điện thoại tổ 3"]
    assert _live_codes(sync_engine, user_id) == 0


async def _codes_at_once(settings: Settings, user_id: int, how_many: int) -> None:
    engine = make_engine(settings.async_database_url, how_many, 0)
    auth = Authenticator(
        StatementPool(settings.libpq_database_url, 2, dict(SERVER_SETTINGS)),
        os.environ["SECRET_KEY"].encode(),
        AuthPolicy(),
    )
    try:
        await asyncio.gather(
            *(accounts.enrolment(engine, auth, None, user_id, "máy") for _ in range(how_many))
        )
    finally:
        auth.close()
        await auth.pool.close()
        await engine.dispose()


def test_enrolment_codes_asked_at_once_leave_one_live(
    settings: Settings, sync_engine: Engine
) -> None:
    """Two requests for a code at once (a retry that overtook the first) each found no
    earlier code to cancel: the code is made in the transaction that locks the person."""
    user_id = make_user(sync_engine, "tnv-ma-cung-luc", [("volunteer", ("ward", "W03"))])
    run(_codes_at_once(settings, user_id, 4))
    assert _live_codes(sync_engine, user_id) == 1
