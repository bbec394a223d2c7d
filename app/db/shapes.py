"""Queries that give surveys stored before their area was kept (migration 0020) their shape."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from app.db.submissions import place_in_city

# A page of a form version's surveys with an answer to the area's question and no shape yet,
# in id order from `after` (keyset: each page costs what the first does).
_WITHOUT_SHAPE = text(
    """
SELECT id, answers->>:question AS answer FROM household_surveys
WHERE form_id = :form AND form_version = :version AND shape IS NULL
  AND coalesce(answers->>:question, '') <> '' AND id > :after
ORDER BY id LIMIT :limit
"""
)
# The shapes of a page, each survey locked first in id order (as every statement that
# changes several surveys takes them: see app/db/submissions.REPLACE_HOUSEHOLDS); one that
# got a shape meanwhile (a correction) keeps it. One without a point is placed by a point
# inside its area, as intake places it now, when that point is in a ward of its city;
# otherwise it keeps the place intake gave it (its collector's).
_SET_SHAPES = text(
    """
WITH given AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:shapes AS text[]),
                         CAST(:crossing AS boolean[])) AS g(id, wkt, crossing)
), locked AS (
    SELECT h.id, h.city_id, h.geom IS NULL AS unlocated
    FROM household_surveys h JOIN given g ON g.id = h.id
    WHERE h.shape IS NULL ORDER BY h.id FOR NO KEY UPDATE OF h
), placed AS (
    SELECT l.id, w.id AS ward_id, s.id AS settlement_id
    FROM locked l JOIN given g ON g.id = l.id
    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(ST_GeomFromText(g.wkt, 4326)) AS point) p"""
    + place_in_city("l.city_id", "p.point")
    + """
    WHERE l.unlocated AND w.id IS NOT NULL
)
UPDATE household_surveys h
SET shape = ST_GeomFromText(g.wkt, 4326),
    flags = CASE WHEN g.crossing AND NOT 'shape_self_intersects' = ANY(h.flags)
                 THEN array_append(h.flags, 'shape_self_intersects') ELSE h.flags END,
    ward_id = CASE WHEN pl.id IS NULL THEN h.ward_id ELSE pl.ward_id END,
    settlement_id = CASE WHEN pl.id IS NULL THEN h.settlement_id ELSE pl.settlement_id END
FROM given g JOIN locked l ON l.id = g.id LEFT JOIN placed pl ON pl.id = g.id
WHERE h.id = g.id
"""
)
FIRST_ID = uuid.UUID(int=0)


def without_shape(
    connection: Connection,
    form_id: str,
    version: str,
    question: str,
    after: uuid.UUID,
    limit: int,
) -> list[tuple[uuid.UUID, str]]:
    """Up to `limit` surveys of a form version (ids after `after`) answering `question`
    without a stored shape: (id, the answer's text)."""
    rows = connection.execute(
        _WITHOUT_SHAPE,
        {
            "form": form_id,
            "version": version,
            "question": question,
            "after": after,
            "limit": limit,
        },
    )
    return [(row.id, row.answer) for row in rows]


def set_shapes(connection: Connection, shapes: Sequence[tuple[uuid.UUID, str, bool]]) -> int:
    """Store each survey's shape (id, WKT, whether it crosses itself: then flagged) unless
    it has one; how many were stored."""
    if not shapes:
        return 0
    params: dict[str, Any] = {
        "ids": [survey_id for survey_id, _, _ in shapes],
        "shapes": [wkt for _, wkt, _ in shapes],
        "crossing": [crossing for _, _, crossing in shapes],
    }
    return int(connection.execute(_SET_SHAPES, params).rowcount or 0)
