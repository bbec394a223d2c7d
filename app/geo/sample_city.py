"""Deterministic synthetic sample city (Tam Kỳ, Quảng Nam): wards, settlements and households.

Everything here is invented: the shapes only loosely follow the real city and every person is
fictional. Pure Python (shapely, numpy, stdlib): no database, no settings.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import voronoi_diagram

CITY_SLUG = "tam-ky"
CITY_NAME = "Tam Kỳ"
PROVINCE = "Quảng Nam"
FORM_ID = "household"
FORM_VERSION = "2026112801"

CENTER_LON = 108.47
CENTER_LAT = 15.57
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(CENTER_LAT))
_GRID = 1e-6  # 6 decimals, ~0.1 m

# (name, approximate seed position in metres east/north of the centre)
WARD_LAYOUT: tuple[tuple[str, float, float], ...] = (
    ("An Mỹ", -900.0, -200.0),
    ("An Sơn", -200.0, 1400.0),
    ("An Xuân", 400.0, -100.0),
    ("An Phú", -2800.0, 600.0),
    ("Hòa Hương", 1500.0, -2300.0),
    ("Hòa Thuận", -1500.0, 2300.0),
    ("Phước Hòa", 1800.0, -700.0),
    ("Tân Thạnh", 2600.0, 900.0),
    ("Trường Xuân", -1800.0, -2200.0),
    ("Tam Thăng", 1000.0, 2600.0),
)
_COMMUNES = ("Tam Thăng",)  # a xã: its pockets are thôn, not tổ dân phố
LAND_TYPES = ("residential", "public", "riverbank", "agricultural", "mixed")
THREATS = ("eviction", "flooding", "landslide", "fire")
NEEDS = ("house_repair", "water", "toilet", "drainage", "lane", "electricity", "tenure",
         "livelihood")  # fmt: skip

_STREETS = (
    "Phan Bội Châu", "Hùng Vương", "Phan Chu Trinh", "Trần Cao Vân", "Huỳnh Thúc Kháng",
    "Nguyễn Hoàng", "Lê Lợi", "Trần Quý Cáp", "Nguyễn Du", "Bạch Đằng", "Duy Tân",
    "Tiểu La", "Lý Thường Kiệt", "Nguyễn Văn Trỗi", "Trưng Nữ Vương", "Hoàng Diệu",
)  # fmt: skip
_PLACES = (
    "Xóm Chài ven sông", "Khu dân cư Bàn Thạch", "Xóm Lò Gạch", "Xóm Bàu Sen", "Xóm Cồn",
    "Xóm Mới ven kênh", "Khu tập thể Nhà máy Dệt cũ", "Xóm Đình", "Xóm Bến Đò",
    "Khu dân cư ven sông Trường Giang", "Xóm Ga", "Xóm Chợ cũ", "Khu dân cư Bàu Bà",
    "Xóm Cây Me", "Khu tái định cư Bắc Tam Kỳ", "Xóm Giếng Làng",
)  # fmt: skip
_RIVER_WORDS = ("Chài", "sông", "Bến Đò", "Cồn", "kênh", "Bàn Thạch")
_FAMILY = (
    ("Nguyễn", 36), ("Trần", 11), ("Lê", 9), ("Phạm", 6), ("Huỳnh", 7), ("Võ", 6), ("Phan", 4),
    ("Hoàng", 2), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 3), ("Ngô", 2), ("Dương", 1),
    ("Trương", 2), ("Đoàn", 1), ("Lương", 1), ("Thái", 1),
)  # fmt: skip
_MALE_MIDDLE = ("Văn", "Văn", "Văn", "Đức", "Hữu", "Công", "Minh", "Quang", "Ngọc", "Thanh")
_FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Thị", "Ngọc", "Thanh", "Kim", "Thu", "Mỹ")
_MALE_GIVEN = (
    "Minh", "Hùng", "Dũng", "Tuấn", "Hải", "Long", "Nam", "Sơn", "Thành", "Phúc", "Tài", "Bình",
    "Cường", "Quý", "Tâm", "Hoàng", "Lộc", "Trung", "Vinh", "Khánh", "Đạt", "Thắng", "Tín",
)  # fmt: skip
_FEMALE_GIVEN = (
    "Hoa", "Lan", "Mai", "Hương", "Hạnh", "Thu", "Nga", "Yến", "Liên", "Hồng", "Trang", "Thảo",
    "Nhung", "Phượng", "Ánh", "Loan", "Cúc", "Sương", "Hiền", "Tuyết", "Xuân", "Vân", "Bích",
)  # fmt: skip
_PHONE_PREFIXES = (
    "090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037",
    "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "086",
)  # fmt: skip
_NOTES: dict[str, tuple[str, ...]] = {
    "house_repair": ("Mái nhà bị dột, cần sửa trước mùa mưa", "Tường nhà nứt, sợ sập khi có bão"),
    "water": ("Nước giếng bị nhiễm phèn, phải mua nước uống", "Muốn lắp đồng hồ nước máy riêng"),
    "toilet": ("Cần xây nhà vệ sinh tự hoại riêng", "Phải dùng chung nhà vệ sinh với nhiều hộ"),
    "drainage": ("Hẻm ngập nước mỗi khi mưa lớn", "Nước sông tràn vào nhà mỗi mùa lũ"),
    "lane": ("Hẻm nhỏ và lầy lội, xe máy khó đi", "Mong được bê tông hóa đường hẻm"),
    "electricity": ("Câu điện nhờ hàng xóm nên tiền điện cao", "Dây điện chằng chịt, sợ cháy"),
    "tenure": ("Chưa có sổ đỏ, lo bị giải tỏa", "Muốn được hỗ trợ làm giấy tờ nhà đất"),
    "livelihood": ("Cần vốn để buôn bán nhỏ", "Con cái chưa có việc làm ổn định, cần học nghề"),
    "": ("Gia đình tạm ổn, chưa có nhu cầu gấp", "Mong khu phố có thêm cây xanh và đèn đường"),
}
_SURVEY_START = date(2026, 9, 1)
_SURVEY_DAYS = (date(2026, 11, 25) - _SURVEY_START).days + 1
_DATES = tuple((_SURVEY_START + timedelta(days=i)).isoformat() for i in range(_SURVEY_DAYS))


@dataclass(frozen=True)
class SampleWard:
    """A synthetic ward (phường) polygon in EPSG:4326."""

    code: str
    name: str
    geometry: MultiPolygon


@dataclass(frozen=True)
class SampleSettlement:
    """A synthetic settlement polygon with its community profile."""

    code: str
    name: str
    ward_code: str
    geometry: Polygon
    profile: dict[str, Any]


@dataclass(frozen=True)
class SampleCity:
    """The whole synthetic city: wards and settlements."""

    slug: str
    name: str
    province: str
    wards: list[SampleWard]
    settlements: list[SampleSettlement]

    @property
    def outline(self) -> BaseGeometry:
        """Return the city outline (union of the wards)."""
        return shapely.union_all([w.geometry for w in self.wards], grid_size=_GRID)


def _to_lonlat(geom: BaseGeometry) -> BaseGeometry:
    """Convert metres east/north of the centre to lon/lat."""
    scale = np.array([_M_PER_DEG_LON, _M_PER_DEG_LAT])
    return shapely.transform(geom, lambda xy: xy / scale + np.array([CENTER_LON, CENTER_LAT]))


def _to_metres(geom: BaseGeometry) -> BaseGeometry:
    """Convert lon/lat to metres east/north of the centre."""
    scale = np.array([_M_PER_DEG_LON, _M_PER_DEG_LAT])
    return shapely.transform(geom, lambda xy: (xy - np.array([CENTER_LON, CENTER_LAT])) * scale)


def _outline_metres(rng: random.Random) -> Polygon:
    """Return an irregular, smooth-ish city outline of roughly 8 x 7 km."""
    harmonics = [
        (k, amp, rng.uniform(0, 2 * math.pi))
        for k, amp in ((2, 0.08), (3, 0.06), (4, 0.04), (7, 0.02))
    ]
    pts = []
    for i in range(36):
        t = 2 * math.pi * (i + rng.uniform(-0.3, 0.3)) / 36
        wobble = 1 + sum(amp * math.sin(k * t + ph) for k, amp, ph in harmonics)
        wobble += rng.uniform(-0.025, 0.025)
        pts.append((4100 * wobble * math.cos(t), 3400 * wobble * math.sin(t)))
    return Polygon(pts)


def _make_wards(rng: random.Random) -> list[SampleWard]:
    """Return 10 Voronoi wards (lon/lat) tiling an irregular outline exactly."""
    outline = shapely.set_precision(_to_lonlat(_outline_metres(rng)), _GRID)
    seeds = MultiPoint(
        [(x + rng.uniform(-300, 300), y + rng.uniform(-300, 300)) for _, x, y in WARD_LAYOUT]
    )
    seeds_ll = _to_lonlat(seeds)
    cells = voronoi_diagram(seeds_ll, envelope=outline.buffer(0.05).envelope)
    wards = []
    for i, ((name, _, _), seed) in enumerate(zip(WARD_LAYOUT, seeds_ll.geoms, strict=True)):
        cell = next(c for c in cells.geoms if c.contains(seed))
        geom = shapely.intersection(cell, outline, grid_size=_GRID)
        parts = [geom] if isinstance(geom, Polygon) else [g for g in geom.geoms if g.area > 0]
        wards.append(SampleWard(f"W{i + 1:02d}", name, MultiPolygon(parts)))
    return wards


def _blob(rng: random.Random, cx: float, cy: float, radius: float) -> Polygon:
    """Return an irregular star-shaped polygon around (cx, cy) in metres."""
    n = rng.randint(7, 12)
    angles = sorted(2 * math.pi * (i + rng.uniform(-0.35, 0.35)) / n for i in range(n))
    stretch, rot = rng.uniform(0.7, 1.3), rng.uniform(0, math.pi)
    pts = []
    for a in angles:
        r = radius * rng.uniform(0.7, 1.3)
        x, y = r * math.cos(a) * stretch, r * math.sin(a) / stretch
        pts.append(
            (cx + x * math.cos(rot) - y * math.sin(rot), cy + x * math.sin(rot) + y * math.cos(rot))
        )
    return Polygon(pts)


def _settlement_name(rng: random.Random, ward: str, used: set[str], places: list[str]) -> str:
    """Return a new unique Vietnamese settlement name."""
    while True:
        kind = rng.random()
        if kind < 0.3 and places:
            name = places.pop(rng.randrange(len(places)))
        elif kind < 0.55:
            unit = "Thôn" if ward in _COMMUNES else "Tổ dân phố"
            name = f"{unit} {rng.randint(1, 14)} {ward}"
        elif kind < 0.7:
            unit = "Thôn" if ward in _COMMUNES else "Khối phố"
            name = f"{unit} {rng.randint(1, 9)} {ward}"
        elif kind < 0.85:
            name = f"Kiệt {rng.randrange(2, 160, 2)} {rng.choice(_STREETS)}"
        else:
            name = f"Hẻm {rng.randint(3, 180)} {rng.choice(_STREETS)}"
        if name not in used:
            used.add(name)
            return name


def _profile(rng: random.Random, name: str, ward_idx: int, area_m2: float) -> dict[str, Any]:
    """Return a settlement profile; deprivation is the hidden driver of household answers."""
    hotspot = rng.random() < 0.3
    dep = rng.uniform(0.6, 0.95) if hotspot else rng.uniform(0.15, 0.55)
    if any(w in name for w in _RIVER_WORDS):
        land = "riverbank"
    else:
        outer = WARD_LAYOUT[ward_idx][0] in ("Tam Thăng", "An Phú", "Trường Xuân", "Hòa Hương")
        weights = (3 - 2 * dep, 0.4 + 1.6 * dep, 0.3 + dep, 1.5 if outer else 0.2, 1.0)
        land = rng.choices(LAND_TYPES, weights)[0]
    threats = set()
    if land == "riverbank" or rng.random() < 0.25 + 0.4 * dep:
        threats.add("flooding")
    if land in ("public", "riverbank") and rng.random() < 0.4 + 0.4 * dep:
        threats.add("eviction")
    if land == "riverbank" and rng.random() < 0.4:
        threats.add("landslide")
    if rng.random() < 0.1 + 0.3 * dep:
        threats.add("fire")
    return {
        "households_estimate": max(20, int(area_m2 / rng.uniform(140, 260))),
        "year_settled": rng.randint(1965, 2012),
        "land_type": land,
        "threats": [t for t in THREATS if t in threats],
        "deprivation": round(dep, 3),
    }


def generate_city(seed: int = 2026) -> SampleCity:
    """Generate the synthetic Tam Kỳ wards and settlements deterministically from seed."""
    rng = random.Random(f"{CITY_SLUG}:{seed}")
    wards = _make_wards(rng)
    counts = [4] * len(wards)
    for _ in range(4):  # shuffle sizes but keep the total at 40
        a, b = rng.sample(range(len(wards)), 2)
        if counts[a] < 5 and counts[b] > 3:
            counts[a] += 1
            counts[b] -= 1
    settlements: list[SampleSettlement] = []
    used: set[str] = set()
    places = list(_PLACES)
    for w_idx, (ward, n) in enumerate(zip(wards, counts, strict=True)):
        ward_m = _to_metres(ward.geometry)
        safe = ward_m.buffer(-35)
        x0, y0, x1, y1 = ward_m.buffer(-120).bounds
        placed_m: list[Polygon] = []
        for _ in range(5000):
            if len(placed_m) == n:
                break
            cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
            blob = _blob(rng, cx, cy, rng.uniform(55, 150))
            if not safe.contains(blob) or any(blob.distance(p) < 40 for p in placed_m):
                continue
            geom = shapely.set_precision(_to_lonlat(blob), _GRID)
            if not (isinstance(geom, Polygon) and geom.is_valid and ward.geometry.contains(geom)):
                continue
            placed_m.append(blob)
            name = _settlement_name(rng, ward.name, used, places)
            code = f"S{len(settlements) + 1:03d}"
            prof = _profile(rng, name, w_idx, blob.area)
            settlements.append(SampleSettlement(code, name, ward.code, geom, prof))
        if len(placed_m) < n:  # pragma: no cover - the layout leaves plenty of room
            raise RuntimeError(f"could not place settlements in {ward.name}")
    return SampleCity(CITY_SLUG, CITY_NAME, PROVINCE, wards, settlements)


@dataclass
class _Zone:
    """A sampling area: triangles with cumulative areas plus answer drivers."""

    tris: list[tuple[float, float, float, float, float, float]]
    cum: list[float]
    deprivation: float
    ward_idx: int
    flood: bool
    eviction: bool
    insecure_land: bool
    start_day: int


def _zone(
    rng: random.Random, geom: BaseGeometry, w_idx: int, profile: dict[str, Any] | None
) -> _Zone:
    """Triangulate geom for uniform point sampling; no profile means a better-off background."""
    tris, cum, total = [], [], 0.0
    for t in shapely.get_parts(shapely.constrained_delaunay_triangles(geom)):
        (ax, ay), (bx, by), (cx, cy) = list(t.exterior.coords)[:3]
        total += abs((bx - ax) * (cy - ay) - (cx - ax) * (by - ay)) / 2
        tris.append((ax, ay, bx - ax, by - ay, cx - ax, cy - ay))
        cum.append(total)
    p = profile or {"deprivation": rng.uniform(0.04, 0.18), "threats": [], "land_type": ""}
    return _Zone(tris, cum, float(p["deprivation"]), w_idx, "flooding" in p["threats"],
                 "eviction" in p["threats"], p["land_type"] in ("public", "riverbank"),
                 rng.randrange(_SURVEY_DAYS - 10))  # fmt: skip


def _point(rng: random.Random, zone: _Zone) -> tuple[float, float]:
    """Return a uniform random point inside a zone."""
    i = min(bisect.bisect_left(zone.cum, rng.random() * zone.cum[-1]), len(zone.cum) - 1)
    ax, ay, ux, uy, vx, vy = zone.tris[i]
    s, t = rng.random(), rng.random()
    if s + t > 1:
        s, t = 1 - s, 1 - t
    return ax + s * ux + t * vx, ay + s * uy + t * vy


_TENURE = (("red_book", 4.2, -4, 0), ("pink_book", 2, -2, 0), ("papers_only", 0.4, 2, 0),
           ("renting", 0.5, 0.6, 0), ("relatives", 0.2, 0.4, 0))  # fmt: skip
_CHOICES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    # option, a, b, c: weight = a + b*d + c*d*d for household deprivation d
    "poverty_status": (("poor", 0.03, 0.5, 0), ("near_poor", 0.06, 0.3, 0), ("none", 1, 0, 0)),
    "tenure": (*_TENURE, ("public_land", 0.05, 0, 1.5)),
    "tenure_insecure": (*_TENURE, ("public_land", 0.15, 0, 4.5)),
    "house_condition": (("permanent", 5.1, -10, 5), ("semi_permanent", 1.5, 0, 0),
        ("temporary", 0.1, 2, 0), ("dilapidated", 0.02, 0, 2)),
    "water_source": (("piped", 6.3, -6, 0), ("shared_tap", 0.2, 1.5, 0), ("well", 0.3, 1.5, 0),
        ("rain", 0.05, 0.5, 0), ("vendor", 0.05, 0.5, 0)),
    "sanitation": (("own_toilet", 6.5, -6, 0), ("shared_toilet", 0.2, 2, 0),
        ("none", 0.02, 0, 1.2)),
    "electricity": (("own_meter", 7, -6, 0), ("neighbour_meter", 0.1, 2.5, 0),
        ("none", 0.01, 0, 0.3)),
    "flooding": (("never", 4.5, -4, 0), ("rarely", 1.5, 0, 0), ("yearly", 0.2, 1, 0),
        ("often", 0.03, 0.3, 0)),
    "flooding_prone": (("never", 1, -1, 0), ("rarely", 1, 0, 0), ("yearly", 1, 1, 0),
        ("often", 0.5, 2.5, 0)),
    "waste": (("collected", 5.5, -5, 0), ("dumped", 0.1, 2, 0), ("burned", 0.1, 1, 0)),
    "lane_access": (("car", 4.3, -4, 0), ("motorbike", 1.5, 1, 0), ("footpath", 0.05, 1.5, 0)),
}  # fmt: skip
_TABLES = {
    key: (tuple(row[0] for row in rows), tuple((a, b, c) for _, a, b, c in rows))
    for key, rows in _CHOICES.items()
}
_LANE_WIDTH = {"car": (3.0, 8.0), "motorbike": (1.5, 3.0), "footpath": (0.8, 1.5)}
_FAMILY_NAMES = tuple(f for f, _ in _FAMILY)
_FAMILY_CUM = list(itertools.accumulate(float(w) for _, w in _FAMILY))


def _choice(rng: random.Random, seq: Sequence[str]) -> str:
    """Return a uniformly chosen element (faster than rng.choice)."""
    return seq[int(rng.random() * len(seq))]


def _pick(rng: random.Random, key: str, d: float) -> str:
    """Return an option of _CHOICES[key] with weight a + b*d + c*d^2 (all >= 0 for 0 <= d <= 1)."""
    options, coefs = _TABLES[key]
    weights = [a + d * (b + c * d) for a, b, c in coefs]
    r = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        r -= w
        if r < 0:
            return options[i]
    return options[-1]


def _answers(rng: random.Random, z: _Zone) -> dict[str, Any]:
    """Return household answers driven by the zone's hidden deprivation."""
    d = min(1.0, max(0.0, z.deprivation + rng.gauss(0, 0.12)))
    female = rng.random() < 0.25 + 0.2 * d
    family = _FAMILY_NAMES[bisect.bisect_right(_FAMILY_CUM, rng.random() * _FAMILY_CUM[-1])]
    middle = _choice(rng, _FEMALE_MIDDLE if female else _MALE_MIDDLE)
    a: dict[str, Any] = {
        "head_name": f"{family} {middle} {_choice(rng, _FEMALE_GIVEN if female else _MALE_GIVEN)}"
    }
    if rng.random() < 0.85:
        a["head_phone"] = _choice(rng, _PHONE_PREFIXES) + f"{rng.randrange(10_000_000):07d}"
    a["household_size"] = min(12, max(1, round(rng.gauss(3.6 + 1.4 * d, 1.5))))
    a["poverty_status"] = _pick(rng, "poverty_status", d)
    a["tenure"] = tenure = _pick(rng, "tenure_insecure" if z.insecure_land else "tenure", d)
    a["house_condition"] = _pick(rng, "house_condition", d)
    p_evict = 0.2 + 0.6 * d if z.eviction else 0.01 + 0.06 * d
    p_evict += 0.2 if tenure == "public_land" else 0.0
    a["eviction_threat"] = "yes" if rng.random() < p_evict else "no"
    for key in ("water_source", "sanitation", "electricity"):
        a[key] = _pick(rng, key, d)
    a["flooding"] = _pick(rng, "flooding_prone" if z.flood else "flooding", d)
    a["waste"] = _pick(rng, "waste", d)
    a["lane_access"] = access = _pick(rng, "lane_access", d)
    if rng.random() < 0.9:
        a["lane_width_m"] = round(rng.uniform(*_LANE_WIDTH[access]), 1)
    paved = rng.random() < (0.97 if access == "car" else 0.9 - 0.7 * d)
    if rng.random() < 0.93:
        a["lane_paved"] = "yes" if paved else "no"
    a["savings_group"] = "yes" if rng.random() < 0.12 + 0.45 * d else "no"
    if a["savings_group"] == "yes" and rng.random() < 0.9:
        a["cdf_loan"] = "yes" if rng.random() < 0.2 + 0.3 * d else "no"
    wanted = {
        "house_repair": a["house_condition"] in ("temporary", "dilapidated"),
        "water": a["water_source"] != "piped",
        "toilet": a["sanitation"] != "own_toilet",
        "drainage": a["flooding"] in ("yearly", "often"),
        "lane": access == "footpath" or not paved,
        "electricity": a["electricity"] != "own_meter",
        "tenure": tenure not in ("red_book", "pink_book"),
        "livelihood": a["poverty_status"] != "none" or rng.random() < 0.1,
    }
    candidates = [n for n in NEEDS if wanted[n]]
    k = min(len(candidates), (0, 1, 2, 2, 3, 3)[int(rng.random() * 6)])
    chosen = set(rng.sample(candidates, k)) if k else set()
    if chosen:
        a["priority_needs"] = " ".join(n for n in NEEDS if n in chosen)
    if rng.random() < 0.3:
        topic = _choice(rng, sorted(chosen)) if chosen else ""
        a["needs_notes"] = _choice(rng, _NOTES[topic])
    return a


def _outside_point(
    rng: random.Random, ring: list[tuple[float, float]], cum: list[float], outline: BaseGeometry
) -> tuple[float, float]:
    """Return a point 15-150 m outside the (counter-clockwise) outline."""
    while True:
        r = rng.random() * cum[-1]
        i = min(bisect.bisect_left(cum, r), len(cum) - 1)
        (ax, ay), (bx, by) = ring[i], ring[i + 1]
        s = rng.random()
        dx, dy = (bx - ax) * _M_PER_DEG_LON, (by - ay) * _M_PER_DEG_LAT
        norm = math.hypot(dx, dy) or 1.0
        dist = rng.uniform(15, 150)
        x = ax + s * (bx - ax) + dy / norm * dist / _M_PER_DEG_LON
        y = ay + s * (by - ay) - dx / norm * dist / _M_PER_DEG_LAT
        if not shapely.intersects_xy(outline, x, y):
            return x, y


def generate_households(city: SampleCity, count: int, seed: int = 2026) -> Iterator[dict[str, Any]]:
    """Yield count synthetic submissions (API body shape); deterministic and prefix-stable."""
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = random.Random(seed)
    outline = shapely.orient_polygons(city.outline)
    shapely.prepare(outline)
    ward_idx = {w.code: i for i, w in enumerate(city.wards)}
    zones = [_zone(rng, s.geometry, ward_idx[s.ward_code], s.profile) for s in city.settlements]
    holes = shapely.union_all([s.geometry for s in city.settlements])
    bg = [_zone(rng, w.geometry.difference(holes), i, None) for i, w in enumerate(city.wards)]
    s_cum = list(itertools.accumulate(s.profile["households_estimate"] for s in city.settlements))
    bg_cum = list(itertools.accumulate(z.cum[-1] for z in bg))
    main = max(shapely.get_parts(outline), key=lambda g: g.area)
    ring = list(main.exterior.coords)
    ring_cum = list(itertools.accumulate(math.dist(p, q) for p, q in itertools.pairwise(ring)))
    outside_at = -1
    for i in range(count):
        if i % 100 == 0:
            outside_at = i + rng.randrange(100)
        hid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if i == outside_at:
            lon, lat = _outside_point(rng, ring, ring_cum, outline)
            zone = bg[rng.randrange(len(bg))]
            accuracy = rng.uniform(12, 25)
        else:
            if zones and rng.random() < 0.85 / 0.99:
                r = rng.random() * s_cum[-1]
                zone = zones[bisect.bisect_left(s_cum, r)]
            else:
                r = rng.random() * bg_cum[-1]
                zone = bg[bisect.bisect_left(bg_cum, r)]
            lon, lat = _point(rng, zone)
            accuracy = min(25.0, 3 + rng.expovariate(1 / 3.5))
        day = min(_SURVEY_DAYS - 1, zone.start_day + int(rng.expovariate(1 / 5)))
        minute = rng.randrange(480)
        minute += 450 + (120 if minute >= 240 else 0)  # 07:30-11:30 and 13:30-17:30
        west_km = (CENTER_LON - lon) * _M_PER_DEG_LON / 1000
        altitude = min(30.0, max(2.0, 9 + 1.5 * west_km + rng.gauss(0, 2)))
        yield {
            "id": hid,
            "form_id": FORM_ID,
            "form_version": FORM_VERSION,
            "collected_at": f"{_DATES[day]}T{minute // 60:02d}:{minute % 60:02d}:"
            f"{rng.randrange(60):02d}+07:00",
            "collector": f"tnv-{zone.ward_idx * 4 + rng.randrange(4) + 1:02d}",
            "location": {
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "accuracy_m": round(accuracy, 1),
                "altitude_m": round(altitude, 1),
            },
            "answers": _answers(rng, zone),
        }


def _rounded(coords: Any) -> Any:
    """Round nested coordinate tuples to 6 decimals as lists."""
    if isinstance(coords[0], (int, float)):
        return [round(float(c), 6) for c in coords]
    return [_rounded(c) for c in coords]


def _write_collection(path: Path, features: list[dict[str, Any]]) -> None:
    """Write a GeoJSON FeatureCollection, one feature per line, UTF-8."""
    lines = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    path.write_text(
        f'{{"type": "FeatureCollection", "features": [\n{lines}\n]}}\n', encoding="utf-8"
    )


def _feature(code: str, geom: BaseGeometry, props: dict[str, Any]) -> dict[str, Any]:
    """Return an RFC 7946 feature (counter-clockwise exterior rings)."""
    gj = mapping(shapely.orient_polygons(geom))
    return {
        "type": "Feature",
        "id": code,
        "properties": {**props, "synthetic": True},
        "geometry": {"type": gj["type"], "coordinates": _rounded(gj["coordinates"])},
    }


def write_boundaries(city: SampleCity, directory: Path) -> None:
    """Write wards.geojson and settlements.geojson for the city into directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = {"city": city.slug}
    wards = [
        _feature(w.code, w.geometry, {"code": w.code, "name": w.name, **base}) for w in city.wards
    ]
    settlements = [
        _feature(
            s.code,
            s.geometry,
            {"code": s.code, "name": s.name, "ward_code": s.ward_code, **base, **s.profile},
        )
        for s in city.settlements
    ]
    _write_collection(directory / "wards.geojson", wards)
    _write_collection(directory / "settlements.geojson", settlements)
