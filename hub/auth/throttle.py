"""Login throttling that cannot lock the rightful user out.

Failures are counted per account *and* address: after ``login_max_attempts`` failures for one
username from one address within ``login_window``, that pair is refused until the window
passes. Someone guessing ``admin``'s password from their own machine locks only themselves; the
administrator signs in from anywhere else. One address failing on many usernames (spraying) is
refused after four times the limit — except for an account that signed in successfully from
that address within ``KNOWN_ADDRESS_DAYS`` (its known-good addresses), so a shared hall NAT
under attack does not lock out the staff who work behind it.

Before the lockout, each pair slows down: from its ``delay_after``-th failure on, its next
attempt must wait 1 s, then 2, 4, 8 … (capped at ``delay_max``) — refused with 429 and
Retry-After *before* the password is checked, so a guesser gets neither an answer nor an Argon2
verification out of the hub, and no request is held open waiting. A success or the end of the
window (the pair's counter expiring) starts it over. The wait is a Redis key whose TTL is the
delay, so every hub process sees the same wait on Redis's clock, not on its own.

Counters live in Redis so every hub process shares them, and expire on their own.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

from channels import names
from hub.errors import TooManyRequests

KNOWN_ADDRESS_DAYS = 30
# The first wait; each further failure doubles it (up to the cap).
DELAY_BASE_S = 1.0


def login_delay(failures: int, after: int, cap_seconds: float) -> float:
    """Seconds a username+address pair waits before its next attempt, after ``failures``
    failures in the window: none before the ``after``-th, then 1, 2, 4 … capped at
    ``cap_seconds`` (0: no delays at all)."""
    if cap_seconds <= 0 or failures < after:
        return 0.0
    # The exponent is bounded so that a huge count cannot overflow before the cap applies.
    return min(cap_seconds, DELAY_BASE_S * 2.0 ** min(failures - after, 40))


class LoginThrottle:
    def __init__(self, redis: Redis, max_attempts: int, window_seconds: int,
                 delay_after: int = 2, delay_max_seconds: float = 60.0) -> None:
        self.redis = redis
        self.max_attempts = max_attempts
        self.window = window_seconds
        self.delay_after = delay_after
        self.delay_max = delay_max_seconds

    def _keys(self, username: str, client: str) -> list[str]:
        return [names.login_pair_key(username, client), names.login_attempts_key(f"ip:{client}")]

    async def check(self, username: str, client: str) -> None:
        """Raises TooManyRequests while this username is locked out at this address, or the
        address is locked out for usernames that never signed in from it, or the pair must
        still wait after its last failure (``reason="login_delayed"``, ``params["seconds"]``).

        Called before the password is looked at: a refusal costs a Redis round trip or two, not
        an Argon2 verification."""
        keys = self._keys(username, client)
        wait_key = names.login_wait_key(username, client)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.mget(keys)
            pipe.sismember(names.login_known_key(username), client)
            pipe.pttl(wait_key)
            counts, known, wait_ms = await pipe.execute()
        # An address gets more room than a pair: a whole counter may share one NAT address.
        limits = [self.max_attempts, None if known else self.max_attempts * 4]
        for key, count, limit in zip(keys, counts, limits, strict=True):
            if limit is not None and count is not None and int(count) >= limit:
                wait = max(int(await self.redis.ttl(key)), 1)
                minutes = (wait + 59) // 60
                raise TooManyRequests(
                    f"too many failed sign-in attempts; try again in {minutes} minute(s)",
                    code="login_throttled", retry_after=wait)
        failures = int(counts[0] or 0)
        if int(wait_ms) <= 0 and login_delay(failures, self.delay_after, self.delay_max) > 0:
            # The pair is slowed down and its wait is over: this attempt takes the next slot
            # (SET NX) for as long as its failure would make the next one wait. Without the
            # claim a burst of parallel attempts would all pass here before the first failure
            # is counted, each getting a password check.
            claim_ms = math.ceil(1000 * login_delay(failures + 1, self.delay_after,
                                                    self.delay_max))
            if await self.redis.set(wait_key, 1, px=claim_ms, nx=True):
                return
            wait_ms = await self.redis.pttl(wait_key)
        if int(wait_ms) > 0:
            seconds = max(math.ceil(int(wait_ms) / 1000), 1)
            raise TooManyRequests(
                f"sign-in failed several times; try again in {seconds} second(s)",
                code="login_throttled", reason="login_delayed", params={"seconds": seconds},
                retry_after=seconds)

    async def failed(self, username: str, client: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(username, client):
                # SET NX starts the window once; INCR keeps the TTL (works on Redis 6.2 too,
                # which has no EXPIRE NX).
                pipe.set(key, 0, ex=self.window, nx=True)
                pipe.incr(key)
            _, pair_failures, _, _ = await pipe.execute()
        delay = login_delay(int(pair_failures), self.delay_after, self.delay_max)
        if delay > 0:
            # Overwrites this attempt's claim (check): the wait starts when the failure is known.
            await self.redis.set(names.login_wait_key(username, client), 1,
                                 px=math.ceil(delay * 1000))

    async def succeeded(self, username: str, client: str) -> None:
        known = names.login_known_key(username)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(names.login_pair_key(username, client),
                        names.login_wait_key(username, client))
            pipe.sadd(known, client)
            pipe.expire(known, KNOWN_ADDRESS_DAYS * 86400)
            await pipe.execute()


async def limit_rate(redis: Redis, scope: str, client: str, limit: int, window: int) -> None:
    """A fixed-window limit of ``limit`` requests per ``window`` seconds for one client address.

    Used where a public endpoint could be walked (registration numbers are sequential, so
    ``/track`` would otherwise list a day's requests to anyone who counts).

    Raises:
        TooManyRequests: the client used up its window.
    """
    key = names.rate_key(scope, client)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = await pipe.execute()
    if int(count) > limit:
        wait = max(int(ttl), 1)
        raise TooManyRequests(f"too many requests; try again in {wait} seconds",
                              code="rate_limited", retry_after=wait)
