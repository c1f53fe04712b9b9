"""Benchmark the pipeline from study scale to national scale (``make bench``).

For each scale (1x = 36 recruited women, 10x, 100x = 3,600 women) it generates the synthetic
study into a scratch folder, then runs each data and analysis stage as its own process and
records wall time and peak memory (``os.wait4`` rusage: the stage's process and every child it
waited for, so a papermill run counts its kernel). At 1x it also measures the whole build with
make: clean build with ``-j1`` and ``-j2``, the naive baseline (``make -B``: every notebook
executed and every output rendered unconditionally), a no-op ``make`` and a one-site change.

Results: ``benchmarks/results/bench.csv`` (one row per scale x stage), ``benchmarks/results/
builds.csv`` (whole-build timings and ratios), ``benchmarks/results/summary.json`` (targets,
fitted slopes, machine) and ``benchmarks/results/bench.png``/``.svg`` (chart).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from analysis.paths import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "benchmarks" / "results"
SITES = ("east_london", "huddersfield", "glasgow", "ayrshire")
STAGE_TARGET_SECONDS = 60.0
STAGE_TARGET_BYTES = 4 * 1024**3
FULL_BUILD_TARGET_SECONDS = 120.0
JOURNEY_MAPS_AT_SCALE = 12
"""Individual journey maps drawn per site above study scale (overviews still cover everyone)."""


@dataclass(frozen=True)
class StageRun:
    """One measured run of one stage at one scale."""

    scale: int
    women: int
    stage: str
    seconds: float
    peak_rss_mb: float
    returncode: int


def measure(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT) -> tuple[float, float, int]:
    """Run ``cmd``; return (wall seconds, peak RSS in MB of it and its waited-for children, exit code)."""
    # stderr goes to a file, not a pipe: a pipe nobody reads fills up and stalls a chatty stage.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        returncode = os.waitstatus_to_exitcode(status)
        if returncode != 0:
            errors.seek(0)
            sys.stderr.write(errors.read().decode("utf-8", "replace")[-3000:])
    return seconds, usage.ru_maxrss / 1024.0, returncode


def papermill(notebook: str, output: Path, params: dict[str, object]) -> list[str]:
    """The papermill command line the Makefile uses for ``notebook``."""
    cmd = [sys.executable, "-m", "papermill", "--no-progress-bar", "--cwd", "notebooks", "-k", "python3",
           f"notebooks/{notebook}", str(output)]
    for key, value in params.items():
        cmd += ["-p", key, str(value)]
    return cmd


def run_scale(scale: int, seed: int, scratch: Path) -> list[StageRun]:
    """Generate the study at ``scale`` and time every data and analysis stage on it."""
    raw, derived = scratch / f"raw_{scale}x", scratch / f"derived_{scale}x"
    notebooks = derived / "notebooks"
    env = dict(os.environ, DATA_RAW=str(raw), DATA_DERIVED=str(derived), PYTHONHASHSEED="0")
    stages: list[tuple[str, list[str]]] = [
        ("generate", [sys.executable, "-m", "analysis.synthetic", "--seed", str(seed), "--scale", str(scale),
                      "--out", str(raw)]),
        ("clean", papermill("01_clean.ipynb", notebooks / "01_clean.ipynb",
                            {"data_raw": raw, "data_derived": derived})),
    ]
    maps = {} if scale == 1 else {"max_journey_maps": JOURNEY_MAPS_AT_SCALE}
    for site in SITES:
        stages.append((f"site_profile:{site}", papermill(
            "02_site_profile.ipynb", notebooks / f"02_site_profile_{site}.ipynb",
            {"site": site, "data_derived": derived, **maps})))
    stages.append(("synthesis", papermill("03_synthesis.ipynb", notebooks / "03_synthesis.ipynb",
                                          {"data_derived": derived, "variables_path": derived / "_variables.yml"})))
    notebooks.mkdir(parents=True, exist_ok=True)
    runs: list[StageRun] = []
    women = 0
    for name, cmd in stages:
        print(f"bench: {scale}x {name} ...", flush=True)
        seconds, peak, code = measure(cmd, env=env)
        if name == "clean" and code == 0:
            women = int(pd.read_parquet(derived / "participants.parquet")["recruited"].sum())
        runs.append(StageRun(scale, women, name, round(seconds, 3), round(peak, 1), code))
        print(f"bench: {scale}x {name}: {seconds:.1f} s, {peak:.0f} MB peak, exit {code}", flush=True)
        if code != 0:
            break
    return [StageRun(r.scale, women, r.stage, r.seconds, r.peak_rss_mb, r.returncode) for r in runs]


def kernel_startup_seconds() -> float:
    """Time papermill running an empty notebook: the floor under every notebook stage."""
    import nbformat

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell("1"))
        nbformat.write(nb, empty)
        seconds, _, _ = measure([sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3",
                                 str(empty), str(Path(tmp) / "out.ipynb")])
    return seconds


def _make(args: list[str], env: dict[str, str], cwd: Path) -> float:
    seconds, _, code = measure(["make", "--no-print-directory", *args], env=env, cwd=cwd)
    if code != 0:
        raise RuntimeError(f"make {' '.join(args)} failed in {cwd}")
    return seconds


def _copy_project(dest: Path) -> None:
    """A clean copy of the tracked project (plus the ready .venv and node_modules, linked)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = PROJECT_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for linked in (".venv", "node_modules"):
        if (PROJECT_ROOT / linked).exists():
            (dest / linked).symlink_to(PROJECT_ROOT / linked)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)


def run_builds(scratch: Path) -> pd.DataFrame:
    """Whole-build timings at 1x in a scratch copy of the project (offline renderer)."""
    project = scratch / "project"
    project.mkdir()
    _copy_project(project)
    env = {k: v for k, v in os.environ.items() if k not in {"DATA_RAW", "DATA_DERIVED", "MAKEFLAGS", "MAKELEVEL"}}
    env["ENGINE"] = "offline"
    rows = []
    for jobs in ("-j1", "-j2"):
        _make(["clean"], env, project)
        seconds = _make([jobs], env, project)
        rows.append({"build": f"clean full build {jobs}", "seconds": seconds})
        print(f"bench: clean full build {jobs}: {seconds:.1f} s", flush=True)
    rows.append({"build": "no-op make", "seconds": _make([], env, project)})
    # The last target directly (no recursive make) with -o: the environment set-up, not part of the
    # pipeline, stays out of the baseline.
    rows.append({"build": "naive baseline (make -B -j1: everything unconditionally)",
                 "seconds": _make(["-B", "-j1", "-o", ".venv/.setup-complete", "reports/_output/output-check.csv"],
                                  env, project)})
    log = next((project / "data_raw" / "synthetic").glob("SYNTHETIC_*huddersfield*"))
    os.utime(log)
    rows.append({"build": "one site's contact log touched (make -j1)", "seconds": _make(["-j1"], env, project)})
    report = project / "reports" / "slides.qmd"
    os.utime(report)
    rows.append({"build": "one report source touched (make -j1)", "seconds": _make(["-j1"], env, project)})
    return pd.DataFrame(rows)


def fitted_slope(frame: pd.DataFrame, stage: str) -> float:
    """Slope of log(seconds) against log(women) for ``stage``: 1.0 is linear growth."""
    sub = frame[(frame["stage"] == stage) & (frame["women"] > 0)]
    if len(sub) < 2:
        return math.nan
    x = sub["women"].map(math.log)
    y = sub["seconds"].map(math.log)
    return float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())


def chart(frame: pd.DataFrame) -> object:
    """Wall time per stage against number of women, log-log, direct labels, accessible palette."""
    import altair as alt

    from analysis.palette import CATEGORICAL

    data = frame.assign(stage_group=frame["stage"].str.replace(r":.*", "", regex=True))
    data = data.groupby(["scale", "women", "stage_group"], as_index=False)["seconds"].max()
    # Direct labels at the largest scale, nudged apart where two lines end close together.
    top = data[data["scale"] == data["scale"].max()].sort_values("seconds", ascending=False)
    label_rows, previous = [], None
    for stage, seconds in zip(top["stage_group"], top["seconds"]):
        label_y = seconds if previous is None else min(seconds, previous / 1.25)  # log axis: keep 25% apart
        label_rows.append({"stage_group": stage, "women": top["women"].max(), "label_y": label_y})
        previous = label_y
    label_data = pd.DataFrame(label_rows)
    base = alt.Chart(data).encode(
        x=alt.X("women:Q", scale=alt.Scale(type="log"), title="Women in the synthetic study (log scale)"),
        y=alt.Y("seconds:Q", scale=alt.Scale(type="log"), title="Wall time, seconds (log scale; slowest site shown)"),
        color=alt.Color("stage_group:N", scale=alt.Scale(range=list(CATEGORICAL)), legend=None),
        shape=alt.Shape("stage_group:N", legend=None),
    )
    labels = alt.Chart(label_data).mark_text(align="left", dx=8, fontSize=12).encode(
        x="women:Q", y=alt.Y("label_y:Q", scale=alt.Scale(type="log")), text="stage_group:N",
        color=alt.Color("stage_group:N", scale=alt.Scale(range=list(CATEGORICAL)), legend=None))
    limit = alt.Chart(pd.DataFrame({"seconds": [STAGE_TARGET_SECONDS]})).mark_rule(strokeDash=[4, 4]).encode(y="seconds:Q")
    return (base.mark_line(point=True) + labels + limit).properties(
        width=520, height=320, title="Pipeline stages by scale (dashed line: 60 s target)")


def write_chart(frame: pd.DataFrame) -> None:
    """``bench.png`` and ``bench.svg`` from the per-stage results (vl-convert, no browser)."""
    import vl_convert as vlc

    spec = chart(frame).to_json()
    (RESULTS / "bench.png").write_bytes(vlc.vegalite_to_png(spec, scale=2))
    (RESULTS / "bench.svg").write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--seed", type=int, default=20240930)
    parser.add_argument("--skip-builds", action="store_true", help="skip the whole-build timings at 1x")
    parser.add_argument("--chart-only", action="store_true", help="redraw the chart from results/bench.csv")
    args = parser.parse_args(argv)
    if args.chart_only:
        write_chart(pd.read_csv(RESULTS / "bench.csv"))
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    scales = [int(s) for s in args.scales.split(",")]
    with tempfile.TemporaryDirectory(prefix="ss-bench-") as tmp:
        scratch = Path(tmp)
        floor = kernel_startup_seconds()
        runs = [run for scale in scales for run in run_scale(scale, args.seed, scratch)]
        builds = pd.DataFrame() if args.skip_builds else run_builds(scratch)
    frame = pd.DataFrame([asdict(r) for r in runs])
    frame["cores"] = os.cpu_count()
    frame.to_csv(RESULTS / "bench.csv", index=False)
    stages = sorted(set(frame["stage"]))
    top = frame[frame["scale"] == max(scales)]
    summary = {
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "kernel_startup_seconds": round(floor, 2),
        "slopes_log_time_vs_log_women": {s: round(fitted_slope(frame, s), 3) for s in stages},
        "targets": {
            "stage_seconds_at_max_scale": STAGE_TARGET_SECONDS,
            "stage_peak_gb_at_max_scale": STAGE_TARGET_BYTES / 1024**3,
            "full_build_seconds_1x": FULL_BUILD_TARGET_SECONDS,
        },
        "misses": [f"{r.stage}: {r.seconds:.1f} s, {r.peak_rss_mb:.0f} MB" for r in top.itertuples()
                   if r.stage != "generate" and (r.seconds > STAGE_TARGET_SECONDS
                                                 or r.peak_rss_mb * 1024**2 > STAGE_TARGET_BYTES or r.returncode)],
    }
    if not builds.empty:
        builds.to_csv(RESULTS / "builds.csv", index=False)
        by = dict(zip(builds["build"], builds["seconds"]))
        j1, j2 = by["clean full build -j1"], by["clean full build -j2"]
        naive = by["naive baseline (make -B -j1: everything unconditionally)"]
        summary["builds"] = {k: round(v, 2) for k, v in by.items()}
        summary["ratios"] = {
            "j1_over_j2": round(j1 / j2, 2),
            "naive_over_one_site_change": round(naive / by["one site's contact log touched (make -j1)"], 2),
            "naive_over_one_report_source_change": round(naive / by["one report source touched (make -j1)"], 2),
        }
        if min(j1, j2) > FULL_BUILD_TARGET_SECONDS:
            summary["misses"].append(f"clean full build: {min(j1, j2):.1f} s")
        if by["no-op make"] > 1.0:
            summary["misses"].append(f"no-op make: {by['no-op make']:.2f} s")
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_chart(frame)
    print(json.dumps(summary, indent=2))
    return 1 if summary["misses"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
