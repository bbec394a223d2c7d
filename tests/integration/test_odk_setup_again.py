"""Setting up a person's phone for ODK Collect again (POST /api/v1/odk/setup twice): the
person never holds two live Collect tokens from it; the latest QR code and a phone already
set up with the earlier one both keep working."""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.auth import make_user
from tests.odk import household_xml, multipart


def live_collect_tokens(sync_engine: Engine, user_id: int) -> list[str]:
    with sync_engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id FROM auth_tokens WHERE user_id = :id AND kind = 'device' "
                "AND name LIKE 'ODK Collect:%' AND revoked_at IS NULL AND expires_at > now()"
            ),
            {"id": user_id},
        )
        return [str(row[0]) for row in rows]


def volunteer(sync_engine: Engine) -> int:
    name = f"odk-again-{uuid.uuid4().hex[:8]}"
    return make_user(sync_engine, name, [("volunteer", ("ward", "W03"))])


def payload(setup: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(zlib.decompress(base64.b64decode(setup["settings_payload"]))))


def send(client: TestClient, server_url: str) -> int:
    body, content_type = multipart(household_xml())
    prefix = server_url.removeprefix("http://testserver")
    response = client.post(
        f"{prefix}/submission",
        content=body,
        headers={"Content-Type": content_type, "Authorization": ""},
    )
    return response.status_code


def test_setting_up_a_phone_twice_leaves_one_live_token_that_both_qr_codes_carry(
    client: TestClient, sync_engine: Engine
) -> None:
    user_id = volunteer(sync_engine)
    first = client.post("/api/v1/odk/setup", json={"user_id": user_id})
    assert first.status_code == 201, first.text
    # The phone is configured with the first QR code and sends a survey.
    assert send(client, first.json()["server_url"]) == 201
    again = client.post(
        "/api/v1/odk/setup", json={"user_id": user_id, "device_name": "Samsung A05"}
    )
    assert again.status_code == 201, again.text
    assert live_collect_tokens(sync_engine, user_id) == [first.json()["token_id"]]
    assert again.json()["token_id"] == first.json()["token_id"]
    assert (first.json()["reused"], again.json()["reused"]) == (False, True)
    assert again.json()["server_url"] == first.json()["server_url"]
    assert payload(again.json())["general"]["server_url"] == first.json()["server_url"]
    # The phone set up before keeps working, and so does one that scans the latest QR code.
    assert send(client, first.json()["server_url"]) == 201
    assert send(client, again.json()["server_url"]) == 201
    # Digest mode carries the same token as the password.
    digest = client.post("/api/v1/odk/setup", json={"user_id": user_id, "mode": "digest"})
    assert digest.status_code == 201
    assert digest.json()["token_id"] == first.json()["token_id"]
    assert first.json()["server_url"].endswith("/" + digest.json()["password"])
    assert live_collect_tokens(sync_engine, user_id) == [first.json()["token_id"]]


def test_a_revoked_phone_token_is_replaced_by_a_new_one(
    client: TestClient, sync_engine: Engine
) -> None:
    user_id = volunteer(sync_engine)
    first = client.post("/api/v1/odk/setup", json={"user_id": user_id}).json()
    assert client.delete(f"/api/v1/devices/{first['token_id']}").status_code == 204
    again = client.post("/api/v1/odk/setup", json={"user_id": user_id}).json()
    assert again["token_id"] != first["token_id"]
    assert live_collect_tokens(sync_engine, user_id) == [again["token_id"]]
    assert send(client, first["server_url"]) == 401
    assert send(client, again["server_url"]) == 201


def test_setups_sent_at_the_same_moment_leave_one_live_token(
    client: TestClient, sync_engine: Engine
) -> None:
    user_id = volunteer(sync_engine)

    def setup(_: int) -> Any:
        return client.post("/api/v1/odk/setup", json={"user_id": user_id})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(setup, range(8)))
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.json()["token_id"] for answer in answers}) == 1
    assert len(live_collect_tokens(sync_engine, user_id)) == 1
