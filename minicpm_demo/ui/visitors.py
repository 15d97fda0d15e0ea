"""Who a visitor is (an address), and what each may still do: upload so many bytes an hour, try so many passwords.

Both are kept in memory per address, for at most ``MAX_VISITORS`` addresses (the least recently seen is forgotten
first), and are used from the web server's event loop only.
"""

from __future__ import annotations

import ipaddress
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_VISITORS = 10_000
HOUR_S = 3600.0


def on_a_space() -> bool:
    """Whether this runs in a Hugging Face Space (its containers have SPACE_ID set)."""
    return bool(os.environ.get("SPACE_ID"))


def _private(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return parsed.is_private or parsed.is_loopback


def visitor_address(scope: dict, forwarded_for: str) -> str:
    """The address that stands for the visitor of an ASGI ``scope``.

    X-Forwarded-For is written by whoever sends the request, so it is read only where a proxy of the operator's
    writes it: ``first``/``last`` say the operator has one; ``auto`` trusts it only in a Space, and only from a
    private address (the Space's proxy), taking the first entry. Anywhere else the connection's address counts.
    """
    peer = (scope.get("client") or ("unknown", 0))[0]
    if forwarded_for == "auto":
        forwarded_for = "first" if on_a_space() and _private(peer) else "ignore"
    if forwarded_for == "ignore":
        return peer
    header = ",".join(value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for")
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    if not hops:
        return peer
    return (hops[0] if forwarded_for == "first" else hops[-1])[:64]  # a key, never echoed: a bounded one


class _Recent(OrderedDict):
    """Values per visitor, the least recently used forgotten beyond ``MAX_VISITORS``."""

    def touch(self, visitor: str, default):
        value = self.pop(visitor, default)
        self[visitor] = value
        while len(self) > MAX_VISITORS:
            self.popitem(last=False)
        return value


class UploadQuota:
    """Bytes one visitor may upload: ``per_hour`` in any hour, as a bucket that refills at that rate."""

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic):
        self.per_hour = per_hour
        self.clock = clock
        self._buckets = _Recent()  # visitor -> (bytes left, when counted)

    def take(self, visitor: str, size: int) -> float | None:
        """Charge ``size`` bytes to ``visitor``: None when they fit, else the seconds until they would (inf: never)."""
        if size > self.per_hour:
            return math.inf
        now = self.clock()
        left, counted = self._buckets.touch(visitor, (float(self.per_hour), now))
        left = min(float(self.per_hour), left + (now - counted) * self.per_hour / HOUR_S)
        if size > left:
            self._buckets[visitor] = (left, now)
            return (size - left) * HOUR_S / self.per_hour
        self._buckets[visitor] = (left - size, now)
        return None


@dataclass(frozen=True)
class _Failures:
    count: int
    last: float  # when the last one was
    wait_until: float


class LoginThrottle:
    """Wrong passwords per visitor: ``free`` of them cost nothing; from then on each makes the next attempt wait,
    ``first_wait_s`` and twice as long after each further one, up to ``longest_wait_s``. A right password, or
    ``forget_after_s`` without a wrong one, clears the count."""

    def __init__(self, free: int, first_wait_s: float = 1.0, longest_wait_s: float = 15 * 60,
                 forget_after_s: float = HOUR_S, clock: Callable[[], float] = time.monotonic):
        self.free, self.first_wait_s, self.longest_wait_s = free, first_wait_s, longest_wait_s
        self.forget_after_s = forget_after_s
        self.clock = clock
        self._failures = _Recent()

    def _current(self, visitor: str) -> _Failures | None:
        failures = self._failures.get(visitor)
        if failures is not None and self.clock() - failures.last > self.forget_after_s:
            del self._failures[visitor]
            return None
        return failures

    def wait_s(self, visitor: str) -> float:
        """Seconds before ``visitor`` may try a password again (0: now)."""
        failures = self._current(visitor)
        return 0.0 if failures is None else max(0.0, failures.wait_until - self.clock())

    def failed(self, visitor: str) -> None:
        now = self.clock()
        earlier = self._current(visitor)
        count = (earlier.count if earlier else 0) + 1
        beyond = count - max(self.free, 1)
        wait = 0.0 if beyond < 0 else min(self.longest_wait_s, self.first_wait_s * 2 ** min(beyond, 32))
        self._failures.touch(visitor, None)
        self._failures[visitor] = _Failures(count, now, now + wait)

    def succeeded(self, visitor: str) -> None:
        self._failures.pop(visitor, None)
