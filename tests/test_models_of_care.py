"""Tests for analysis.analyse.models_of_care on the hand-written fixture (SYNTHETIC test data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.analyse import models_of_care
from analysis.publish import figures


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return analysis_fixture.load_tables()


def test_features_table_has_one_column_per_site() -> None:
    table = models_of_care.features_table()
    assert list(table.columns) == ["Feature", "East London", "Huddersfield", "Greater Glasgow and Clyde", "Ayrshire and Arran"]
    row = table.set_index("Feature").loc["Specialist midwife and drug service co-located"]
    assert row.tolist() == ["Yes", "No", "Yes", "No"]


def test_women_by_site(data) -> None:
    assert models_of_care.women_by_site(data["participants"]).values.tolist() == [["east_london", 2], ["glasgow", 1]]


def test_contacts_by_site_period(data) -> None:
    periods = models_of_care.contacts_by_site_period(data["contacts"], data["participants"])
    lookup = periods.set_index(["site", "period"])["contacts"]
    assert lookup[("east_london", "before")] == 5
    assert lookup[("east_london", "after")] == 4
    assert lookup[("glasgow", "before")] == 2
    assert lookup[("glasgow", "after")] == 3


def test_placements_by_site(data) -> None:
    placements = models_of_care.placements_by_site(data["participants"])
    births = placements.loc[(placements["time"] == "At birth") & (placements["babies"] > 0)]
    assert sorted(map(tuple, births[["site", "placement"]].values.tolist())) == [
        ("east_london", "foster_care"), ("east_london", "with_mother"), ("glasgow", "mother_baby_placement"),
    ]
    assert placements.groupby("time")["babies"].sum().tolist() == [3, 3]
    wide = models_of_care.placements_wide(placements, "At 18 months")
    assert wide.columns.tolist() == ["Site", "With mother", "Kinship care", "Adoption"]


def test_unknown_placement_is_an_error(data) -> None:
    participants = data["participants"].copy()
    participants.loc[0, "placement_at_birth"] = "hospital"
    with pytest.raises(ValueError, match="placement_at_birth.*hospital"):
        models_of_care.placements_by_site(participants)


def test_charts_render(data, monkeypatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")
    placements = models_of_care.placements_by_site(data["participants"]).assign(suppressed=False)
    png = figures.render_png(figures.chart_spec(models_of_care.placements_chart(placements, title="P")))
    assert png[:4] == b"\x89PNG"
    periods = models_of_care.contacts_by_site_period(data["contacts"], data["participants"]).assign(suppressed=False)
    assert "East London 2.5 before and 2.0 after" in models_of_care.contacts_site_alt_text(periods)
