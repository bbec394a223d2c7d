"""Which surveys a person may read, as a SQL condition (built by app.services.access)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SurveyScope:
    """Which surveys a list may return: everything, or those of these cities, these wards,
    and those this collector sent (none by collector without one: reviews)."""

    everything: bool = False
    cities: frozenset[int] = frozenset()
    wards: frozenset[int] = frozenset()
    collector_user_id: int | None = None

    def sql(self, alias: str = "h") -> tuple[str, dict[str, Any]]:
        """A SQL condition and its bound parameters (names prefixed scope_)."""
        if self.everything:
            return "TRUE", {}
        clauses = []
        params: dict[str, Any] = {}
        if self.collector_user_id is not None:
            clauses.append(f"{alias}.collector_user_id = :scope_me")
            params["scope_me"] = self.collector_user_id
        if self.cities:
            clauses.append(f"{alias}.city_id = ANY(:scope_cities)")
            params["scope_cities"] = sorted(self.cities)
        if self.wards:
            clauses.append(f"{alias}.ward_id = ANY(:scope_wards)")
            params["scope_wards"] = sorted(self.wards)
        if not clauses:
            return "FALSE", params
        return "(" + " OR ".join(clauses) + ")", params


EVERY_SURVEY = SurveyScope(everything=True)
