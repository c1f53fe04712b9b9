"""Tests for analysis.analyse.journeys on the hand-written fixture (SYNTHETIC test data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.analyse import journey_overview, journeys, site_profile
from analysis.publish import figures


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return analysis_fixture.load_tables()


def _frames(data, study_id):
    return journeys.journey_frames(study_id, data["contacts"], data["events"], data["interviews"], data["placements"])


def test_journey_frames_layers(data) -> None:
    frames = _frames(data, "SS-EL-002")
    # booking at -22 -> axis starts at the 4-week line below it
    assert frames["window"].iloc[0].tolist() == [-24.0, 78.0]
    assert len(frames["contacts"]) == 5
    assert sorted(frames["contacts"]["lane"].unique()) == ["Children's social care", "Neonatal unit", "Specialist midwife"]
    assert frames["interviews"]["label"].tolist() == ["W1", "W2"]
    assert frames["placements"][["label", "start", "end"]].values.tolist() == [["Foster care", 0.0, 60.0], ["Adoption", 60.0, 78.0]]
    labels = frames["events"]["label"].tolist()
    assert "Child protection conference (initial)" in labels and "Placement change (foster care)" in labels


def test_event_labels_in_one_row_never_overlap(data) -> None:
    frames = _frames(data, "SS-EL-002")
    events = frames["events"]
    weeks_per_char = journeys.CHAR_PIXELS * 102 / journeys.CHART_WIDTH
    for _, row_events in events.groupby("row"):
        spans = sorted((w, w + len(t) * weeks_per_char) for w, t in zip(row_events["week"], row_events["label"]))
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end


def test_journey_window_clips_contacts_after_78_weeks(data) -> None:
    contacts = data["contacts"].copy()
    contacts.loc[8, "week_rel_birth"] = 90.0  # SS-EL-001's last contact moved past +78
    frames = journeys.journey_frames("SS-EL-001", contacts, data["events"], data["interviews"], data["placements"])
    assert frames["contacts"]["week"].max() <= 78.0
    assert len(frames["contacts"]) == 8


def test_journey_chart_renders_and_alt_text_describes_it(data) -> None:
    frames = _frames(data, "SS-GG-001")
    text = journeys.journey_alt_text(frames, "SS-GG-001")
    assert "7 service contacts across 3 services" in text
    assert "3 before birth and 4 after" in text
    assert "Rehab starts at week 20" in text
    png = figures.render_png(figures.chart_spec(journeys.journey_chart(frames, title="Journey"), synthetic=True))
    assert png[:4] == b"\x89PNG"


def test_overview_counts_women_per_block(data) -> None:
    counts = journey_overview.overview_counts(data["contacts"], "east_london", bin_weeks=8)
    lookup = counts.set_index(["service", "block_start"])["women"]
    # specialist midwife: EL-001 at -20 and -10, EL-002 at -18 and -8 -> blocks -24 and -16 (8-week blocks from -40)
    assert lookup[("specialist_midwife", -24)] == 2
    assert lookup[("specialist_midwife", -16)] == 1
    assert lookup[("specialist_midwife", -8)] == 1
    assert lookup[("drug_service", 8)] == 1
    assert counts["block_start"].min() == -40 and counts["block_start"].max() == 72
    assert (counts["women"] <= 2).all()


def test_woman_week_strip_counts_contacts(data) -> None:
    women = site_profile.recruited_women(data["participants"])
    strip = journey_overview.woman_week_strip(data["contacts"], women)
    assert strip.groupby("study_id")["contacts"].sum().to_dict() == {"SS-EL-001": 9, "SS-EL-002": 5, "SS-GG-001": 7}


def test_woman_week_strip_chart_caps_women() -> None:
    strip = pd.DataFrame({"study_id": [f"W{i:04d}" for i in range(200)], "block_start": 0, "contacts": 1})
    chart = journey_overview.woman_week_strip_chart(strip, title="Strip", max_women=150)
    spec = chart.to_dict()
    assert spec["title"] == "Strip (first 150 of 200 women)"
    assert len(next(iter(spec["datasets"].values()))) == 150


def test_journey_browser_holds_every_woman_with_the_same_layers_as_her_own_map(data) -> None:
    contacts = data["contacts"].copy()
    contacts.loc[8, "week_rel_birth"] = 90.0  # one contact past +78 is clipped in both
    women = site_profile.recruited_women(data["participants"])["study_id"].tolist()
    browser = journeys.journey_browser_frames(women, contacts, data["events"], data["interviews"], data["placements"])
    assert list(dict.fromkeys(browser["lanes"]["study_id"])) == women
    for study_id in women:
        own = journeys.journey_frames(study_id, contacts, data["events"], data["interviews"], data["placements"])
        from_browser = journeys.woman_frames(browser, study_id)
        for layer, expected in own.items():
            got = from_browser[layer][list(expected.columns)]
            pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False, obj=f"{study_id} {layer}")
        lanes = browser["lanes"].loc[browser["lanes"]["study_id"] == study_id, "lane_key"].tolist()
        labels = [key.split(journeys.BROWSER_LANE_SEPARATOR, 1)[1] for key in lanes]
        assert labels == [*journeys._lane_order(own["contacts"]["lane"]), journeys.PLACEMENT_LANE, journeys.INTERVIEW_LANE]
        assert lanes == sorted(lanes)  # the chart sorts lanes by key
    with pytest.raises(KeyError, match="not in the journey browser"):
        journeys.woman_frames(browser, "SS-XX-999")


def test_journey_browser_chart_lists_every_woman_and_renders(data) -> None:
    women = site_profile.recruited_women(data["participants"])["study_id"].tolist()
    browser = journeys.journey_browser_frames(women, data["contacts"], data["events"], data["interviews"], data["placements"])
    spec = figures.chart_spec(journeys.journey_browser_chart(browser, title="Journey browser"), synthetic=True)
    (param,) = spec["params"]
    assert param["bind"]["input"] == "select" and param["bind"]["options"] == women and param["value"] == women[0]
    assert spec["title"]["subtitle"] == figures.SYNTHETIC_NOTE
    # one copy of each table, shared by the layers that draw it, stored as CSV text (a third of
    # the size of JSON rows, and one line in the executed notebook instead of one per field)
    assert len(spec["datasets"]) == 5 and all(isinstance(v, str) for v in spec["datasets"].values())
    contacts_csv = spec["datasets"]["journey-browser-contacts"].splitlines()
    assert contacts_csv[0] == "study_id,lane_key,week" and len(contacts_csv) == len(browser["contacts"]) + 1
    assert figures.render_png(spec)[:4] == b"\x89PNG"
    text = journeys.journey_browser_alt_text(browser, "Test site")
    assert f"any of the {len(women)} women" in text and women[0] in text
    with pytest.raises(ValueError, match="no women"):
        journeys.journey_browser_chart(journeys.journey_browser_frames([], data["contacts"], data["events"],
                                                                       data["interviews"], data["placements"]), title="x")


def test_journey_browser_shows_her_consented_own_timeline(data, monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser draws the chosen woman's own timeline as her map does, data stored once, and
    only events of drawings whose consent permits showing her words reach it."""
    from analysis.analyse import life_events
    from analysis.protect import person_level

    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")
    women = site_profile.recruited_women(data["participants"])["study_id"].tolist()
    browser = journeys.journey_browser_frames(women, data["contacts"], data["events"], data["interviews"], data["placements"])
    drawn = pd.DataFrame({
        "drawing_id": [f"{women[0]}_DR1"] * 2 + [f"{women[1]}_DR1"],
        "event_no": [1, 2, 1], "study_id": [women[0], women[0], women[1]],
        "kind": ["birth", "childhood", "baby_home"], "kind_label": ["Birth", "Childhood", "Baby came home"],
        "label": ["she was born", "school", "home together"], "valence": ["positive", "mixed", "positive"],
        "when": ["", "age 9", ""], "week_rel_birth": [0.0, float("nan"), 2.0], "age": [pd.NA, 9, pd.NA],
    })
    drawings = pd.DataFrame({"drawing_id": [f"{women[0]}_DR1", f"{women[1]}_DR1"], "consent": ["quote", "none"]})
    released = person_level.release_items(life_events.with_consent(drawn, drawings), name="t/journey-own-timelines",
                                     use="quote", id_column="drawing_id", text_columns=["label"], kind="drawing")
    own = life_events.browser_own_timelines(released, browser["lanes"])
    assert list(dict.fromkeys(own["study_id"])) == women  # every woman has her strip
    first = own.loc[own["study_id"] == women[0]]
    window = journeys.woman_frames(browser, women[0])["window"]
    pd.testing.assert_frame_equal(first.drop(columns="study_id").reset_index(drop=True),
                                  life_events.own_timeline(released, women[0], window), check_dtype=False)
    # the second woman's drawing has no consent to show her words: nothing of it is drawn
    assert list(own.loc[own["study_id"] == women[1], "text"]) == [life_events.NO_OWN_EVENTS]
    assert "home together" not in own["text"].tolist()
    chart = life_events.with_browser_own_timeline(journeys.journey_browser_chart(browser, title="Journey browser"), own)
    spec = figures.chart_spec(chart, synthetic=True)
    assert len(spec["datasets"]) == 6  # the browser's five tables and the own timelines, each once
    strip = spec["vconcat"][-1]
    assert strip["title"]["text"] == life_events.OWN_LANE
    filters = [t["filter"] for layer in strip["layer"] for t in layer.get("transform", [])]
    assert f"datum.study_id == {journeys.BROWSER_PARAM}" in filters
    shapes = next(layer["encoding"]["shape"] for layer in strip["layer"] if "shape" in layer["encoding"])
    assert shapes["scale"]["range"] == list(life_events.VALENCE_SHAPES.values())  # valence not by colour alone
    assert figures.render_png(spec)[:4] == b"\x89PNG"
    assert "1 of the" in life_events.browser_own_timeline_alt(own)
