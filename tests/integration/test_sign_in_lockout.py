"""Sign-in throttling that an outsider cannot turn against the account's owner.

Five wrong passwords for an account from anywhere refused it everywhere for 15 minutes: anyone
who knew a ward leader's username could keep them out of the review page all day with five
requests a quarter of an hour. An address the account signed in from lately (the ward office,
the leader's home) is now held to that account's failures from that address only; elsewhere
the account's failures from everywhere still count, as before, so a guesser spread over many
addresses gets no more tries than before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.errors import TooManyRequests, Unauthorized
from app.services.auth import Authenticator, AuthPolicy, hash_password
from app.settings import Settings
from tests.aio import run
from tests.auth import make_user

PASSWORD = "mật-khẩu-đủ-dài"
OFFICE = "203.0.113.7"  # where the owner signs in
ATTACKER = "198.51.100.9"
ELSEWHERE = "192.0.2.44"


@pytest.fixture
def auth(sync_engine: Engine) -> Iterator[Authenticator]:
    authenticator = Authenticator(None, os.environ["SECRET_KEY"].encode(), AuthPolicy())  # type: ignore[arg-type]
    yield authenticator
    authenticator.close()
    with sync_engine.begin() as connection:
        connection.execute(text("DELETE FROM sign_in_failures WHERE username LIKE 'lockout-%'"))
        connection.execute(text("DELETE FROM sign_in_addresses WHERE username LIKE 'lockout-%'"))


def attempt(settings: Settings, auth: Authenticator, *tries: tuple[str, str, str]) -> list[str]:
    """Each (username, password, address) tried in turn: "ok", "wrong" or "throttled"."""

    async def go() -> list[str]:
        engine = make_engine(settings.async_database_url, 2, 2)
        outcomes = []
        try:
            for username, password, address in tries:
                try:
                    await auth.check_sign_in(engine, username, password, address)
                    outcomes.append("ok")
                except Unauthorized:
                    outcomes.append("wrong")
                except TooManyRequests:
                    outcomes.append("throttled")
        finally:
            await engine.dispose()
        return outcomes

    return run(go())


def test_an_outsiders_guesses_do_not_lock_the_owner_out_where_they_sign_in(
    settings: Settings, sync_engine: Engine, auth: Authenticator
) -> None:
    make_user(sync_engine, "lockout-leader", [], password_hash=hash_password(PASSWORD))
    user = "lockout-leader"
    assert attempt(settings, auth, (user, PASSWORD, OFFICE)) == ["ok"]
    guesses = attempt(settings, auth, *[(user, f"guess-{i}-xx", ATTACKER) for i in range(6)])
    assert guesses == ["wrong"] * 5 + ["throttled"]
    # Anywhere new, the account is held as before (a guesser moving address gets nothing),
    assert attempt(settings, auth, (user, PASSWORD, ELSEWHERE)) == ["throttled"]
    # but at the office the owner signs in: the attacker's failures are not the office's.
    assert attempt(settings, auth, (user, PASSWORD, OFFICE)) == ["ok"]
    # A success clears the account's failures: elsewhere works again.
    assert attempt(settings, auth, (user, PASSWORD, ELSEWHERE)) == ["ok"]


def test_a_known_address_is_still_throttled_on_its_own_failures(
    settings: Settings, sync_engine: Engine, auth: Authenticator
) -> None:
    make_user(sync_engine, "lockout-shared", [], password_hash=hash_password(PASSWORD))
    user = "lockout-shared"
    assert attempt(settings, auth, (user, PASSWORD, OFFICE)) == ["ok"]
    # Someone in the same office (behind the same address) guessing: five tries, as anyone.
    guesses = attempt(settings, auth, *[(user, f"guess-{i}-xx", OFFICE) for i in range(6)])
    assert guesses == ["wrong"] * 5 + ["throttled"]
    assert attempt(settings, auth, (user, PASSWORD, OFFICE)) == ["throttled"]


def test_an_address_is_known_for_its_own_account_and_for_a_while_only(
    settings: Settings, sync_engine: Engine, auth: Authenticator
) -> None:
    for name in ("lockout-a", "lockout-b"):
        make_user(sync_engine, name, [], password_hash=hash_password(PASSWORD))
    assert attempt(settings, auth, ("lockout-a", PASSWORD, OFFICE)) == ["ok"]
    # Known for lockout-a, not for lockout-b: b is held everywhere after five failures.
    attempt(settings, auth, *[("lockout-b", f"guess-{i}-xx", ATTACKER) for i in range(5)])
    assert attempt(settings, auth, ("lockout-b", PASSWORD, OFFICE)) == ["throttled"]
    # A success long ago no longer makes the address known.
    with sync_engine.begin() as connection:
        connection.execute(
            text("UPDATE sign_in_addresses SET last_at = :then WHERE username = 'lockout-a'"),
            {"then": datetime.now(UTC) - timedelta(days=61)},
        )
    attempt(settings, auth, *[("lockout-a", f"guess-{i}-xx", ATTACKER) for i in range(5)])
    assert attempt(settings, auth, ("lockout-a", PASSWORD, OFFICE)) == ["throttled"]


def test_an_ipv6_owner_is_known_by_their_network(
    settings: Settings, sync_engine: Engine, auth: Authenticator
) -> None:
    # A phone's IPv6 address changes within its /64 (privacy addresses): still the same place.
    make_user(sync_engine, "lockout-v6", [], password_hash=hash_password(PASSWORD))
    user = "lockout-v6"
    assert attempt(settings, auth, (user, PASSWORD, "2001:db8:1:2::10")) == ["ok"]
    attempt(settings, auth, *[(user, f"guess-{i}-xx", ATTACKER) for i in range(5)])
    assert attempt(settings, auth, (user, PASSWORD, "2001:db8:1:2:abcd::99")) == ["ok"]
