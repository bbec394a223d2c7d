"""Two more synthetic member cities of the CDF network, elsewhere in Vietnam, so that the
national view has three cities on `make run`.

Each is a sample city generated with its own seed (app/geo/sample_city.py), moved to the
city's real centre and given its real wards' names; its settlements and households are
invented like Tam Kỳ's. Pure: no database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from shapely import affinity

from app.geo import sample_city
from app.geo.sample_city import SampleCity, SampleSettlement, SampleWard


@dataclass(frozen=True)
class MemberCity:
    slug: str
    name: str
    province: str
    lon: float
    lat: float
    wards: tuple[str, ...]  # ten ward names
    seed_offset: int


MEMBER_CITIES = (
    MemberCity(
        "long-xuyen",
        "Long Xuyên",
        "An Giang",
        105.435,
        10.386,
        (
            *("Mỹ Bình", "Mỹ Long", "Mỹ Xuyên", "Mỹ Phước", "Mỹ Quý", "Mỹ Thạnh", "Mỹ Thới"),
            *("Đông Xuyên", "Bình Khánh", "Bình Đức"),
        ),
        1,
    ),
    MemberCity(
        "viet-tri",
        "Việt Trì",
        "Phú Thọ",
        105.402,
        21.322,
        (
            *("Bạch Hạc", "Bến Gót", "Dữu Lâu", "Gia Cẩm", "Minh Nông", "Nông Trang", "Tân Dân"),
            *("Thanh Miếu", "Thọ Sơn", "Tiên Cát"),
        ),
        2,
    ),
)
_PLACES = (
    "Xóm Chài",
    "Khu dân cư ven kênh",
    "Xóm Lò Gạch",
    "Khu tập thể cũ",
    "Xóm Chợ",
    "Xóm Bến",
)


def generate_member_city(member: MemberCity, seed: int = 2026) -> SampleCity:
    """The member city: a sample city of its own seed, at its centre, with its wards' names."""
    base = sample_city.generate_city(seed + member.seed_offset)
    dx, dy = member.lon - sample_city.CENTER_LON, member.lat - sample_city.CENTER_LAT
    wards = [
        SampleWard(ward.code, name, affinity.translate(ward.geometry, dx, dy))
        for ward, name in zip(base.wards, member.wards, strict=True)
    ]
    ward_names = {ward.code: ward.name for ward in wards}
    settlements: list[SampleSettlement] = []
    for number, settlement in enumerate(base.settlements):
        name = f"{_PLACES[number % len(_PLACES)]} {ward_names[settlement.ward_code]}"
        if number >= len(_PLACES):
            name += f" {number // len(_PLACES) + 1}"
        geometry = affinity.translate(settlement.geometry, dx, dy)
        settlements.append(replace(settlement, name=name, geometry=geometry))
    return SampleCity(member.slug, member.name, member.province, wards, settlements)
