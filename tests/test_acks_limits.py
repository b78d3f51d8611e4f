"""Invalid-token rate limiting per client address (a fake clock, no sleeping)."""

from __future__ import annotations

import pytest

from console.acks.limits import FailureLimiter, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_blocks_after_too_many_failures_within_the_window(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=3, window=10, block=60, clock=clock)
    assert [limiter.failure("192.0.2.1") for _ in range(2)] == [False, False]
    assert limiter.retry_after("192.0.2.1") == 0
    assert limiter.failure("192.0.2.1") is True
    assert limiter.retry_after("192.0.2.1") == 60
    assert limiter.retry_after("192.0.2.2") == 0  # another address is not affected
    clock.now += 59.5
    assert limiter.retry_after("192.0.2.1") == pytest.approx(0.5)
    clock.now += 1
    assert limiter.retry_after("192.0.2.1") == 0


def test_failures_spread_over_time_never_block(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=3, window=10, block=60, clock=clock)
    for _ in range(20):
        assert limiter.failure("192.0.2.1") is False
        clock.now += 6
    assert limiter.retry_after("192.0.2.1") == 0


def test_after_the_block_the_count_starts_afresh(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=2, window=10, block=5, clock=clock)
    limiter.failure("192.0.2.1")
    assert limiter.failure("192.0.2.1") is True
    clock.now += 6
    assert limiter.retry_after("192.0.2.1") == 0
    assert limiter.failure("192.0.2.1") is False


def test_ipv6_clients_count_per_64(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=2, window=10, block=60, clock=clock)
    limiter.failure("2001:db8:1:2::1")
    assert limiter.failure("2001:db8:1:2:ffff::9") is True
    assert limiter.retry_after("2001:db8:1:2::77") > 0
    assert limiter.retry_after("2001:db8:1:3::1") == 0


def test_client_key() -> None:
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("2001:db8::1") == "2001:db8::/64"
    assert client_key("unix-socket") == "unix-socket"


def test_memory_is_bounded(clock: Clock) -> None:
    limiter = FailureLimiter(max_failures=5, window=10, block=60, max_tracked=100, clock=clock)
    for i in range(1000):
        limiter.failure(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._failures) <= 100


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        FailureLimiter(max_failures=0)
