"""Published figures of a few households are those households' answers: withheld.

A city's admins may publish its aggregates (settlement level) for anyone to read; a
settlement of one approved survey would then publish that household's tenure, toilet and
flooding at a named place. For a reader who sees a place's figures only because they are
published, a place of fewer than `PUBLIC_MIN_HOUSEHOLDS` surveyed households shows its count
and nothing else (no shares, counts, score, rank or survey date).

Subtraction would give them back: a ward's counts less those of its settlements shown are
the counts of the rest of the ward (its withheld settlements, its households in no
settlement). So for every place shown, what its places shown below it leave over (its
residual: the place less the nearest places shown under it) holds no household or at least
`PUBLIC_MIN_HOUSEHOLDS`: where it holds fewer, the smallest place shown under it is withheld
too (the residual grows by it), or, with none left to withhold, the place itself (the usual
secondary suppression of statistics offices), until every residual is safe. Ranks of what
stays shown are counted among what stays shown, so a gap in the ranking does not place a
withheld settlement between two others (docs/maps.md). A settlement that straddles two wards
counts all its households under the ward it is drawn in: there the residual is an estimate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

PUBLIC_MIN_HOUSEHOLDS = 5

_WITHHELD_DATES = ("last_collected_at", "data_date")


def withhold(row: dict[str, Any]) -> None:
    """Blank a row's figures, keeping its place and its count of households."""
    row["withheld"] = True
    if "score" in row:
        row["score"] = None
    for key in ("shares", "counts"):
        if isinstance(row.get(key), dict):
            row[key] = dict.fromkeys(row[key])
    for key in ("rank_in_city", "rank_in_ward", *_WITHHELD_DATES):
        if key in row:
            row[key] = None


def withhold_small(
    root: dict[str, Any],
    children: Callable[[dict[str, Any]], Sequence[dict[str, Any]]],
    published_only: Callable[[dict[str, Any]], bool],
) -> int:
    """Withhold, in the tree of places under `root` (`children` of each), the places the
    reader sees only because they are published (`published_only`) that hold a few
    households, and those whose figures would give them back (the module's rule). The
    number of rows withheld."""
    places: list[dict[str, Any]] = []
    stack = [root]
    while stack:
        place = stack.pop()
        places.append(place)
        stack.extend(children(place))
    hidden = {
        id(place)
        for place in places
        if published_only(place) and 0 < place["households"] < PUBLIC_MIN_HOUSEHOLDS
    }

    def nearest_shown(place: dict[str, Any]) -> list[dict[str, Any]]:
        found, below = [], list(children(place))
        while below:
            child = below.pop()
            if id(child) in hidden:
                below.extend(children(child))
            else:
                found.append(child)
        return found

    unsafe = True
    while unsafe:
        unsafe = False
        for place in places:
            if id(place) in hidden or not published_only(place):
                continue  # withheld, or the reader's own to read whole
            shown = nearest_shown(place)
            residual = place["households"] - sum(child["households"] for child in shown)
            if 0 < residual < PUBLIC_MIN_HOUSEHOLDS:
                more = [c for c in shown if published_only(c) and c["households"] > 0]
                if more:
                    smallest = min(more, key=lambda c: (c["households"], str(c.get("code"))))
                    hidden.add(id(smallest))
                else:
                    hidden.add(id(place))
                unsafe = True
                break
    withheld = [place for place in places if id(place) in hidden]
    for place in withheld:
        withhold(place)
    return len(withheld)


def rerank(
    rows: Iterable[dict[str, Any]], field: str, key: Callable[[dict[str, Any]], Hashable]
) -> None:
    """Rank again (1 = highest score, ties share a rank, as SQL's rank()) among the rows
    still ranked and scored, within each partition `key` names (the one the ranking used)."""
    partitions: dict[Hashable, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get(field) is not None and row.get("score") is not None:
            partitions[key(row)].append(row)
    for ranked in partitions.values():
        ranked.sort(key=lambda row: -row["score"])
        for index, row in enumerate(ranked):
            tied = index and ranked[index - 1]["score"] == row["score"]
            row[field] = ranked[index - 1][field] if tied else index + 1
