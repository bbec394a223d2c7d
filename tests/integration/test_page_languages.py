"""The language a person chose stays with them: through signing in and out, the language
switch (which keeps the page's other parameters), the map pages (Accept-Language like every
other page), refusals a browser sees (a page, not JSON), sizes and counts in words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from app.services.auth import hash_password
from app.settings import Settings
from tests.auth import make_token, make_user

SESSION_COOKIE = "cdfmap_session"
PASSWORD = "a long enough password"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HTML_LANG = re.compile(r'<html lang="(\w+)"')


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app with nobody signed in (each test brings its own cookie)."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def person(sync_engine: Engine) -> dict[str, Any]:
    """A volunteer of one ward of the sample city who signs in with a password."""
    user_id = make_user(
        sync_engine,
        "lang-volunteer",
        [("volunteer", ("ward", "W03"))],
        password_hash=hash_password(PASSWORD),
    )
    with sync_engine.connect() as connection:
        ward = connection.execute(
            text(
                "SELECT w.id, w.name FROM wards w JOIN cities c ON c.id = w.city_id "
                "WHERE c.slug = 'tam-ky' AND w.code = 'W03'"
            )
        ).one()
    return {
        "id": user_id,
        "username": "lang-volunteer",
        "session": make_token(sync_engine, user_id, kind="session"),
        "ward_id": ward.id,
        "ward_name": ward.name,
    }


def _signed_in(client: TestClient, session: str) -> TestClient:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, session)
    return client


def _html_lang(body: str) -> str:
    found = HTML_LANG.search(body)
    assert found is not None, body[:300]
    return found.group(1)


# --- 1. signing in and out keeps the language -------------------------------------------


def test_signing_in_in_english_lands_on_an_english_page(
    app_client: TestClient, person: dict[str, Any]
) -> None:
    form = {"username": person["username"], "password": PASSWORD, "next": "/"}
    response = app_client.post("/login?lang=en", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/?lang=en"
    home = app_client.get(response.headers["location"])
    assert _html_lang(home.text) == "en"
    # A page asked for in Vietnamese, the form then switched to English: English wins.
    asked = {**form, "next": "/progress/tam-ky?ward=3&lang=vi"}
    response = app_client.post("/login?lang=en", data=asked, follow_redirects=False)
    assert response.headers["location"] == "/progress/tam-ky?ward=3&lang=en"
    # Without a ?lang=, the page asked for is left as it is.
    response = app_client.post("/login", data=asked, follow_redirects=False)
    assert response.headers["location"] == "/progress/tam-ky?ward=3&lang=vi"


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/x\r\nSet-Cookie:"]
)
def test_the_page_after_signing_in_stays_on_this_site(
    app_client: TestClient, person: dict[str, Any], target: str
) -> None:
    form = {"username": person["username"], "password": PASSWORD, "next": target}
    response = app_client.post("/login?lang=en", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/?lang=en"
    signed_in = _signed_in(app_client, person["session"])
    again = signed_in.get("/login", params={"next": target, "lang": "en"}, follow_redirects=False)
    assert again.headers["location"] == "/?lang=en"


def test_the_sign_in_page_of_a_signed_in_person_keeps_the_language(
    app_client: TestClient, person: dict[str, Any]
) -> None:
    client = _signed_in(app_client, person["session"])
    response = client.get("/login?lang=en&next=/maps/national", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/maps/national?lang=en"


def test_signing_out_in_english_goes_to_the_english_sign_in_page(
    app_client: TestClient, person: dict[str, Any]
) -> None:
    client = _signed_in(app_client, person["session"])
    home = client.get("/?lang=en")
    # The sign-out button posts in the page's language.
    assert 'action="/logout?lang=en"' in home.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None
    response = client.post(
        "/logout?lang=en", data={"csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?lang=en"
    assert _html_lang(client.get(response.headers["location"]).text) == "en"


def test_links_of_the_pages_carry_the_language(
    app_client: TestClient, person: dict[str, Any]
) -> None:
    app_client.cookies.clear()
    home = app_client.get("/?lang=en").text
    assert 'class="brand" href="/?lang=en"' in home
    assert 'class="button" href="/login?lang=en"' in home
    national = app_client.get("/maps/national?lang=en").text
    assert 'href="/login?next=/maps/national&amp;lang=en"' in national


def test_the_language_switch_keeps_the_pages_other_parameters(
    app_client: TestClient, person: dict[str, Any]
) -> None:
    app_client.cookies.clear()
    page = app_client.get("/login?next=/progress/tam-ky%3Fward%3D3&lang=en").text
    switch = re.search(r'<a href="([^"]*)">Tiếng Việt</a>', page)
    assert switch is not None
    assert switch.group(1) == "?next=%2Fprogress%2Ftam-ky%3Fward%3D3&amp;lang=vi"
    client = _signed_in(app_client, person["session"])
    progress = client.get("/?surveys=all&lang=vi").text
    switch = re.search(r'<a href="([^"]*)">English</a>', progress)
    assert switch is not None and switch.group(1) == "?surveys=all&amp;lang=en"


# --- 2. the map pages follow Accept-Language ---------------------------------------------


def test_the_map_pages_follow_accept_language(client: TestClient, sync_engine: Engine) -> None:
    with sync_engine.connect() as connection:
        ward_id = connection.execute(text("SELECT min(id) FROM wards")).scalar_one()
    for url in ("/maps/cities/tam-ky", f"/maps/wards/{ward_id}"):
        english = client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert english.status_code == 200, english.text[:300]
        assert _html_lang(english.text) == "en", url
        assert _html_lang(client.get(url).text) == "vi"
        # ?lang= wins over the header, as everywhere.
        asked = client.get(url + "?lang=vi", headers={"Accept-Language": "en"})
        assert _html_lang(asked.text) == "vi"


# --- 3. and 8. refusals in the request's language, as a page for a browser --------------


def test_a_body_too_large_is_said_in_the_asked_language_in_megabytes(
    anonymous: TestClient,
) -> None:
    body = b"x" * (3 * 1024 * 1024)  # the default limit is 2 MB
    headers = {"Content-Type": "application/json"}
    refused = anonymous.post("/api/v1/users?lang=en", content=body, headers=headers)
    assert refused.status_code == 413
    assert refused.json() == {
        "code": "body_too_large",
        "detail": "The request body is too large (at most 2 MB).",
        "errors": [],
    }
    vietnamese = anonymous.post("/api/v1/users", content=body, headers=headers)
    assert vietnamese.json()["detail"] == "Dữ liệu gửi lên quá lớn (tối đa 2 MB)."
    # A browser's form: a page, in its language, with the same status.
    page = anonymous.post("/login?lang=en", content=body, headers={"Accept": BROWSER})
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert _html_lang(page.text) == "en" and "at most 2 MB" in page.text


def test_a_browser_gets_a_page_for_an_unknown_address_or_method(
    anonymous: TestClient,
) -> None:
    for headers, language, words in (
        ({"Accept": BROWSER}, "vi", "Không có trang hay địa chỉ API nào ở đường dẫn này."),
        ({"Accept": BROWSER, "Accept-Language": "en"}, "en", "There is no page or API address"),
    ):
        missing = anonymous.get("/nope", headers=headers)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert _html_lang(missing.text) == language and words in missing.text
        assert f'href="/?lang={language}"' in missing.text
    english = anonymous.get("/nope?lang=en", headers={"Accept": BROWSER})
    assert _html_lang(english.text) == "en"
    refused = anonymous.put("/login?lang=en", headers={"Accept": BROWSER})
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, POST"
    assert "does not take PUT requests" in refused.text and _html_lang(refused.text) == "en"
    # Machine clients keep the JSON shape, whatever they accept.
    for path in ("/api/v1/nope", "/odk/nope", "/ogc/nope", "/tiles/nope"):
        answer = anonymous.get(path, headers={"Accept": BROWSER})
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "http_404", path
    assert anonymous.get("/nope").json()["code"] == "http_404"  # fetch(): */*


def test_a_sign_out_form_without_its_csrf_token_gets_a_page(
    app_client: TestClient, person: dict[str, Any]
) -> None:
    client = _signed_in(app_client, person["session"])
    refused = client.post(
        "/logout?lang=en",
        data={"csrf_token": "wrong"},
        headers={"Accept": BROWSER},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert _html_lang(refused.text) == "en"
    api = client.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert api.status_code == 403 and api.json()["code"] == "csrf_failed"


# --- 5. the start page names the ward of every role --------------------------------------


def test_the_start_page_names_a_volunteers_ward(
    app_client: TestClient, person: dict[str, Any]
) -> None:
    client = _signed_in(app_client, person["session"])
    roles = re.search(r'<ul class="roles">(.*?)</ul>', client.get("/").text, re.S)
    assert roles is not None
    assert f"Tình nguyện viên · Tam Kỳ · {person['ward_name']}</li>" in roles.group(1)
    assert f"· {person['ward_id']}</li>" not in roles.group(1)


# --- 7. one city, several cities ---------------------------------------------------------


def test_one_city_is_singular_in_english(client: TestClient) -> None:
    from app.i18n import translate

    one = translate("page.national_subtitle", "en", cities=1, households="5", date="x")
    assert one.startswith("1 city ·")
    assert translate("page.national_subtitle", "en", cities=2, households="5", date="x").startswith(
        "2 cities ·"
    )
    assert translate("page.national_subtitle", "vi", cities=1, households="5", date="x").startswith(
        "1 thành phố ·"
    )
    page = client.get("/maps/national?lang=en").text
    count = re.search(r'id="national-subtitle">(\d+) (cit\w+) ·', page)
    assert count is not None
    assert count.group(2) == ("city" if count.group(1) == "1" else "cities")
