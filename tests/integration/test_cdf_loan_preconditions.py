"""What a loan must meet is checked where it can still be refused, not only once.

- A product's max_principal whose loan would owe more than the books take in all (10^12
  đồng, principal and interest) was stored, and every application at that maximum was then
  refused (cdf_loan_total_too_large): the product is now refused when it is made, a 422
  naming max_principal, in Vietnamese and English.
- The savings precondition (the group's savings at least the product's share of the loan,
  cdf-finance.md: savings "before borrowing") was checked only at the application: savings
  withdrawn before the payout left the group borrowing without them. The payout checks it
  again on its day, under the group's lock, so a withdrawal landing meanwhile is seen.
- A withdrawal (or a saving reversed) dated back on or before a loan's payout day left the
  group short of the loan's savings on that day after the fact: it is refused (422
  cdf_savings_needed_at_payout), under the same lock; dated after the payout day it is
  the group's to take (the precondition is savings before borrowing).
- The application counted savings dated after its own day: it reads them as of its day
  (today without one), as the payout reads its own.
- A withdrawal at a meeting refused so was told to "date it after" the payout: a meeting's
  records carry its day. It is told the most the meeting may pay out and that the rest
  waits for a meeting after the payout's day (cdf_savings_needed_at_payout_meeting), and
  the day to date it after is the last payout it would leave short, at the counter too.
- The savings share was read from the loan's product at each use: a product edited later
  changed what its old loans needed. Each loan keeps its own (migration 0029)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from app.db.engine import make_engine
from app.errors import InvalidInput
from app.i18n import date_text, number_text
from app.services import cdf_loans, cdf_postings
from app.services.access import Grant, Principal
from app.services.cdf_input import MAX_MONEY
from app.settings import Settings
from tests.aio import run
from tests.auth import make_user
from tests.cdf_support import (
    Clients,
    app_client,
    drop_cities,
    make_city,
    person,
    treasurer,
    uid,
)

CITY = "cdf-preconditions-town"
HIGHEST_RATE, LONGEST_TERM = 100_000, 520  # 1,000 %/month; what a product may hold


@pytest.fixture(scope="module")
def cdf(
    database_url: str, sync_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    ids = make_city(sync_engine, CITY)
    staff = [("cdf_staff", ("city", CITY))]
    tokens = {
        "maker": person(sync_engine, "cdf-pre-maker", staff, CITY),
        "checker": person(sync_engine, "cdf-pre-checker", staff, CITY),
    }
    with app_client(database_url, tmp_path_factory.mktemp("cdf-pre")) as client:
        clients = Clients(client, tokens)
        maker = clients.as_("maker")
        # 10 % of the loan saved before borrowing (cdf-finance.md).
        product = maker.post(
            f"/api/v1/cdf/{CITY}/products",
            json={
                "code": "TK10",
                "name": "Vay có tiết kiệm 10 %",
                "kind": "income",
                "rate_bp": 100,
                "rate_period": "month",
                "term_installments": 10,
                "frequency": "monthly",
                "method": "flat",
                "min_savings_bp": 1000,
                "max_principal": 15_000_000,
            },
        )
        assert product.status_code == 201, product.text
        capital = maker.post(
            f"/api/v1/cdf/{CITY}/capital",
            json={
                "client_id": uid(),
                "source": "seed_grant",
                "amount": 100_000_000,
                "date": "2025-01-02",
            },
        )
        assert capital.status_code == 201, capital.text
        user = make_user(sync_engine, "cdf-pre-staff", staff, city=CITY)
        yield {
            "clients": clients,
            "product": product.json()["id"],
            "settlement": ids["settlement"],
            "city_id": ids["city"],
            "staff": Principal(user, "cdf-pre-staff", "x", (Grant("cdf_staff", ids["city"]),)),  # type: ignore[arg-type]
            "settings": Settings(database_url=database_url),
        }
    drop_cities(sync_engine, CITY)


def _product(cdf: dict[str, Any], language: str = "vi", **terms: Any) -> Any:
    body = {
        "code": f"P-{uid()[:8]}",
        "name": "Sản phẩm thử",
        "kind": "housing",
        "rate_bp": 100,
        "rate_period": "month",
        "term_installments": 100,
        "frequency": "monthly",
        "method": "flat",
        **terms,
    }
    return (
        cdf["clients"].as_("maker").post(f"/api/v1/cdf/{CITY}/products?lang={language}", json=body)
    )


def _listed(cdf: dict[str, Any]) -> set[int]:
    products = cdf["clients"].as_("maker").get(f"/api/v1/cdf/{CITY}/products").json()
    return {p["max_principal"] for p in products["products"] if p["max_principal"]}


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    "terms",
    [
        {"method": "flat", "frequency": "monthly"},
        {"method": "declining", "frequency": "weekly"},
        {"method": "flat", "frequency": "fortnightly", "rate_period": "year"},
    ],
)
def test_a_product_whose_maximum_would_owe_past_the_cap_is_refused(
    cdf: dict[str, Any], terms: dict[str, Any], language: str
) -> None:
    made = _product(
        cdf,
        language,
        rate_bp=HIGHEST_RATE,
        term_installments=LONGEST_TERM,
        max_principal=MAX_MONEY - 7,
        **terms,
    )
    assert made.status_code == 422, made.text
    [error] = made.json()["errors"]
    assert (error["field"], error["code"]) == ("max_principal", "cdf_product_total_too_large")
    for amount in (MAX_MONEY, MAX_MONEY - 7):  # written as the language writes numbers
        assert f"{number_text(amount, language)} đồng" in error["message"], error["message"]
    assert ("tối đa" if language == "vi" else "lower the maximum") in error["message"]
    assert MAX_MONEY - 7 not in _listed(cdf)


def test_a_product_owing_exactly_the_cap_at_its_maximum_is_made_and_lends_it(
    cdf: dict[str, Any],
) -> None:
    # 1 %/month flat over 100 months: the interest equals the principal, so a maximum of
    # 5 x 10^11 owes 10^12 in all; one đồng more owes 10^12 + 2.
    refused = _product(cdf, "en", max_principal=MAX_MONEY // 2 + 1)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "max_principal"
    made = _product(cdf, "en", max_principal=MAX_MONEY // 2)
    assert made.status_code == 201, made.text
    # Its maximum is lent: the application the product promised is no longer refused.
    group, member = _group_with_savings(cdf, 0)
    applied = _apply(cdf, group, member, MAX_MONEY // 2, product=made.json()["id"])
    assert applied.status_code == 201, applied.text
    # Without a maximum the product is what it was: each application is checked on its own.
    assert _product(cdf, rate_bp=HIGHEST_RATE, term_installments=LONGEST_TERM).status_code == 201


def _group_with_savings(cdf: dict[str, Any], saved: int) -> tuple[int, int]:
    maker = cdf["clients"].as_("maker")
    group = maker.post(
        f"/api/v1/cdf/{CITY}/groups",
        json={
            "name": f"Nhóm {uid()[:6]}",
            "settlement_id": cdf["settlement"],
            "founded_on": "2025-01-15",
            "meeting_frequency": "monthly",
            "share_value": 50_000,
        },
    )
    assert group.status_code == 201, group.text
    member = maker.post(
        f"/api/v1/cdf/groups/{group.json()['id']}/members",
        json={"code": "TV-01", "name": "Lê Thị Hoa", "joined_on": "2025-01-15"},
    )
    assert member.status_code == 201, member.text
    if saved:
        posted = _post(cdf, group.json()["id"], "savings", saved, member.json()["id"], "2025-02-01")
        assert posted.status_code == 201, posted.text
    return group.json()["id"], member.json()["id"]


def _post(
    cdf: dict[str, Any],
    group: int,
    kind: str,
    amount: int,
    member: int,
    day: str,
    language: str = "vi",
) -> Any:
    return (
        cdf["clients"]
        .as_("maker")
        .post(
            f"/api/v1/cdf/groups/{group}/transactions?lang={language}",
            json={"client_id": uid(), "kind": kind, "amount": amount, "member_id": member,
                  "date": day},
        )
    )  # fmt: skip


def _apply(
    cdf: dict[str, Any],
    group: int,
    member: int,
    principal: int,
    product: int | None = None,
    day: str | None = "2025-03-01",
    language: str = "vi",
) -> Any:
    return (
        cdf["clients"]
        .as_("maker")
        .post(
            f"/api/v1/cdf/{CITY}/loans?lang={language}",
            json={"client_id": uid(), "group_id": group, "member_id": member,
                  "product_id": product or cdf["product"], "principal": principal}
            | ({"date": day} if day else {}),
        )
    )  # fmt: skip


def _approved_loan(cdf: dict[str, Any], saved: int = 100_000) -> tuple[int, int, int]:
    """A group whose member saved `saved`, and its approved loan of 1,000,000 đ (10 % saved
    needed): the group, the member, the loan."""
    group, member = _group_with_savings(cdf, saved)
    applied = _apply(cdf, group, member, 1_000_000)
    assert applied.status_code == 201, applied.text
    loan = applied.json()["loan"]["id"]
    approved = (
        cdf["clients"]
        .as_("checker")
        .post(
            f"/api/v1/cdf/loans/{loan}/decision",
            json={"decision": "approved", "date": "2025-03-01"},
        )
    )
    assert approved.status_code == 200, approved.text
    return group, member, loan


def _pay_out(cdf: dict[str, Any], loan: int, day: str, language: str = "vi") -> Any:
    return (
        cdf["clients"]
        .as_("checker")
        .post(
            f"/api/v1/cdf/loans/{loan}/disbursement?lang={language}",
            json={"client_id": uid(), "date": day},
        )
    )


def _posted_for(sync_engine: Engine, loan: int) -> tuple[int, int]:
    with sync_engine.connect() as connection:
        installments = connection.execute(
            text("SELECT count(*) FROM cdf_installments WHERE loan_id = :loan"), {"loan": loan}
        ).scalar_one()
        entries = connection.execute(
            text("SELECT count(*) FROM cdf_entries WHERE loan_id = :loan"), {"loan": loan}
        ).scalar_one()
    return installments, entries


def test_savings_withdrawn_after_the_application_stop_the_payout(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    group, member, loan = _approved_loan(cdf)
    out = _post(cdf, group, "withdrawal", 50_000, member, "2025-03-05")
    assert out.status_code == 201, out.text
    for language, words in (("vi", "rút"), ("en", "withdrawn")):
        paid = _pay_out(cdf, loan, "2025-03-06", language)
        assert paid.status_code == 422, paid.text
        [error] = paid.json()["errors"]
        assert (error["field"], error["code"]) == (
            "principal",
            "cdf_savings_precondition_at_disbursement",
        )
        amounts = (number_text(100_000, language), number_text(50_000, language))
        for shown in (*amounts, date_text("2025-03-06", language), words):
            assert shown in error["message"], (shown, error["message"])
    stored = cdf["clients"].as_("maker").get(f"/api/v1/cdf/loans/{loan}").json()
    assert stored["status"] == "approved" and stored["schedule"] is None
    assert _posted_for(sync_engine, loan) == (0, 0)
    # Saved again, the loan is paid out on that day.
    assert _post(cdf, group, "savings", 50_000, member, "2025-03-07").status_code == 201
    paid = _pay_out(cdf, loan, "2025-03-07")
    assert paid.status_code == 201, paid.text
    assert _posted_for(sync_engine, loan) == (10, 1)


def test_savings_held_on_the_payout_day_are_enough(cdf: dict[str, Any]) -> None:
    """Exactly the share saved is enough, and savings withdrawn after the loan was paid out
    do not undo it (the precondition is savings before borrowing)."""
    group, member, loan = _approved_loan(cdf)
    paid = _pay_out(cdf, loan, "2025-03-02")
    assert paid.status_code == 201, paid.text
    assert _post(cdf, group, "withdrawal", 100_000, member, "2025-03-03").status_code == 201
    stored = cdf["clients"].as_("maker").get(f"/api/v1/cdf/loans/{loan}").json()
    assert stored["status"] == "disbursed"


def test_a_withdrawal_posting_while_the_loan_is_paid_out_is_seen_by_the_payout(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    """A withdrawal holding the group's lock when the payout starts: the payout waits for it
    and then sees the savings gone (checked before the lock, it would pay out regardless)."""
    group, member, loan = _approved_loan(cdf)
    staff, settings = cdf["staff"], cdf["settings"]
    pool = ThreadPoolExecutor(max_workers=1)
    payout: list[Future[Any]] = []

    def pay_out_meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "INSERT INTO cdf_entries" not in statement or payout:
            return
        # The withdrawal holds the group's lock and is about to post: the payout starts.
        payout.append(
            pool.submit(
                _on_own_engine,
                settings,
                lambda engine: cdf_loans.disburse(
                    engine, staff, loan, {"client_id": uid(), "date": "2025-03-06"}
                ),
            )
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _waiting_for_a_lock(sync_engine):
            time.sleep(0.05)

    async def withdraw() -> Any:
        engine = make_engine(settings.async_database_url, pool_size=1, max_overflow=0)
        event.listen(engine.sync_engine, "before_cursor_execute", pay_out_meanwhile)
        try:
            return await cdf_postings.group_transaction(
                engine,
                staff,
                group,
                {"client_id": str(uuid.uuid4()), "kind": "withdrawal", "amount": 50_000,
                 "member_id": member, "date": "2025-03-05"},
            )  # fmt: skip
        finally:
            await engine.dispose()

    try:
        withdrawn = run(withdraw())
        assert withdrawn["outcome"] == "created"
        assert len(payout) == 1
        with pytest.raises(InvalidInput) as refused:
            payout[0].result(timeout=60)
    finally:
        pool.shutdown(wait=True)
    assert [p.code for p in refused.value.problems] == ["cdf_savings_precondition_at_disbursement"]
    assert _posted_for(sync_engine, loan) == (0, 0)


def _on_own_engine(settings: Settings, call: Any) -> Any:
    async def once() -> Any:
        engine = make_engine(settings.async_database_url, pool_size=1, max_overflow=0)
        try:
            return await call(engine)
        finally:
            await engine.dispose()

    return run(once())


def _waiting_for_a_lock(sync_engine: Engine) -> bool:
    with sync_engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%FROM cdf_groups%FOR UPDATE%'"
            )
        ).scalar_one()
    return bool(waiting)


def _refusal(response: Any, field: str, code: str, *shown: str) -> None:
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (field, code)
    for text_shown in shown:
        assert text_shown in error["message"], (text_shown, error["message"])


def test_a_withdrawal_dated_back_before_a_payout_cannot_leave_the_loan_short(
    cdf: dict[str, Any],
) -> None:
    group, member, loan = _approved_loan(cdf)  # 100,000 saved on 2025-02-01, 10 % of the loan
    assert _post(cdf, group, "savings", 30_000, member, "2025-02-15").status_code == 201
    assert _pay_out(cdf, loan, "2025-03-06").status_code == 201
    # 130,000 held on the payout day, 100,000 needed: 50,000 taken back then leaves 80,000.
    for language, day, words in (
        ("vi", "2025-03-05", "Hãy ghi vào một ngày sau 06/03/2025"),
        ("en", "2025-03-06", "Date it after 6 Mar 2025"),  # the payout's own day counts too
    ):
        refused = _post(cdf, group, "withdrawal", 50_000, member, day, language)
        _refusal(
            refused,
            "amount",
            "cdf_savings_needed_at_payout",
            str(loan),
            number_text(100_000, language),
            number_text(80_000, language),
            words,
        )
    # What the loan did not need may be taken on any day; one đồng more may not.
    assert _post(cdf, group, "withdrawal", 30_000, member, "2025-03-05").status_code == 201
    _refusal(
        _post(cdf, group, "withdrawal", 1_000, member, "2025-02-20"),
        "amount",
        "cdf_savings_needed_at_payout",
        "99.000 đồng",
    )
    # At a meeting held before the payout, as at the counter.
    maker = cdf["clients"].as_("maker")
    meeting = uid()
    opened = maker.post(
        f"/api/v1/cdf/groups/{group}/meetings", json={"id": meeting, "date": "2025-03-04"}
    )
    assert opened.status_code == 201, opened.text
    sent = maker.post(
        f"/api/v1/cdf/meetings/{meeting}/records",
        json={"records": [{"client_id": uid(), "kind": "withdrawal", "amount": 1_000,
                           "member_id": member}]},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    [result] = sent.json()["results"]
    assert result["outcome"] == "invalid", result
    # Its own advice: a meeting's records are dated on its day (see below).
    assert result["problems"][0]["code"] == "cdf_savings_needed_at_payout_meeting"
    # After the payout's day the savings are the group's to take.
    assert _post(cdf, group, "withdrawal", 100_000, member, "2025-03-07").status_code == 201


def test_a_saving_reversed_back_to_before_a_payout_cannot_leave_the_loan_short(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    group, _member, loan = _approved_loan(cdf)
    with sync_engine.connect() as connection:
        saving = connection.execute(
            text("SELECT id FROM cdf_entries WHERE group_id = :g AND kind = 'savings'"),
            {"g": group},
        ).scalar_one()
    assert _pay_out(cdf, loan, "2025-03-06").status_code == 201
    staff = cdf["clients"].as_("checker")

    def reverse(day: str, language: str = "vi") -> Any:
        return staff.post(
            f"/api/v1/cdf/entries/{saving}/reversal?lang={language}",
            json={"client_id": uid(), "date": day, "memo": "Ghi nhầm"},
        )

    for language, day, words in (("vi", "2025-03-05", "giải ngân"), ("en", "2025-03-06", "paid")):
        _refusal(
            reverse(day, language),
            "entry",
            "cdf_savings_needed_at_payout",
            str(loan),
            date_text("2025-03-06", language),
            number_text(100_000, language),
            words,
        )
    reversed_after = reverse("2025-03-07")
    assert reversed_after.status_code == 201, reversed_after.text


def test_an_application_counts_the_savings_held_on_its_day(cdf: dict[str, Any]) -> None:
    group, member = _group_with_savings(cdf, 0)
    assert _post(cdf, group, "savings", 100_000, member, "2025-03-10").status_code == 201
    for language, words in (("vi", "ngày 01/03/2025 nhóm có 0 đồng"), ("en", "on 1 Mar 2025")):
        _refusal(
            _apply(cdf, group, member, 1_000_000, day="2025-03-01", language=language),
            "principal",
            "cdf_savings_precondition",
            number_text(100_000, language),
            words,
        )
    # On the saving's day, or without a date (today), the savings count.
    for day in ("2025-03-10", None):
        applied = _apply(cdf, group, member, 1_000_000, day=day)
        assert applied.status_code == 201, applied.text


def test_a_withdrawal_dated_back_waiting_for_a_payout_sees_it(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    """A payout holding the group's lock when a backdated withdrawal starts: the withdrawal
    waits for it, then sees the loan paid out and is refused."""
    group, member, loan = _approved_loan(cdf)
    staff, settings = cdf["staff"], cdf["settings"]
    pool = ThreadPoolExecutor(max_workers=1)
    withdrawal: list[Future[Any]] = []

    def withdraw_meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "INSERT INTO cdf_entries" not in statement or withdrawal:
            return
        # The payout holds the group's lock and is about to post: the withdrawal starts.
        withdrawal.append(
            pool.submit(
                _on_own_engine,
                settings,
                lambda engine: cdf_postings.group_transaction(
                    engine,
                    staff,
                    group,
                    {"client_id": uid(), "kind": "withdrawal", "amount": 50_000,
                     "member_id": member, "date": "2025-03-05"},
                ),
            )
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _waiting_for_a_lock(sync_engine):
            time.sleep(0.05)

    async def pay_out() -> Any:
        engine = make_engine(settings.async_database_url, pool_size=1, max_overflow=0)
        event.listen(engine.sync_engine, "before_cursor_execute", withdraw_meanwhile)
        try:
            return await cdf_loans.disburse(
                engine, staff, loan, {"client_id": uid(), "date": "2025-03-06"}
            )
        finally:
            await engine.dispose()

    try:
        paid = run(pay_out())
        assert paid["outcome"] == "created"
        assert len(withdrawal) == 1
        with pytest.raises(InvalidInput) as refused:
            withdrawal[0].result(timeout=60)
    finally:
        pool.shutdown(wait=True)
    assert [p.code for p in refused.value.problems] == ["cdf_savings_needed_at_payout"]
    with sync_engine.connect() as connection:
        withdrawals = connection.execute(
            text("SELECT count(*) FROM cdf_entries WHERE group_id = :g AND kind = 'withdrawal'"),
            {"g": group},
        ).scalar_one()
    assert withdrawals == 0


# --- at a meeting the day is the meeting's ----------------------------------------------------


def _treasurer_of(cdf: dict[str, Any], sync_engine: Engine, group: int) -> Any:
    """The group's treasurer (thủ quỹ), signed in."""
    who = f"cdf-pre-tq-{group}"
    if who not in cdf["clients"].tokens:
        cdf["clients"].tokens[who] = treasurer(sync_engine, who, cdf["city_id"], group)
    return cdf["clients"].as_(who)


def _at_meeting(
    clerk: Any, meeting: str, amount: int, member: int, language: str = "vi"
) -> dict[str, Any]:
    """A withdrawal sent on a meeting's collection sheet: its result."""
    sent = clerk.post(
        f"/api/v1/cdf/meetings/{meeting}/records?lang={language}",
        json={"records": [{"client_id": uid(), "kind": "withdrawal", "amount": amount,
                           "member_id": member}]},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    [result] = sent.json()["results"]
    return dict(result)


def _open(clerk: Any, group: int, day: str) -> str:
    meeting = uid()
    opened = clerk.post(f"/api/v1/cdf/groups/{group}/meetings", json={"id": meeting, "date": day})
    assert opened.status_code == 201, opened.text
    return meeting


@pytest.mark.parametrize(
    "held_on",
    [
        "2025-03-04",  # before the payout: the phone was offline, its sheet sent after it
        "2025-03-06",  # the payout's own day: the meeting where the loan's cash arrived
    ],
)
def test_a_withdrawal_at_a_meeting_before_a_payout_is_told_what_the_meeting_can_do(
    cdf: dict[str, Any], sync_engine: Engine, held_on: str
) -> None:
    """A meeting's records are dated on its day: the refusal said "Date it after 6 Mar
    2025", which the treasurer cannot do on the sheet. It says instead how much the member
    may take at this meeting and that the rest waits for a meeting after the payout's day;
    both ways forward are taken."""
    group, member, loan = _approved_loan(cdf)  # 100,000 saved, 100,000 needed
    assert _post(cdf, group, "savings", 30_000, member, "2025-02-15").status_code == 201
    clerk = _treasurer_of(cdf, sync_engine, group)
    meeting = _open(clerk, group, held_on)
    assert _pay_out(cdf, loan, "2025-03-06").status_code == 201
    for language, shown, not_shown in (
        (
            "vi",
            (
                f"cuộc họp ngày {date_text(held_on, 'vi')}",
                f"khoản vay số {loan} giải ngân ngày 06/03/2025",
                "ít nhất 100.000 đồng",
                "chỉ còn 80.000 đồng",
                "rút được tối đa 30.000 đồng",
                "một cuộc họp sau ngày 06/03/2025",
            ),
            "Hãy ghi vào một ngày",
        ),
        (
            "en",
            (
                f"meeting of {date_text(held_on, 'en')}",
                f"loan {loan}, paid out on 6 Mar 2025",
                "at least 100,000 đồng",
                "leave it 80,000 đồng",
                "at most 30,000 đồng",
                "a meeting after 6 Mar 2025",
            ),
            "Date it after",
        ),
    ):
        result = _at_meeting(clerk, meeting, 50_000, member, language)
        assert result["outcome"] == "invalid", result
        [problem] = result["problems"]
        assert (problem["field"], problem["code"]) == (
            "amount",
            "cdf_savings_needed_at_payout_meeting",
        )
        for words in shown:
            assert words in problem["message"], (words, problem["message"])
        assert not_shown not in problem["message"]
    # What the meeting may pay out is posted on its sheet...
    taken = _at_meeting(clerk, meeting, 30_000, member)
    assert taken["outcome"] == "created", taken
    # ... and then nothing more: the sheet says so, and where the rest can be taken.
    for language, words in (
        ("vi", "Ở cuộc họp này không rút được tiết kiệm"),
        ("en", "No savings can be withdrawn at this meeting"),
    ):
        result = _at_meeting(clerk, meeting, 1_000, member, language)
        assert result["outcome"] == "invalid", result
        [problem] = result["problems"]
        assert problem["code"] == "cdf_savings_needed_at_payout_meeting", problem
        assert words in problem["message"], problem["message"]
        assert date_text("2025-03-06", language) in problem["message"], problem["message"]
    # The rest at the next meeting, after the payout's day.
    later = _open(clerk, group, "2025-03-07")
    rest = _at_meeting(clerk, later, 100_000, member)
    assert rest["outcome"] == "created", rest
    # The books balance and hold what the sheets posted: 130,000 saved, 130,000 taken.
    with sync_engine.connect() as connection:
        savings, lines = connection.execute(
            text(
                "SELECT coalesce(sum(l.amount) FILTER (WHERE a.kind = 'savings'), 0), "
                "coalesce(sum(l.amount), 0) FROM cdf_lines l "
                "JOIN cdf_accounts a ON a.id = l.account_id WHERE a.group_id = :g "
                "AND a.kind IN ('savings', 'group_cash')"
            ),
            {"g": group},
        ).one()
    assert (savings, lines) == (0, 0)


def test_the_meeting_advice_names_the_last_payout_the_withdrawal_would_leave_short(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    """Two loans paid out after the meeting: the whole amount waits for a meeting after the
    later one's day, and the most the meeting can pay is what both loans leave."""
    group, member, first = _approved_loan(cdf)  # 100,000 saved on 2025-02-01
    assert _post(cdf, group, "savings", 150_000, member, "2025-02-15").status_code == 201
    clerk = _treasurer_of(cdf, sync_engine, group)
    meeting = _open(clerk, group, "2025-03-04")
    assert _pay_out(cdf, first, "2025-03-06").status_code == 201  # needs 100,000 of 250,000
    second = _apply(cdf, group, member, 2_000_000, day="2025-03-06")
    assert second.status_code == 201, second.text
    decided = (
        cdf["clients"]
        .as_("checker")
        .post(
            f"/api/v1/cdf/loans/{second.json()['loan']['id']}/decision",
            json={"decision": "approved", "date": "2025-03-06"},
        )
    )
    assert decided.status_code == 200, decided.text
    # Needs 200,000 of the 250,000 held on its day.
    assert _pay_out(cdf, second.json()["loan"]["id"], "2025-03-08").status_code == 201
    result = _at_meeting(clerk, meeting, 200_000, member, "en")
    assert result["outcome"] == "invalid", result
    message = result["problems"][0]["message"]
    assert "at most 50,000 đồng" in message and "after 8 Mar 2025" in message, message
    # At the counter too, the day to date it after is the later payout's: dated after the
    # first alone, it was refused again.
    _refusal(
        _post(cdf, group, "withdrawal", 200_000, member, "2025-03-05", "en"),
        "amount",
        "cdf_savings_needed_at_payout",
        f"loan {first} was paid out on 6 Mar 2025",
        "Date it after 8 Mar 2025",
    )
    _refusal(
        _post(cdf, group, "withdrawal", 200_000, member, "2025-03-07", "en"),
        "amount",
        "cdf_savings_needed_at_payout",
        "Date it after 8 Mar 2025",
    )
    assert _post(cdf, group, "withdrawal", 150_000, member, "2025-03-09").status_code == 201
    assert _at_meeting(clerk, meeting, 50_000, member)["outcome"] == "created"


# --- a loan keeps its savings share ----------------------------------------------------------


def _share_of_loan(sync_engine: Engine, loan: int) -> int:
    with sync_engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT min_savings_bp FROM cdf_loans WHERE id = :loan"), {"loan": loan}
            ).scalar_one()
        )


def _set_share(sync_engine: Engine, product: int, share: int) -> None:
    """A product edited (no API edits products yet: the database allows it, as a future edit
    screen would)."""
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE cdf_loan_products SET min_savings_bp = :share WHERE id = :id"),
            {"share": share, "id": product},
        )


def test_a_loan_keeps_the_savings_share_it_was_made_with(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    """The savings precondition was read from the loan's product at each use: a product
    edited later changed what its old loans needed. Each loan keeps its own share from its
    application; the payout and every withdrawal dated back before a payout read that."""
    made = _product(cdf, min_savings_bp=1000, term_installments=10)
    assert made.status_code == 201, made.text
    product = made.json()["id"]
    # No product is edited through the API: the same code with another share is refused.
    terms = {k: v for k, v in made.json().items() if k not in ("outcome", "id") and v is not None}
    again = (
        cdf["clients"]
        .as_("maker")
        .post(f"/api/v1/cdf/{CITY}/products", json={**terms, "min_savings_bp": 5000})
    )
    assert again.status_code == 409, again.text
    group, member = _group_with_savings(cdf, 100_000)
    applied = _apply(cdf, group, member, 1_000_000, product=product)
    assert applied.status_code == 201, applied.text
    loan = applied.json()["loan"]
    assert loan["min_savings_bp"] == 1000
    approved = (
        cdf["clients"]
        .as_("checker")
        .post(
            f"/api/v1/cdf/loans/{loan['id']}/decision",
            json={"decision": "approved", "date": "2025-03-01"},
        )
    )
    assert approved.status_code == 200, approved.text

    # The product now asks for half the loan saved: this loan was made needing 10 %.
    _set_share(sync_engine, product, 5000)
    paid = _pay_out(cdf, loan["id"], "2025-03-06")
    assert paid.status_code == 201, paid.text
    assert paid.json()["loan"]["min_savings_bp"] == 1000
    assert _share_of_loan(sync_engine, loan["id"]) == 1000

    # The product asks for nothing now: the loan still needed its 100,000 on its payout day.
    _set_share(sync_engine, product, 0)
    _refusal(
        _post(cdf, group, "withdrawal", 1_000, member, "2025-03-05"),
        "amount",
        "cdf_savings_needed_at_payout",
        "100.000 đồng",
    )
    shown = cdf["clients"].as_("maker").get(f"/api/v1/cdf/loans/{loan['id']}").json()
    assert shown["min_savings_bp"] == 1000

    # A loan applied for after the edit takes the product's share as it is then.
    assert _post(cdf, group, "savings", 900_000, member, "2025-03-07").status_code == 201
    newer = _apply(cdf, group, member, 1_000_000, product=product, day="2025-03-07")
    assert newer.status_code == 201, newer.text
    assert newer.json()["loan"]["min_savings_bp"] == 0


def test_a_loan_inserted_without_its_share_gets_its_products(
    cdf: dict[str, Any], sync_engine: Engine
) -> None:
    """The sample's and the benchmark's COPY, and a plain INSERT in psql, name no share:
    the database copies the product's (migration 0029), never leaves it empty."""
    made = _product(cdf, min_savings_bp=2500, term_installments=10)
    assert made.status_code == 201, made.text
    group, member = _group_with_savings(cdf, 0)
    with sync_engine.begin() as connection:
        fund = connection.execute(
            text("SELECT fund_id FROM cdf_groups WHERE id = :g"), {"g": group}
        ).scalar_one()
        loan = connection.execute(
            text(
                "INSERT INTO cdf_loans (client_id, fund_id, group_id, member_id, product_id, "
                "principal, rate_bp, rate_period, term_installments, frequency, method, "
                "applied_on) VALUES (:client, :fund, :group, :member, :product, 1000000, 100, "
                "'month', 10, 'monthly', 'flat', '2025-03-01') RETURNING id"
            ),
            {"client": uid(), "fund": fund, "group": group, "member": member,
             "product": made.json()["id"]},
        ).scalar_one()  # fmt: skip
    assert _share_of_loan(sync_engine, loan) == 2500
