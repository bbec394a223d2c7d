"""Who may do what where: roles scoped to a place, and the rules every use case asks.

Roles (a person may hold several, each on its own place):
- volunteer (a ward or a city): submits surveys; reads and corrects their own until reviewed.
- ward leader (a ward): reads, reviews and prints their ward, personal fields included.
- planner (a city): reads, maps and exports the whole city, never personal fields.
- city admin (a city): all of the city, its people and boundaries.
- CDF staff / board (a city): the city's CDF books (app.services.cdf_access says what they
  may do there); granted like the roles above. A savings group's treasurer is granted on its
  group by CDF staff (app.services.cdf_treasurers), not here.
- national admin: everything, cities imported later included.

A place a person may not see answers 404 like one that does not exist (`NotFound`), so that
nobody learns what exists outside their scope. Pure: no database, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from app.db.scope import SurveyScope
from app.errors import NotFound

Role = Literal["volunteer", "ward_leader", "planner", "city_admin", "cdf_staff", "national_admin"]
ROLES: tuple[Role, ...] = (
    "volunteer",
    "ward_leader",
    "planner",
    "city_admin",
    "cdf_staff",
    "national_admin",
)
# Roles held on a whole city, never on a ward.
CITY_WIDE = frozenset({"planner", "city_admin", "cdf_staff"})
SUBMITTERS = frozenset({"volunteer", "ward_leader", "city_admin", "national_admin"})


@dataclass(frozen=True)
class Grant:
    """One role on one place: a ward grant names its city too."""

    role: Role
    city_id: int | None = None
    ward_id: int | None = None
    city: str | None = None  # the city's slug, for display
    cdf_group_id: int | None = None  # a treasurer's savings group (app.services.cdf_access)


@dataclass(frozen=True)
class Assignment:
    """Where a volunteer was sent to survey: their wards (none: any ward of their cities) and
    their cities (none: anywhere, as for every other role). A survey outside them is flagged
    for its reviewer (`outside_assigned_ward`, `outside_assigned_city`), never refused."""

    wards: tuple[int, ...] = ()
    cities: tuple[int, ...] = ()


ANYWHERE = Assignment()


@dataclass(frozen=True)
class Principal:
    """A signed-in person as one request sees them."""

    user_id: int
    username: str
    display_name: str
    grants: tuple[Grant, ...]
    token_id: str | None = None
    token_kind: str | None = None

    @cached_property
    def is_national_admin(self) -> bool:
        """Whether this person may do everything."""
        return any(g.role == "national_admin" for g in self.grants)

    def has_role(self, *roles: str) -> bool:
        """Whether any grant has one of the roles (anywhere)."""
        return self.is_national_admin or any(g.role in roles for g in self.grants)

    def cities_as(self, *roles: str) -> frozenset[int]:
        """Cities where this person holds one of the roles on the whole city."""
        return frozenset(
            g.city_id
            for g in self.grants
            if g.role in roles and g.city_id is not None and g.ward_id is None
        )

    def wards_as(self, *roles: str) -> frozenset[int]:
        """Wards where this person holds one of the roles."""
        return frozenset(g.ward_id for g in self.grants if g.role in roles and g.ward_id)

    def cities_anywhere(self) -> frozenset[int]:
        """Every city any grant touches (a ward grant touches its city)."""
        return frozenset(g.city_id for g in self.grants if g.city_id is not None)

    # --- places -----------------------------------------------------------------------------

    def can_see_city(self, city_id: int) -> bool:
        """Whether the city exists for this person at all (any role in it)."""
        return self.is_national_admin or city_id in self.cities_anywhere()

    def can_read_city(self, city_id: int) -> bool:
        """Whole-city reads: maps, indicators, exports, every survey (planner and up)."""
        return self.is_national_admin or city_id in self.cities_as("planner", "city_admin")

    def can_read_ward(self, city_id: int, ward_id: int) -> bool:
        """A ward's maps, indicators, prints and surveys (its leader, or a city reader)."""
        return self.can_read_city(city_id) or ward_id in self.wards_as("ward_leader")

    def can_read_area(self, city_id: int, ward_id: int | None) -> bool:
        """A settlement's surveys and figures (or a ward's): its ward's leader or a city
        reader; a place in no ward (the outskirts), its city's readers only."""
        if ward_id is None:
            return self.can_read_city(city_id)
        return self.can_read_ward(city_id, ward_id)

    def can_manage_city(self, city_id: int) -> bool:
        """People, roles, boundaries and publishing of a city."""
        return self.is_national_admin or city_id in self.cities_as("city_admin")

    def can_submit(self) -> bool:
        """Whether this person may send surveys."""
        return self._submits

    @cached_property
    def _submits(self) -> bool:
        # Asked on every survey sent: worked out once per person (cached with the token).
        return self.has_role(*SUBMITTERS)

    # --- surveys ----------------------------------------------------------------------------

    def can_read_survey(self, record: dict[str, Any]) -> bool:
        """A stored survey: its collector, its ward's leader, its city's readers."""
        if record.get("collector_user_id") == self.user_id:
            return True
        return self.sees_duplicate_matches(record)

    def sees_duplicate_matches(self, record: dict[str, Any]) -> bool:
        """The `possible_duplicate` flag: whoever may read every survey it may have been
        matched with (its ward's leader, its city's planners and admins: can_read_survey but
        for the collector as such): it tells that a nearby survey has a similar head's name
        or the same phone, and a volunteer sending made-up names next to a house learnt who
        lives there."""
        if self.is_national_admin:
            return True
        city_id, ward_id = record.get("city_id"), record.get("ward_id")
        if city_id is not None and city_id in self.cities_as("planner", "city_admin"):
            return True
        return ward_id is not None and ward_id in self.wards_as("ward_leader")

    def can_see_personal(self, record: dict[str, Any]) -> bool:
        """Names, phones and photos: the collector, the ward leader, the city's admins."""
        if self.is_national_admin or record.get("collector_user_id") == self.user_id:
            return True
        city_id, ward_id = record.get("city_id"), record.get("ward_id")
        if city_id is not None and city_id in self.cities_as("city_admin"):
            return True
        return ward_id is not None and ward_id in self.wards_as("ward_leader")

    def can_review(self, record: dict[str, Any]) -> bool:
        """Approve, send back or reject: the ward's leader and the city's admins."""
        if self.is_national_admin:
            return True
        city_id, ward_id = record.get("city_id"), record.get("ward_id")
        if city_id is not None and city_id in self.cities_as("city_admin"):
            return True
        return ward_id is not None and ward_id in self.wards_as("ward_leader")

    def collected(self, record: dict[str, Any]) -> bool:
        """Whether this person sent the survey: nobody reviews their own (four eyes), an
        admin neither."""
        collector = record.get("collector_user_id")
        return collector is not None and collector == self.user_id

    def can_correct(self, record: dict[str, Any]) -> bool:
        """The collector, until the survey is approved or rejected."""
        return record.get("collector_user_id") == self.user_id and record.get("status") in (
            "received",
            "needs_correction",
        )

    def assignment(self) -> Assignment:
        """Where this person was sent to survey (see Assignment)."""
        return self._assignment

    @cached_property
    def _assignment(self) -> Assignment:
        if any(g.role != "volunteer" for g in self.grants):
            return ANYWHERE
        cities = tuple(sorted({g.city_id for g in self.grants if g.city_id is not None}))
        if any(g.ward_id is None for g in self.grants):  # a city-wide grant: any ward
            return Assignment(cities=cities)
        return Assignment(tuple(sorted({g.ward_id for g in self.grants if g.ward_id})), cities)

    def survey_filter(self) -> SurveyScope:
        """The surveys this person may read, as a filter for list queries."""
        if self.is_national_admin:
            return SurveyScope(everything=True)
        return SurveyScope(
            cities=self.cities_as("planner", "city_admin"),
            wards=self.wards_as("ward_leader"),
            collector_user_id=self.user_id,
        )

    def waiting_scope(self) -> SurveyScope:
        """Where surveys still waiting for review count for this person (`surveys=all`):
        the places whose surveys they may read, their own as a collector aside (counts are
        summed by place, not by collector)."""
        scope = self.survey_filter()
        return SurveyScope(everything=scope.everything, cities=scope.cities, wards=scope.wards)

    def review_filter(self) -> SurveyScope:
        """The surveys this person may review, as a filter (the rule of `can_review`)."""
        if self.is_national_admin:
            return SurveyScope(everything=True)
        return SurveyScope(cities=self.cities_as("city_admin"), wards=self.wards_as("ward_leader"))

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of the person and their roles (GET /api/v1/me)."""
        return {
            "id": self.user_id,
            "username": self.username,
            "display_name": self.display_name,
            "roles": [
                {"role": g.role, "city": g.city, "city_id": g.city_id, "ward_id": g.ward_id}
                | ({"cdf_group_id": g.cdf_group_id} if g.cdf_group_id else {})
                for g in self.grants
            ],
        }


def grants_from_rows(rows: Iterable[dict[str, Any]]) -> tuple[Grant, ...]:
    """Grants from database rows (role, city_id, ward_id, city)."""
    return tuple(
        Grant(
            row["role"],
            row.get("city_id"),
            row.get("ward_id"),
            row.get("city"),
            row.get("cdf_group_id"),
        )
        for row in rows
        if row.get("role")
    )


def require(condition: bool, what: str = "not_found", **params: Any) -> None:
    """Raise NotFound unless `condition`: what a person may not see does not exist for them."""
    if not condition:
        raise NotFound(what, **params)


# The command line, run by whoever runs the server: every city.
SYSTEM = Principal(
    user_id=0, username="cli", display_name="command line", grants=(Grant("national_admin"),)
)
