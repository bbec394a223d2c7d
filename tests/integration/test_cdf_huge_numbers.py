"""A number past any double (1 and 400 zeros, or 1e400) in any field of a CDF body, even one
the server does not read: a 422 naming the field, in Vietnamese and English, never a 500; on
a meeting's sheet only that record is refused, and a resend of the sheet stays idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from app.services.cdf_input import request_hash
from tests.cdf_support import Clients, app_client, drop_cities, make_city, person, treasurer, uid

CITY = "cdf-huge-town"
HUGE = "1" + "0" * 400  # parsed whole by the fallback parser (app/api/requests.py)


@pytest.fixture(scope="module")
def cdf(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY)
    tokens = {"staff": person(sync_engine, "cdf-huge-staff", [("cdf_staff", ("city", CITY))], CITY)}
    with app_client(database_url, tmp_path_factory.mktemp("cdf-huge")) as client:
        staff = Clients(client, tokens).as_("staff")
        group = staff.post(
            f"/api/v1/cdf/{CITY}/groups",
            json={
                "name": "Nhóm số lớn",
                "settlement_id": ids["settlement"],
                "founded_on": "2024-01-15",
                "meeting_frequency": "monthly",
                "share_value": 50_000,
            },
        ).json()["id"]
        tokens["treasurer"] = treasurer(sync_engine, "cdf-huge-treasurer", ids["city"], group)
        member = staff.post(
            f"/api/v1/cdf/groups/{group}/members",
            json={"code": "M1", "name": "Ngô Thị A", "joined_on": "2024-01-15"},
        ).json()["id"]
        yield {"client": client, "tokens": tokens, "group": group, "member": member}
    drop_cities(sync_engine, CITY)


def _raw(cdf: dict[str, Any], who: str, url: str, body: str) -> Any:
    return cdf["client"].post(
        url,
        content=body.encode(),
        headers={
            "Authorization": f"Bearer {cdf['tokens'][who]}",
            "Content-Type": "application/json",
        },
    )


@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, "1e400"])
@pytest.mark.parametrize("endpoint", ["transaction", "capital"])
def test_a_huge_number_in_a_field_nobody_reads_is_a_422_naming_it(
    cdf: dict[str, Any], endpoint: str, number: str
) -> None:
    if endpoint == "transaction":
        who, url = "treasurer", f"/api/v1/cdf/groups/{cdf['group']}/transactions"
        fields = f'"kind": "savings", "member_id": {cdf["member"]}'
    else:
        who, url = "staff", f"/api/v1/cdf/{CITY}/capital"
        fields = '"source": "donor"'
    body = (
        f'{{"client_id": "{uid()}", {fields}, "amount": 1000, "date": "2024-02-15", '
        f'"extra": {{"note": [1, {number}]}}}}'
    )
    for language, word in (("vi", "Số quá lớn"), ("en", "too large")):
        answer = _raw(cdf, who, f"{url}?lang={language}", body)
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["errors"]
        assert (error["field"], error["code"]) == ("extra.note[1]", "cdf_number_too_large")
        assert word in error["message"]


def test_a_huge_amount_is_named_once(cdf: dict[str, Any]) -> None:
    body = f'{{"client_id": "{uid()}", "kind": "fine", "amount": {HUGE}, "date": "2024-02-15"}}'
    answer = _raw(cdf, "treasurer", f"/api/v1/cdf/groups/{cdf['group']}/transactions", body)
    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [
        ("amount", "cdf_amount_too_large")
    ]


def test_one_huge_number_on_a_meeting_sheet_refuses_that_record_alone(
    cdf: dict[str, Any],
) -> None:
    meeting = uid()
    opened = _raw(
        cdf,
        "treasurer",
        f"/api/v1/cdf/groups/{cdf['group']}/meetings",
        f'{{"id": "{meeting}", "date": "2024-04-15"}}',
    )
    assert opened.status_code == 201, opened.text
    first, bad, last = uid(), uid(), uid()
    sheet = (
        f'{{"records": [{{"client_id": "{first}", "kind": "fine", "amount": 1000}}, '
        f'{{"client_id": "{bad}", "kind": "fine", "amount": 2000, "x": {HUGE}}}, '
        f'{{"client_id": "{last}", "kind": "mutual_aid", "amount": 3000}}]}}'
    )
    url = f"/api/v1/cdf/meetings/{meeting}/records"
    sent = _raw(cdf, "treasurer", url, sheet)
    assert sent.status_code == 200, sent.text
    results = sent.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "invalid", "created"]
    assert [(p["field"], p["code"]) for p in results[1]["problems"]] == [
        ("x", "cdf_number_too_large")
    ]
    # The phone resends the same sheet (its answer was lost): nothing is posted twice.
    resent = _raw(cdf, "treasurer", url, sheet)
    assert resent.status_code == 200, resent.text
    again = resent.json()["results"]
    assert [r["outcome"] for r in again] == ["duplicate", "invalid", "duplicate"]
    assert [again[0]["entry_id"], again[2]["entry_id"]] == [
        results[0]["entry_id"],
        results[2]["entry_id"],
    ]
    statement = cdf["client"].get(
        f"/api/v1/cdf/groups/{cdf['group']}",
        headers={"Authorization": f"Bearer {cdf['tokens']['treasurer']}"},
    )
    assert statement.json()["balances"]["cash"] == 4_000


def test_the_hash_of_a_record_never_raises_and_keeps_its_old_value() -> None:
    huge = int(HUGE)
    assert request_hash("fine", {"x": huge}) != request_hash("fine", {"x": huge + 1})
    assert request_hash("fine", {"x": huge}) == request_hash("fine", {"x": huge})
    # What orjson writes is hashed as before (hashes stored in the journal stay valid).
    assert (
        request_hash("fine", {"amount": 1000, "b": "ă"})
        == "3ff29622fde22c7e20b59170fe3e4554789ee7a34a18b4bdae86fd28327c8bbe"
    )
