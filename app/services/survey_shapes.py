"""Use case: give the surveys stored before their area was kept (migration 0020, or before
their form's location became a geoshape) the polygon of their answer, as intake makes it now.

Run once after upgrading (`cdfmap fill-shapes`); safe to run again: only surveys without a
shape are read. Each page of surveys is its own transaction, so a large table is never
locked at once and an interrupted run keeps what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from app.db import shapes as queries
from app.forms.registry import FormRegistry
from app.geo.geoshape import GeoshapeError, read_geoshape

PAGE = 500


@dataclass
class FilledShapes:
    """What a run did: shapes stored, of them those flagged as crossing themselves, and the
    surveys whose answer is no polygon (refused today; their layer shows no geometry)."""

    filled: int = 0
    crossing: int = 0
    unreadable: list[str] = field(default_factory=list)


def fill_shapes(engine: Engine, forms: FormRegistry, page: int = PAGE) -> FilledShapes:
    """Store the shape of every survey of a form version whose location is a geoshape
    (FormDefinition.shape_question) that has an answer and no shape yet."""
    result = FilledShapes()
    for form_id, versions in sorted(forms.versions.items()):
        for version, form in sorted(versions.items()):
            question = form.shape_question
            if question is None:
                continue
            after = queries.FIRST_ID
            while True:
                with engine.begin() as connection:
                    rows = queries.without_shape(
                        connection, form_id, version, question.name, after, page
                    )
                    shapes = []
                    for survey_id, answer in rows:
                        try:
                            shape = read_geoshape(answer)
                        except GeoshapeError:
                            result.unreadable.append(str(survey_id))
                            continue
                        shapes.append((survey_id, shape.wkt, shape.self_intersects))
                    result.filled += queries.set_shapes(connection, shapes)
                    result.crossing += sum(crossing for _, _, crossing in shapes)
                if len(rows) < page:
                    break
                after = rows[-1][0]
    return result
