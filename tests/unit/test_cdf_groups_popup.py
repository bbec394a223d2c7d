"""The savings groups' map popup: PAR30 as a percent with one decimal, half up."""

from __future__ import annotations

import pytest

from app.i18n import translate
from app.services.cdf_groups_map import _par_text


@pytest.mark.parametrize(
    ("at_risk", "outstanding", "vi", "en"),
    [
        (1, 16, "6,3 %", "6.3 %"),  # 6.25: Python's formatting said 6,2
        (625_000, 10_000_000, "6,3 %", "6.3 %"),
        (29, 200, "14,5 %", "14.5 %"),
        (1_999, 2_000, "100,0 %", "100.0 %"),  # 99.95 up, never 99,9
        (0, 5_000, "0,0 %", "0.0 %"),
    ],
)
def test_par30_rounds_half_up(at_risk: int, outstanding: int, vi: str, en: str) -> None:
    assert (_par_text(at_risk, outstanding, "vi"), _par_text(at_risk, outstanding, "en")) == (
        vi,
        en,
    )


def test_no_loans_is_said_in_words() -> None:
    assert _par_text(0, 0, "vi") == translate("cdf_groups.no_loans", "vi")
