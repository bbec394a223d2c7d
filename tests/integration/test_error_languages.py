"""Every answer a person can cause is in their language: values refused by a route's rules,
unknown paths and methods, bodies that are not text; no English from the libraries underneath."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

# pydantic's and Starlette's own words.
ENGLISH = re.compile(r"Input should|String should|should match|pattern|Not Found|Not Allowed")


def _errors(response: Any) -> dict[str, tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
    return {e["field"]: (e["code"], e["message"]) for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("url", "field", "code", "vi", "en"),
    [
        ("/maps/wards/0", "ward_id", "at_least", "Phải từ 1 trở lên.", "Must be 1 or more."),
        ("/maps/wards/1.pdf?size=A9", "size", "not_one_of", "Chọn một trong: A4, A3.", "A4, A3."),
        ("/maps/wards/1?lang=xx", "lang", "not_one_of", "Chọn một trong: vi, en.", "vi, en."),
        ("/api/v1/submissions?limit=0", "limit", "at_least", "từ 1 trở lên", "1 or more"),
        (
            "/api/v1/submissions?status=bogus",
            "status",
            "not_one_of",
            "received, approved, needs_correction, rejected",
            "received, approved, needs_correction, rejected",
        ),
        ("/api/v1/cities/Tam%20Ky/indicators", "slug", "invalid_slug", "chữ thường", "lowercase"),
    ],
)
def test_refused_parameters_are_named_in_the_requests_language(
    client: TestClient, url: str, field: str, code: str, vi: str, en: str
) -> None:
    for header, expected in (("vi", vi), ("en", en), ("en;q=0.1, vi;q=0.9", vi)):
        errors = _errors(client.get(url, headers={"Accept-Language": header}))
        assert errors[field][0] == code
        assert expected in errors[field][1], errors
        assert not ENGLISH.search(errors[field][1]), errors


def test_a_new_persons_username_is_explained_in_words_not_a_regex(client: TestClient) -> None:
    body = {"username": "X-NEW4", "display_name": "   "}
    english = _errors(client.post("/api/v1/users", json=body, headers={"Accept-Language": "en"}))
    assert english["username"] == (
        "invalid_username",
        "A username has 2-64 lowercase letters without accents, digits, dots, dashes or "
        "underscores, starting with a letter or digit (for example tnv-07).",
    )
    assert english["display_name"] == ("blank", "Must not be empty or only spaces.")
    vietnamese = _errors(client.post("/api/v1/users", json=body))
    assert vietnamese["username"][1].startswith("Tên đăng nhập chỉ gồm chữ thường không dấu")
    assert "gạch dưới" in vietnamese["username"][1]
    short = _errors(client.post("/api/v1/users", json={**body, "password": "short"}))
    assert short["password"] == ("password_too_short", "Mật khẩu cần ít nhất 8 ký tự.")


def test_broken_json_says_where_in_the_users_language(client: TestClient) -> None:
    sent = {"content": b'{"username": ', "headers": {"Content-Type": "application/json"}}
    assert _errors(client.post("/api/v1/users", **sent))[""] == (
        "invalid_json",
        "Dữ liệu gửi lên không phải JSON hợp lệ (lỗi ở dòng 1, cột 14).",
    )
    sent["headers"]["Accept-Language"] = "en"
    assert _errors(client.post("/api/v1/users", **sent))[""] == (
        "invalid_json",
        "The request body is not valid JSON (the error is at line 1, column 14).",
    )


def test_an_unknown_path_or_method_is_said_in_the_users_language(client: TestClient) -> None:
    for header, message in (
        ("vi", "Không có trang hay địa chỉ API nào ở đường dẫn này."),
        ("vi;q=0, en", "There is no page or API address at this path."),
    ):
        missing = client.get("/nowhere", headers={"Accept-Language": header})
        assert missing.status_code == 404
        assert missing.json() == {"code": "http_404", "detail": message, "errors": []}
    refused = client.delete("/api/v1/users", headers={"Accept-Language": "en"})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, POST"
    assert refused.json() == {
        "code": "http_405",
        "detail": "This path does not take DELETE requests; use GET, POST.",
        "errors": [],
    }
    vietnamese = client.delete("/api/v1/users").json()["detail"]
    assert vietnamese == "Đường dẫn này không nhận yêu cầu DELETE; hãy dùng GET, POST."


@pytest.mark.parametrize(
    "raw",
    [
        b'{"username": "\xff\xfe"}',  # not UTF-8 at all
        b'{"username": "\xed\xa0\x80"}',  # a surrogate encoded in UTF-8: not UTF-8 either
        '{"username": "Hoà"}'.encode("latin-1"),  # a page's old encoding
        '{"username": "x"}'.encode("utf-16"),
    ],
)
@pytest.mark.parametrize("url", ["/api/v1/users", "/api/v1/submissions/batch"])
def test_a_body_that_is_not_utf8_text_is_told_so(client: TestClient, raw: bytes, url: str) -> None:
    sent = {"content": raw, "headers": {"Content-Type": "application/json"}}
    assert _errors(client.post(url, **sent))[""] == (
        "invalid_utf8",
        "Dữ liệu gửi lên không phải văn bản UTF-8 hợp lệ.",
    )
    sent["headers"]["Accept-Language"] = "en"
    assert _errors(client.post(url, **sent))[""] == (
        "invalid_utf8",
        "The data sent is not valid UTF-8 text.",
    )


def test_an_escaped_lone_surrogate_is_still_refused_as_the_fields_value(
    client: TestClient,
) -> None:
    sent = b'{"username": "tnv-99", "display_name": "H\\ud800"}'
    response = client.post(
        "/api/v1/users", content=sent, headers={"Content-Type": "application/json"}
    )
    (error,) = response.json()["errors"]
    assert error["field"] == "display_name" and error["code"] != "invalid_utf8"
