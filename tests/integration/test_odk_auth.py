"""ODK Collect's credentials: HTTP Digest with a phone token (the client side computed here,
as Collect's HTTP client does), Basic with the account's password or a phone token (HTTPS or
this machine only), and the 401 challenges Collect understands."""

from __future__ import annotations

import base64
import statistics
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.services.auth import hash_password
from app.services.odk_auth import NONCE_SECONDS, REALM
from app.settings import Settings
from tests.auth import make_user
from tests.odk import DigestClient, household_xml, multipart

PASSWORD = "mật khẩu dài 2026"


@pytest.fixture
def collector(client: TestClient, sync_engine: Engine) -> dict[str, Any]:
    """A volunteer with a password and a phone set up in digest mode."""
    user_id = make_user(
        sync_engine,
        "odk-digest",
        [("volunteer", ("ward", "W03"))],
        password_hash=hash_password(PASSWORD),
    )
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures WHERE username = 'odk-digest'"))
    response = client.post("/api/v1/odk/setup", json={"user_id": user_id, "mode": "digest"})
    assert response.status_code == 201, response.text
    setup = response.json()
    assert setup["server_url"] == "http://testserver/odk"
    assert setup["username"] == "odk-digest"
    return {"id": user_id, **setup}


def no_auth(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    """A request without the fixture's bearer token."""
    headers = {"Authorization": "", **kwargs.pop("headers", {})}
    return client.request(method, path, headers=headers, **kwargs)


def challenges(response: Any) -> list[str]:
    return response.headers.get_list("www-authenticate")


def test_no_credentials_get_a_digest_challenge(client: TestClient) -> None:
    response = no_auth(client, "GET", "/odk/formList")
    assert response.status_code == 401
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    found = challenges(response)
    digest = next(c for c in found if c.startswith("Digest "))
    assert f'realm="{REALM}"' in digest and 'qop="auth"' in digest and "nonce=" in digest
    assert "algorithm=MD5" in digest
    head = no_auth(client, "HEAD", "/odk/submission")
    assert head.status_code == 401
    assert any(c.startswith("Digest ") for c in challenges(head))


def test_digest_round_trip_form_list_and_submission(
    client: TestClient, collector: dict[str, Any]
) -> None:
    phone = DigestClient(collector["username"], collector["password"])
    first = no_auth(client, "GET", "/odk/formList?deviceID=collect:1")
    phone.take_challenge(next(c for c in challenges(first) if c.startswith("Digest ")))
    uri = "/odk/formList?deviceID=collect:1"
    listed = no_auth(client, "GET", uri, headers={"Authorization": phone.authorization("GET", uri)})
    assert listed.status_code == 200, listed.text
    assert b"<formID>household</formID>" in listed.content
    # The same nonce goes on with nc counting up, as Collect does.
    head = no_auth(
        client,
        "HEAD",
        "/odk/submission",
        headers={"Authorization": phone.authorization("HEAD", "/odk/submission")},
    )
    assert head.status_code == 204
    survey_id = uuid.uuid4()
    body, content_type = multipart(household_xml(f"uuid:{survey_id}"))
    sent = no_auth(
        client,
        "POST",
        "/odk/submission",
        content=body,
        headers={
            "Content-Type": content_type,
            "Authorization": phone.authorization("POST", "/odk/submission"),
        },
    )
    assert sent.status_code == 201, sent.text
    record = client.get(f"/api/v1/submissions/{survey_id}").json()
    assert record["collector"] == "odk-digest"


def test_digest_refusals(client: TestClient, collector: dict[str, Any]) -> None:
    first = no_auth(client, "GET", "/odk/formList")
    challenge = next(c for c in challenges(first) if c.startswith("Digest "))
    wrong = DigestClient(collector["username"], "not the token")
    wrong.take_challenge(challenge)
    header = wrong.authorization("GET", "/odk/formList")
    refused = no_auth(client, "GET", "/odk/formList", headers={"Authorization": header})
    assert refused.status_code == 401
    assert any(c.startswith("Digest ") for c in challenges(refused))
    # The account's password is no Digest password (the server keeps no HA1 of it).
    password = DigestClient(collector["username"], PASSWORD)
    password.take_challenge(challenge)
    header = password.authorization("GET", "/odk/formList")
    assert (
        no_auth(client, "GET", "/odk/formList", headers={"Authorization": header}).status_code
        == 401
    )
    # A replayed answer, and an answer for another path.
    right = DigestClient(collector["username"], collector["password"])
    right.take_challenge(challenge)
    header = right.authorization("GET", "/odk/formList")
    assert (
        no_auth(client, "GET", "/odk/formList", headers={"Authorization": header}).status_code
        == 200
    )
    assert (
        no_auth(client, "GET", "/odk/formList", headers={"Authorization": header}).status_code
        == 401
    )
    other = right.authorization("GET", "/odk/formList")
    assert (
        no_auth(client, "HEAD", "/odk/submission", headers={"Authorization": other}).status_code
        == 401
    )
    # A nonce we never made.
    forged = DigestClient(collector["username"], collector["password"])
    forged.take_challenge(challenge.replace('nonce="', 'nonce="0'))
    header = forged.authorization("GET", "/odk/formList")
    assert (
        no_auth(client, "GET", "/odk/formList", headers={"Authorization": header}).status_code
        == 401
    )
    # Garbage.
    hostile = (
        'Digest username="odk-digest", realm="CDF map", nonce="ữ.ữ", uri="/odk/formList", '
        'qop=auth, nc=00000001, cnonce="ữ", response="Phường Hòa Thuận Đông"'
    )
    for junk in ("Digest", "Digest username=", "Digest " + "a=" * 3000, hostile, "Basic ữ"):
        response = no_auth(client, "GET", "/odk/formList", headers={"Authorization": junk.encode()})
        assert response.status_code == 401


def test_an_expired_nonce_is_stale(client: TestClient, collector: dict[str, Any]) -> None:
    checker = client.app.state.odk_auth  # type: ignore[attr-defined]
    old = checker.nonce(time.time() - NONCE_SECONDS - 5)
    phone = DigestClient(collector["username"], collector["password"])
    phone.take_challenge(f'Digest realm="{REALM}", qop="auth", nonce="{old}"')
    header = phone.authorization("GET", "/odk/formList")
    response = no_auth(client, "GET", "/odk/formList", headers={"Authorization": header})
    assert response.status_code == 401
    digest = next(c for c in challenges(response) if c.startswith("Digest "))
    assert "stale=true" in digest
    phone.take_challenge(digest)
    header = phone.authorization("GET", "/odk/formList")
    assert (
        no_auth(client, "GET", "/odk/formList", headers={"Authorization": header}).status_code
        == 200
    )


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_basic_with_the_password_or_the_phone_token(
    client: TestClient, collector: dict[str, Any]
) -> None:
    for password in (PASSWORD, collector["password"]):
        response = no_auth(
            client, "GET", "/odk/formList", headers={"Authorization": basic("odk-digest", password)}
        )
        assert response.status_code == 200, password
    wrong = no_auth(
        client, "GET", "/odk/formList", headers={"Authorization": basic("odk-digest", "nope")}
    )
    assert wrong.status_code == 401
    assert any(c.startswith("Basic ") for c in challenges(wrong))  # the test client is local


def test_basic_is_refused_over_plain_http_from_elsewhere(
    settings: Settings, collector: dict[str, Any]
) -> None:
    header = {"Authorization": basic("odk-digest", PASSWORD)}
    remote = ("203.0.113.7", 50000)
    with TestClient(create_app(settings), client=remote) as plain:
        response = plain.get("/odk/formList", headers=header)
        assert response.status_code == 401
        assert all(not c.startswith("Basic ") for c in challenges(response))
    https = "https://testserver"
    with TestClient(create_app(settings), base_url=https, client=remote) as secure:
        assert secure.get("/odk/formList", headers=header).status_code == 200


def openrosa_text(response: Any) -> str:
    found = ET.fromstring(response.content).find("{http://openrosa.org/http/response}message")
    assert found is not None
    return found.text or ""


def test_basic_over_plain_http_is_told_to_use_https_not_a_wrong_password(
    settings: Settings, collector: dict[str, Any]
) -> None:
    # The right password over plain HTTP behind a proxy was answered "Sai tên đăng nhập hoặc
    # mật khẩu"; through a proxy on this machine (uvicorn without --proxy-headers) it was
    # taken as a local request, the password having crossed the network in clear.
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
    header = {"Authorization": basic("odk-digest", PASSWORD), **forwarded}
    remote = ("203.0.113.9", 50000)  # uvicorn --proxy-headers: the phone's address
    for client in (remote, ("127.0.0.1", 50000)):  # the proxy's, without --proxy-headers
        with TestClient(create_app(settings), client=client) as plain:
            for language in ("vi", "en"):
                response = plain.get(
                    "/odk/formList", headers={**header, "Accept-Language": language}
                )
                assert response.status_code == 401, (client, response.text)
                assert response.headers["X-OpenRosa-Version"] == "1.0"
                found = challenges(response)
                assert found and all(c.startswith("Digest ") for c in found)
                text_ = openrosa_text(response)
                assert "HTTPS" in text_ and "Digest" in text_, text_
                assert "Sai" not in text_ and "Wrong" not in text_
    assert openrosa_text(response).startswith("Basic sign-in")
    # HTTPS said by a proxy on this machine: Basic is taken.
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as proxied:
        secure = {**header, "X-Forwarded-Proto": "https"}
        assert proxied.get("/odk/formList", headers=secure).status_code == 200
        wrong = {**secure, "Authorization": basic("odk-digest", "nope")}
        assert "Sai tên đăng nhập" in openrosa_text(proxied.get("/odk/formList", headers=wrong))


def digest_get(client: TestClient, username: str, token: str, uri: str) -> Any:
    """GET `uri` as Collect does with Digest: challenged first, then answered."""
    phone = DigestClient(username, token)
    first = no_auth(client, "GET", uri)
    phone.take_challenge(next(c for c in challenges(first) if c.startswith("Digest ")))
    return no_auth(client, "GET", uri, headers={"Authorization": phone.authorization("GET", uri)})


def test_a_revoked_phone_token_stops_digest_and_basic_at_once(
    client: TestClient, collector: dict[str, Any]
) -> None:
    """Revoked by the API, refused by the next request: Collect's own cache of people and
    their phone tokens is dropped with the app's (found by review: it lived on for the cache
    time, 10 s, in the very process that revoked the phone)."""
    basic_token = {"Authorization": basic("odk-digest", collector["password"])}
    token = collector["password"]
    assert digest_get(client, "odk-digest", token, "/odk/formList").status_code == 200
    assert no_auth(client, "GET", "/odk/formList", headers=basic_token).status_code == 200
    assert client.delete(f"/api/v1/devices/{collector['token_id']}").status_code == 204
    assert digest_get(client, "odk-digest", token, "/odk/formList").status_code == 401
    assert no_auth(client, "GET", "/odk/formList", headers=basic_token).status_code == 401


def test_a_disabled_person_or_an_old_password_is_refused_at_once(
    client: TestClient, collector: dict[str, Any]
) -> None:
    old = {"Authorization": basic("odk-digest", PASSWORD)}
    assert no_auth(client, "GET", "/odk/formList", headers=old).status_code == 200
    changed = client.patch(
        f"/api/v1/users/{collector['id']}", json={"password": "một mật khẩu mới 2027"}
    )
    assert changed.status_code == 200, changed.text
    assert no_auth(client, "GET", "/odk/formList", headers=old).status_code == 401
    new = {"Authorization": basic("odk-digest", "một mật khẩu mới 2027")}
    assert no_auth(client, "GET", "/odk/formList", headers=new).status_code == 200
    disabled = client.patch(f"/api/v1/users/{collector['id']}", json={"is_active": False})
    assert disabled.status_code == 200, disabled.text
    assert no_auth(client, "GET", "/odk/formList", headers=new).status_code == 401
    body, content_type = multipart(household_xml())
    sent = no_auth(
        client,
        "POST",
        "/odk/submission",
        content=body,
        headers={"Content-Type": content_type, **new},
    )
    assert sent.status_code == 401


def test_digest_with_the_name_typed_with_a_capital(
    client: TestClient, collector: dict[str, Any]
) -> None:
    """Collect hashes the name as typed; the account is found whatever its case."""
    for typed in ("Odk-Digest", "ODK-DIGEST"):
        response = digest_get(client, typed, collector["password"], "/odk/formList")
        assert response.status_code == 200, typed


def test_basic_failures_are_throttled(client: TestClient, collector: dict[str, Any]) -> None:
    for _ in range(5):
        no_auth(client, "GET", "/odk/formList", headers={"Authorization": basic("odk-digest", "x")})
    right = no_auth(
        client, "GET", "/odk/formList", headers={"Authorization": basic("odk-digest", PASSWORD)}
    )
    assert right.status_code == 401  # the account waits out the window, as at sign-in


def odk_failures(sync_engine: Engine, username: str) -> int:
    with sync_engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM sign_in_failures WHERE username = :u"), {"u": username}
            ).scalar_one()
        )


def test_basic_with_an_unknown_name_costs_what_a_known_one_costs(
    settings: Settings, sync_engine: Engine, collector: dict[str, Any]
) -> None:
    """An unknown name was refused before argon2 (~23 ms, a known one's wrong password
    ~223 ms): the time of a 401 told which names have an account."""
    unknown = f"odk-nobody-{uuid.uuid4().hex[:6]}"
    roomy = settings.model_copy(update={"max_sign_in_failures_per_account": 100})
    times: dict[str, list[float]] = {"odk-digest": [], unknown: []}
    with TestClient(create_app(roomy)) as phone:
        for _ in range(5):
            for username, taken in times.items():
                started = time.perf_counter()
                response = phone.get(
                    "/odk/formList", headers={"Authorization": basic(username, "x")}
                )
                taken.append(time.perf_counter() - started)
                assert response.status_code == 401 and challenges(response), username
    assert statistics.median(times[unknown]) > statistics.median(times["odk-digest"]) / 3, times
    assert odk_failures(sync_engine, unknown) == odk_failures(sync_engine, "odk-digest") == 5


def test_basic_failures_of_an_unknown_name_are_throttled_like_sign_in(
    client: TestClient, sync_engine: Engine
) -> None:
    unknown = f"odk-nobody-{uuid.uuid4().hex[:6]}"
    for _ in range(5):
        wrong = no_auth(
            client, "GET", "/odk/formList", headers={"Authorization": basic(unknown, "x")}
        )
        assert wrong.status_code == 401
    assert odk_failures(sync_engine, unknown) == 5
    # The same throttle as the sign-in form's: the name is closed there too.
    form = client.post("/api/v1/auth/token", data={"username": unknown, "password": "y"})
    assert form.status_code == 429


def test_a_nul_in_the_name_is_a_challenge_not_a_bad_query(
    client: TestClient, collector: dict[str, Any]
) -> None:
    """A NUL in a Basic name was `422 bad_query` (PostgreSQL takes no NUL in a text)."""
    phone = DigestClient("odk\x00digest", collector["password"])
    first = no_auth(client, "GET", "/odk/formList")
    phone.take_challenge(next(c for c in challenges(first) if c.startswith("Digest ")))
    for header in (
        basic("odk\x00digest", PASSWORD),
        basic("odk-digest\x00", PASSWORD),
        phone.authorization("GET", "/odk/formList"),
    ):
        response = no_auth(client, "GET", "/odk/formList", headers={"Authorization": header})
        assert response.status_code == 401, (header, response.text)
        assert any(c.startswith("Digest ") for c in challenges(response))
