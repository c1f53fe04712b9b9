"""The cross-site life-events heatmap marks suppressed cells as every other heatmap does: the
shared grey, the text "supp." in the cell and a key in the subtitle (issue 11). Synthetic data."""

from __future__ import annotations

import pandas as pd

from analysis.analyse import life_events
from analysis.core import palette


def released() -> pd.DataFrame:
    bands = [life_events.BEFORE_PREGNANCY, *[band[0] for band in life_events.WHEN_BANDS]]
    rows = [{"kind": kind, "when_band": band, "women": float(n), "suppressed": False}
            for kind, n in (("Moved house", 9), ("Bereavement", 6)) for band in bands[:2]]
    rows.append({"kind": "Bereavement", "when_band": bands[2], "women": float("nan"), "suppressed": True})
    return pd.DataFrame(rows)


def _layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def test_suppressed_cells_are_grey_labelled_and_keyed():
    spec = life_events.kinds_chart(released(), title="Life events").to_dict()
    rects = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rect"]
    grey = [layer for layer in rects if layer["mark"].get("color") == palette.SUPPRESSED_GREY]
    assert len(grey) == 1  # the suppressed cell has its own grey layer, not an empty (white) cell
    datasets = spec["datasets"]
    grey_rows = datasets[grey[0]["data"]["name"]]
    assert [row["when_band"] for row in grey_rows] == [life_events.WHEN_BANDS[1][0]]
    text = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "text")
    labels = {row["text"] for row in datasets[text["data"]["name"]]}
    assert life_events.SUPPRESSED_LABEL in labels and "<5" not in labels
    assert spec["title"]["subtitle"] == life_events.SUPPRESSED_NOTE
    assert "Grey" in life_events.SUPPRESSED_NOTE and life_events.SUPPRESSED_LABEL in life_events.SUPPRESSED_NOTE


def test_no_key_when_nothing_is_suppressed():
    data = released()
    data = data.loc[~data["suppressed"]]
    spec = life_events.kinds_chart(data, title="Life events").to_dict()
    assert "subtitle" not in spec["title"]
    assert all(layer["mark"].get("color") != palette.SUPPRESSED_GREY for layer in spec["layer"])


def test_alt_text_says_how_suppressed_cells_look():
    assert "grey and read supp." in life_events.kinds_alt(released(), 12)
