"""argon2's threads take a bounded queue, and sign-in failures are counted by network."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import TooManyRequests
from app.services.auth import PasswordThreads, hash_password, throttled_address
from tests.aio import run

STORED = hash_password("mật khẩu đúng")


def test_checks_past_the_queue_are_refused_at_once_and_the_others_go_on() -> None:
    """100 wrong sign-ins from 100 addresses queued a right one 9.5 s behind them; every
    HTTP Basic check (Collect, /ogc, /tiles) waits in the same queue (review). Past the
    threads and the queue, a check is refused at once (429), and the queue drains."""
    threads = PasswordThreads(threads=1, queue=2)

    async def burst() -> list[bool | BaseException]:
        checks = [threads.check(STORED, "sai") for _ in range(6)]
        return await asyncio.gather(*checks, return_exceptions=True)

    try:
        answers = run(burst())
        refused = [a for a in answers if isinstance(a, TooManyRequests)]
        assert [a for a in answers if not isinstance(a, BaseException)] == [False] * 3
        assert len(refused) == 3 and {r.code for r in refused} == {"sign_in_busy"}
        assert refused[0].params["retry_after"] == 5
        assert not threads.full()
        assert run(threads.check(STORED, "mật khẩu đúng")) is True
    finally:
        threads.close()


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("203.0.113.9", "203.0.113.9"),
        ("unknown", "unknown"),
        ("x" * 500, "x" * 64),
    ],
)
def test_an_ipv6_address_is_counted_by_its_network(address: str, counted_as: str) -> None:
    """Each address of one IPv6 /64 had its own 30 failures (review)."""
    assert throttled_address(address) == counted_as
