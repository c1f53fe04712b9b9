"""The benchmark's own arithmetic: the fitted growth slope and the chart spec (no stages run)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.run import chart, fitted_slope


def _runs(seconds_by_women: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame([{"scale": w // 36, "women": w, "stage": "clean", "seconds": s}
                         for w, s in seconds_by_women.items()])


def test_linear_growth_has_slope_one_and_fixed_cost_has_slope_zero() -> None:
    assert fitted_slope(_runs({36: 1.0, 360: 10.0, 3600: 100.0}), "clean") == pytest.approx(1.0)
    assert fitted_slope(_runs({36: 5.0, 360: 5.0, 3600: 5.0}), "clean") == pytest.approx(0.0)


def test_chart_labels_every_stage_directly() -> None:
    frame = pd.concat([_runs({36: 1.0, 3600: 20.0}),
                       _runs({36: 1.0, 3600: 21.0}).assign(stage="site_profile:glasgow")])
    spec = chart(frame).to_dict()
    text_layers = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"]
    assert text_layers, "stages are labelled in the chart, not only by colour"
