"""Published figures of a few households are those households' answers: withheld.

A city's admins may publish its aggregates (settlement level) for anyone to read; a
settlement of one approved survey would then publish that household's tenure, toilet and
flooding at a named place. For a reader who sees a place's figures only because they are
published, a place of fewer than `PUBLIC_MIN_HOUSEHOLDS` surveyed households shows its count
and nothing else (no shares, counts, score, rank or survey date). Subtraction could still
find them (a ward's figures less its other settlements'), so within each parent the withheld
places together hold at least `PUBLIC_MIN_HOUSEHOLDS` households: if not, the smallest
published sibling is withheld with them (the usual secondary suppression of statistics
offices). Ranks of what stays shown are counted among what stays shown, so a gap in the
ranking does not place a withheld settlement between two others (docs/maps.md).
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
    families: Sequence[tuple[list[dict[str, Any]], dict[str, Any] | None]],
    published_only: Callable[[dict[str, Any]], bool],
) -> int:
    """Withhold the small places among siblings, for places the reader sees only because
    they are published (`published_only`). `families`: each place's children with the place
    (None: no parent shown), children before their parents (settlements by ward, the wards,
    the city). Where the withheld children cannot be made `PUBLIC_MIN_HOUSEHOLDS` together
    from published siblings, their parent is withheld too (its figures less the siblings'
    would give them). The number of rows withheld."""
    withheld: dict[int, dict[str, Any]] = {}
    for children, parent in families:
        public = [row for row in children if published_only(row)]
        small = [
            row
            for row in public
            if id(row) in withheld or 0 < row["households"] < PUBLIC_MIN_HOUSEHOLDS
        ]
        hidden = sum(row["households"] for row in small)
        shown = sorted(
            (row for row in public if row["households"] >= PUBLIC_MIN_HOUSEHOLDS),
            key=lambda row: (row["households"], str(row.get("code") or "")),
        )
        shown = [row for row in shown if id(row) not in withheld]
        while 0 < hidden < PUBLIC_MIN_HOUSEHOLDS and shown:
            sibling = shown.pop(0)
            small.append(sibling)
            hidden += sibling["households"]
        if 0 < hidden < PUBLIC_MIN_HOUSEHOLDS and parent is not None and published_only(parent):
            withheld[id(parent)] = parent
        for row in small:
            withheld[id(row)] = row
    for row in withheld.values():
        withhold(row)
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
