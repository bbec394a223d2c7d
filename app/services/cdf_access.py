"""Who may read and post what in a CDF's books: the roles of app.services.access, plus two.

- cdf_staff (a city): the fund's staff and board: registers groups, members, products and
  capital, records and approves loans (never a loan they recorded: maker-checker), posts
  for any group of the city, closes periods. A city admin may do the same.
- treasurer (thủ quỹ, one savings group): reads their group and posts its meetings, savings,
  fines, mutual aid, withdrawals and repayments; nothing of other groups exists for them.
- planner (a city): reads the city's groups and reports, never members' names.
- ward leader (a ward): reads the groups of settlements in their ward, names included.
- national admin: everything.

Members' names are personal fields: shown to CDF staff, city admins, the group's treasurer
and its ward's leader; others see member codes only. Pure: no database, no HTTP.
"""

from __future__ import annotations

from typing import Any

from app.services.access import Principal

# The CDF's own roles, beside the survey roles (app.services.access.ROLES).
CDF_ROLES = ("cdf_staff", "treasurer")
STAFF_ROLES = ("cdf_staff", "city_admin")
CITY_READERS = ("cdf_staff", "city_admin", "planner")


def treasurer_groups(user: Principal) -> frozenset[int]:
    """The savings groups this person keeps the cash book of."""
    groups: set[int] = set()
    for grant in user.grants:
        if grant.role == "treasurer" and grant.cdf_group_id is not None:
            groups.add(grant.cdf_group_id)
    return frozenset(groups)


def is_staff(user: Principal, city_id: int) -> bool:
    """CDF staff of the city (or its admin, or a national admin)."""
    return user.is_national_admin or city_id in user.cities_as(*STAFF_ROLES)


def can_read_city_books(user: Principal, city_id: int) -> bool:
    """The city's fund, every group and its reports."""
    return user.is_national_admin or city_id in user.cities_as(*CITY_READERS)


def can_read_group(user: Principal, group: dict[str, Any]) -> bool:
    """One group's statement: the city's readers, its ward's leader, its treasurer."""
    if can_read_city_books(user, group["city_id"]) or group["id"] in treasurer_groups(user):
        return True
    return group.get("ward_id") is not None and group["ward_id"] in user.wards_as("ward_leader")


def can_post_group(user: Principal, group: dict[str, Any]) -> bool:
    """Meetings and the money of one group: CDF staff of the city, or its treasurer."""
    return is_staff(user, group["city_id"]) or group["id"] in treasurer_groups(user)


def can_see_member_names(user: Principal, group: dict[str, Any]) -> bool:
    """Members' names (personal): staff, the group's treasurer, its ward's leader."""
    if is_staff(user, group["city_id"]) or group["id"] in treasurer_groups(user):
        return True
    return group.get("ward_id") is not None and group["ward_id"] in user.wards_as("ward_leader")


def readable_groups_filter(
    user: Principal, city_id: int
) -> tuple[bool, frozenset[int], frozenset[int]]:
    """For lists: (whole city, these group ids, groups in these wards)."""
    if can_read_city_books(user, city_id):
        return True, frozenset(), frozenset()
    return False, treasurer_groups(user), user.wards_as("ward_leader")
