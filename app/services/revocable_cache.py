"""Who may do what, remembered for a few seconds, and forgotten at once on a revoke.

The token cache (app.services.auth), GIS clients' passwords (app.services.basic_auth) and
Collect's people and passwords (app.services.odk_auth) each keep lookups for `seconds` (10 s)
and are emptied whenever this process revokes anything. Emptying is not enough: a lookup that
read a token, a person or a password before a revoke and ends after it (its statement
answered, then the revoke committed and emptied the cache) stored its stale answer, and a
revoked token kept working for 10 s. So each lookup notes the cache's generation before it
starts (`begin`), every forget moves the generation, and `put` stores an answer only when
the generation has not moved since: the lookup still answers the request that made it (which
began before the revoke), but no later one.

Why not cachetools' TTLCache: the expiry and the size bound are a dozen lines; what matters
here is the generation rule, which it has not, and this keeps a cache hit (every request
with a token) one dictionary lookup and a comparison.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Lookup:
    """Noted when a lookup starts: the cache's generation then, and the time."""

    generation: int
    started: float


class RevocableCache(Generic[K, V]):
    """Up to `size` answers, each live `seconds` from the start of the lookup that found it;
    the oldest stored is dropped first."""

    def __init__(self, seconds: float, size: int) -> None:
        self.seconds = seconds
        self._size = size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._generation = 0

    def get(self, key: K) -> V | None:
        """The live answer for `key`, or None."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def peek(self, key: K) -> V | None:
        """The answer stored for `key`, live or expired (what a lookup carries over)."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def begin(self) -> Lookup:
        """Note a lookup's start: pass it to put() with the lookup's answer."""
        return Lookup(self._generation, time.monotonic())

    def put(self, key: K, value: V, lookup: Lookup) -> bool:
        """Remember a lookup's answer, unless something was forgotten since it began (it may
        have read what the forget revoked); whether it was stored."""
        if lookup.generation != self._generation:
            return False
        self._entries[key] = (lookup.started + self.seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return True

    def discard(self, key: K) -> None:
        """Drop one answer known to be out of date (no lookup under way is affected)."""
        self._entries.pop(key, None)

    def forget(self, which: Callable[[V], bool] | None = None) -> None:
        """Drop every answer (or those `which` picks), and keep no lookup under way."""
        self._generation += 1
        if which is None:
            self._entries.clear()
            return
        for key in [key for key, entry in self._entries.items() if which(entry[1])]:
            del self._entries[key]
