"""Login throttling that cannot lock the rightful user out.

Failures are counted per account *and* address: after ``login_max_attempts`` failures for one
username from one address within ``login_window``, that pair is refused until the window
passes. Someone guessing ``admin``'s password from their own machine locks only themselves; the
administrator signs in from anywhere else. One address failing on many usernames (spraying) is
refused after four times the limit — except for an account that signed in successfully from
that address within ``KNOWN_ADDRESS_DAYS`` (its known-good addresses), so a shared hall NAT
under attack does not lock out the staff who work behind it.

Counters live in Redis so every hub process shares them, and expire on their own.
"""

from __future__ import annotations

from redis.asyncio import Redis

from channels import names
from hub.errors import TooManyRequests

KNOWN_ADDRESS_DAYS = 30


class LoginThrottle:
    def __init__(self, redis: Redis, max_attempts: int, window_seconds: int) -> None:
        self.redis = redis
        self.max_attempts = max_attempts
        self.window = window_seconds

    def _keys(self, username: str, client: str) -> list[str]:
        return [names.login_pair_key(username, client), names.login_attempts_key(f"ip:{client}")]

    async def check(self, username: str, client: str) -> None:
        """Raises TooManyRequests while this username is locked out at this address, or the
        address is locked out for usernames that never signed in from it."""
        keys = self._keys(username, client)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.mget(keys)
            pipe.sismember(names.login_known_key(username), client)
            counts, known = await pipe.execute()
        # An address gets more room than a pair: a whole counter may share one NAT address.
        limits = [self.max_attempts, None if known else self.max_attempts * 4]
        for key, count, limit in zip(keys, counts, limits, strict=True):
            if limit is not None and count is not None and int(count) >= limit:
                wait = max(int(await self.redis.ttl(key)), 1)
                minutes = (wait + 59) // 60
                raise TooManyRequests(
                    f"too many failed sign-in attempts; try again in {minutes} minute(s)",
                    code="login_throttled", retry_after=wait)

    async def failed(self, username: str, client: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(username, client):
                # SET NX starts the window once; INCR keeps the TTL (works on Redis 6.2 too,
                # which has no EXPIRE NX).
                pipe.set(key, 0, ex=self.window, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def succeeded(self, username: str, client: str) -> None:
        known = names.login_known_key(username)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(names.login_pair_key(username, client))
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
