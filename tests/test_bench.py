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


def _version_runs() -> pd.DataFrame:
    rows = []
    for version, cpu, peak, size in (("before", 20.0, 500.0, 21 * 1024**2), ("after", 8.0, 480.0, 1024**2)):
        rows.append({"version": version, "scale": 1, "women": 36, "stage": "site_profile:glasgow", "seconds": cpu + 1,
                     "cpu_seconds": cpu, "peak_rss_mb": peak, "notebook_bytes": size, "returncode": 0})
    return pd.DataFrame(rows)


def test_comparison_puts_before_and_after_side_by_side_and_targets_are_checked() -> None:
    from benchmarks.run import comparison, markdown_table, target_misses

    frame = _version_runs()
    wide = comparison(frame)
    assert wide.loc[0, "cpu_seconds_before"] == 20.0 and wide.loc[0, "cpu_seconds_after"] == 8.0
    assert "| scale | stage |" in markdown_table(wide)
    plain = pd.DataFrame([{"version": "after", "build": "clean build, plain make", "seconds": 50.0, "cpu_seconds": 90.0}])
    assert target_misses(frame, plain) == []
    worse = frame.assign(cpu_seconds=[20.0, 30.0], notebook_bytes=[1, 4 * 1024**2])
    slow = plain.assign(seconds=75.0)
    misses = target_misses(worse, slow)
    assert any("executed notebook 4.0 MB" in m for m in misses)
    assert any("30.0 s CPU after, 20.0 s before" in m for m in misses)
    assert any("plain make: 75.0 s" in m for m in misses)


def test_cell_timings_come_from_papermill_metadata(tmp_path) -> None:
    import nbformat

    from benchmarks.run import cell_timings

    book = nbformat.v4.new_notebook()
    labelled = nbformat.v4.new_code_cell("#| label: fig-x\nshow()")
    labelled.metadata["papermill"] = {"duration": 2.5}
    plain = nbformat.v4.new_code_cell("x = 1")
    plain.metadata["papermill"] = {"duration": 0.1}
    book.cells = [nbformat.v4.new_markdown_cell("# t"), labelled, plain]
    path = tmp_path / "nb.ipynb"
    nbformat.write(book, path)
    assert [(c["cell"], c["what"], c["seconds"]) for c in cell_timings(path)] == [(2, "fig-x", 2.5), (3, "x = 1", 0.1)]
