"""What the services keep per pool (the boundary index, the groups of single surveys, the city
slugs seen) goes with the pool: an app's pool, once dropped, is freed with all of it."""

from __future__ import annotations

import gc
import weakref

from app.db import submissions as queries
from app.db.pool import StatementPool
from app.services import placement


def test_a_dropped_pool_is_freed_with_what_the_services_keep_for_it() -> None:
    # The index and the groups were values of WeakKeyDictionaries keyed by the pool, and each
    # held the pool: the key never died, so every app built (tests, reloads) stayed in memory.
    pool = StatementPool("postgresql://nobody@127.0.0.1:1/none", 2, {})
    index = placement.boundary_index(pool)
    groups = queries.InsertGroups(pool)
    pool.state["insert_groups"] = groups
    assert placement.boundary_index(pool) is index  # one index per pool
    gone = weakref.ref(pool), weakref.ref(index), weakref.ref(groups)
    del pool, index, groups
    gc.collect()
    assert [ref() for ref in gone] == [None, None, None]


def test_each_pool_has_its_own_index() -> None:
    first = StatementPool("postgresql://nobody@127.0.0.1:1/a", 1, {})
    second = StatementPool("postgresql://nobody@127.0.0.1:1/b", 1, {})
    assert placement.boundary_index(first) is not placement.boundary_index(second)
