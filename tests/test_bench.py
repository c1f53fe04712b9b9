"""The benchmark's own arithmetic: the fitted growth slope and the chart spec (no stages run)."""

from __future__ import annotations

from pathlib import Path

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


def test_each_version_runs_its_stages_the_way_its_own_makefile_does(tmp_path) -> None:
    import sys

    from analysis.core.paths import PROJECT_ROOT
    from benchmarks.run import stage_command, stage_command_prefix

    current = stage_command_prefix(PROJECT_ROOT)
    assert current[0] == sys.executable and "analysis.tools.stage" in current
    old = tmp_path / "old"
    old.mkdir()
    (old / "Makefile").write_text("PY := .venv/bin/python\nPAPERMILL  := $(PY) -m papermill --progress-bar --cwd notebooks\n")
    cmd = stage_command(old, "01_clean.ipynb", tmp_path / "out.ipynb", {"data_raw": "x"})
    assert cmd == [sys.executable, "-m", "papermill", "--progress-bar", "--cwd", "notebooks",
                   "notebooks/01_clean.ipynb", str(tmp_path / "out.ipynb"), "-p", "data_raw", "x"]
    (old / "Makefile").write_text("all:\n")
    with pytest.raises(ValueError, match="PAPERMILL"):
        stage_command_prefix(old)


def test_versions_take_turns_and_repeats_reverse_the_order(tmp_path, monkeypatch) -> None:
    import benchmarks.run as bench

    roots = []
    for name in ("before", "after"):
        root = tmp_path / name
        root.mkdir()
        (root / "Makefile").write_text("PAPERMILL := $(PY) -m papermill\n")
        roots.append(bench.Version(name, root))
    order: list[tuple[str, str]] = []

    def fake_measure(cmd, *, env=None, cwd=None):  # type: ignore[no-untyped-def]
        stage = "generate" if "analysis.synthetic" in cmd else next(a for a in cmd if a.startswith("notebooks/"))
        order.append((Path(cwd).name, stage))
        return 1.0, 100.0, 0

    monkeypatch.setattr(bench, "measure", fake_measure)
    runs = bench.run_scale(1, 7, tmp_path / "scratch", roots, repeats=3)
    assert order[:2] == [("before", "generate"), ("after", "generate")]
    assert [v for v, stage in order[2:8]] == ["before", "after", "after", "before", "before", "after"]
    assert {stage for _, stage in order[2:8]} == {"notebooks/01_clean.ipynb"}
    assert len(runs) == 2 + 2 * 3 * 6  # generation once; clean, four sites and synthesis three times each
    assert sorted({r.repeat for r in runs if r.stage == "synthesis"}) == [0, 1, 2]


def test_medians_decide_and_one_slow_run_does_not() -> None:
    from benchmarks.run import comparison, stage_medians, target_misses

    rows = []
    for version, cpus in (("before", [20.0, 21.0, 22.0]), ("after", [19.0, 30.0, 20.0])):
        for repeat, cpu in enumerate(cpus):
            rows.append({"version": version, "scale": 100, "women": 3600, "stage": "synthesis", "seconds": cpu,
                         "cpu_seconds": cpu, "peak_rss_mb": 800.0, "notebook_bytes": 1024, "returncode": 0,
                         "repeat": repeat})
    frame = pd.DataFrame(rows)
    medians = stage_medians(frame)
    assert dict(zip(medians["version"], medians["cpu_seconds"])) == {"before": 21.0, "after": 20.0}
    assert set(medians["runs"]) == {3}
    assert comparison(frame).loc[0, "cpu_seconds_after"] == 20.0
    plain = pd.DataFrame(columns=["version", "build", "seconds", "cpu_seconds"])
    assert target_misses(frame, plain) == []
    slower = frame.assign(cpu_seconds=[c * (1.2 if v == "after" else 1.0) for c, v in zip(frame["cpu_seconds"], frame["version"])])
    assert target_misses(slower, plain) == ["synthesis: 24.0 s CPU after, 21.0 s before"]
