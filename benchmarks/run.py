"""Benchmark the pipeline from study scale to national scale (``make bench``).

For each scale (1x = 36 recruited women, 10x, 100x = 3,600 women) it generates the synthetic
study into a scratch folder, then runs each data and analysis stage as its own process, with the
command line the measured version's own Makefile uses, and records wall time, CPU time and peak
memory (``os.wait4`` rusage: the stage's process and every child it waited for, so a papermill
run counts its kernel). The versions take turns stage by stage (before, after; then after,
before), and at the largest scale each stage runs ``--repeats`` times: the comparison uses each
stage's median, so a machine that slows down during the run does not favour one side. At 1x it also measures the whole build with
make: clean build with ``-j1`` and ``-j2``, the naive baseline (``make -B``: every notebook
executed and every output rendered unconditionally), a no-op ``make`` and a one-site change.

Results: ``benchmarks/results/bench.csv`` (one row per scale x stage), ``benchmarks/results/
builds.csv`` (whole-build timings and ratios), ``benchmarks/results/summary.json`` (targets,
fitted slopes, machine) and ``benchmarks/results/bench.png``/``.svg`` (chart).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd

from analysis.core.paths import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "benchmarks" / "results"
SITES = ("east_london", "huddersfield", "glasgow", "ayrshire")
STAGE_TARGET_SECONDS = 60.0
STAGE_TARGET_BYTES = 4 * 1024**3
FULL_BUILD_TARGET_SECONDS = 120.0
JOURNEY_MAPS_AT_SCALE = 12
"""Individual journey maps drawn per site above study scale (overviews still cover everyone)."""
BASELINE_REF = "155ac12"
"""The commit before issue 12 (figure costs, parallel make): the "before" side of the comparison."""
NOTEBOOK_TARGET_BYTES_1X = 3 * 1024**2
NOTEBOOK_TARGET_BYTES_100X = 10 * 1024**2
CLEAN_BUILD_TARGET_SECONDS = 60.0
SLOWEST_CELLS = 10
REPEATS_AT_MAX_SCALE = 3
"""Runs of each stage at the largest scale (versions alternating); the comparison takes medians."""
SLOWER_TOLERANCE = 1.05
"""An "after" stage this much above "before" (median CPU seconds, peak memory) is a miss."""
LAST_CPU_SECONDS = 0.0


@dataclass(frozen=True)
class Version:
    """One version of the project measured side by side: its name and its source tree."""

    name: str
    root: Path


@dataclass(frozen=True)
class StageRun:
    """One measured run of one stage at one scale."""

    scale: int
    women: int
    stage: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    cpu_seconds: float = 0.0
    notebook_bytes: int = 0
    version: str = "after"
    repeat: int = 0


def measure(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT) -> tuple[float, float, int]:
    """Run ``cmd``; return (wall seconds, peak RSS in MB of it and its waited-for children, exit code).

    The CPU seconds (user + system, the command and every child it waited for) of the last call
    are kept in ``LAST_CPU_SECONDS``: on a shared machine they move far less than wall time.
    """
    global LAST_CPU_SECONDS
    # stderr goes to a file, not a pipe: a pipe nobody reads fills up and stalls a chatty stage.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        LAST_CPU_SECONDS = usage.ru_utime + usage.ru_stime
        returncode = os.waitstatus_to_exitcode(status)
        if returncode != 0:
            errors.seek(0)
            sys.stderr.write(errors.read().decode("utf-8", "replace")[-3000:])
    return seconds, usage.ru_maxrss / 1024.0, returncode


def stage_command_prefix(root: Path) -> list[str]:
    """The command the Makefile in ``root`` runs a stage notebook with (its ``PAPERMILL :=`` line),
    ``$(PY)`` being this Python: papermill's own command line before issue 12, the stage runner
    after it."""
    for line in (root / "Makefile").read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition(":=")
        if sep and name.strip() == "PAPERMILL":
            return shlex.split(value.replace("$(PY)", shlex.quote(sys.executable)))
    raise ValueError(f"{root / 'Makefile'}: no 'PAPERMILL :=' line (the stage command)")


def stage_command(root: Path, notebook: str, output: Path, params: dict[str, object]) -> list[str]:
    """The command line ``root``'s Makefile uses to execute ``notebooks/<notebook>`` into ``output``."""
    cmd = [*stage_command_prefix(root), f"notebooks/{notebook}", str(output)]
    for key, value in params.items():
        cmd += ["-p", key, str(value)]
    return cmd


@dataclass(frozen=True)
class ScalePlan:
    """What one version runs at one scale: the environment, where its outputs go, its stages."""

    version: Version
    scale: int
    env: dict[str, str]
    derived: Path
    stages: dict[str, list[str]]


def plan_scale(scale: int, seed: int, scratch: Path, version: Version) -> ScalePlan:
    """The stages of ``version`` at ``scale``, each a command line, in pipeline order."""
    # each version on the study its own generator makes (the same seed and scale): the current
    # pipeline reads inputs (diaries, drawings, the EACG log, the model of care) that the
    # baseline's generator did not write
    raw, derived = scratch / f"raw_{version.name}_{scale}x", scratch / f"derived_{version.name}_{scale}x"
    notebooks = derived / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    # PYTHONPATH first: the version's own analysis package, not the one .venv points at
    env = dict(os.environ, DATA_RAW=str(raw), DATA_DERIVED=str(derived), PYTHONHASHSEED="0",
               PYTHONPATH=str(version.root), DISCLOSURE_REGISTER="off")
    stages: dict[str, list[str]] = {} if raw.exists() else {
        "generate": [sys.executable, "-m", "analysis.synthetic", "--seed", str(seed), "--scale", str(scale),
                     "--out", str(raw)],
    }
    run = functools.partial(stage_command, version.root)
    stages["clean"] = run("01_clean.ipynb", notebooks / "01_clean.ipynb", {"data_raw": raw, "data_derived": derived})
    maps = {} if scale == 1 else {"max_journey_maps": JOURNEY_MAPS_AT_SCALE}
    for site in SITES:
        stages[f"site_profile:{site}"] = run("02_site_profile.ipynb", notebooks / f"02_site_profile_{site}.ipynb",
                                             {"site": site, "data_derived": derived, **maps})
    stages["synthesis"] = run("03_synthesis.ipynb", notebooks / "03_synthesis.ipynb",
                              {"data_derived": derived, "variables_path": derived / "_variables.yml"})
    return ScalePlan(version, scale, env, derived, stages)


def _measure_stage(plan: ScalePlan, name: str, repeat: int) -> StageRun:
    cmd = plan.stages[name]
    label = f"{plan.version.name} {plan.scale}x {name}" + (f" (run {repeat + 1})" if repeat else "")
    print(f"bench: {label} ...", flush=True)
    seconds, peak, code = measure(cmd, env=plan.env, cwd=plan.version.root)
    cpu = LAST_CPU_SECONDS
    executed = _executed_notebook(cmd)
    size = executed.stat().st_size if executed is not None and executed.is_file() else 0
    print(f"bench: {label}: {seconds:.1f} s wall, {cpu:.1f} s CPU, {peak:.0f} MB peak, "
          f"notebook {size / 1024**2:.1f} MB, exit {code}", flush=True)
    return StageRun(plan.scale, 0, name, round(seconds, 3), round(peak, 1), code, round(cpu, 3), size,
                    plan.version.name, repeat)


def run_scale(scale: int, seed: int, scratch: Path, versions: Sequence[Version] | None = None,
              repeats: int = 1) -> list[StageRun]:
    """Generate the study at ``scale`` and time every stage of each version on it.

    The versions take turns stage by stage, and each stage (the study's generation aside) runs
    ``repeats`` times with the versions' order reversed every other time, so that a machine whose
    speed drifts during the run weighs on both sides alike. A version stops at its first failed stage.
    """
    plans = [plan_scale(scale, seed, scratch, version) for version in (versions or [Version("after", PROJECT_ROOT)])]
    names = list(dict.fromkeys(name for plan in plans for name in plan.stages))
    runs: list[StageRun] = []
    failed: set[str] = set()
    for name in names:
        for repeat in range(1 if name == "generate" else max(repeats, 1)):
            for plan in plans if repeat % 2 == 0 else plans[::-1]:
                if name not in plan.stages or plan.version.name in failed:
                    continue
                run = _measure_stage(plan, name, repeat)
                runs.append(run)
                if run.returncode:
                    failed.add(plan.version.name)
    women = {}
    for plan in plans:
        participants = plan.derived / "participants.parquet"
        women[plan.version.name] = (int(pd.read_parquet(participants)["recruited"].sum())
                                    if participants.is_file() else 0)
    return [replace(run, women=women[run.version]) for run in runs]


def _executed_notebook(cmd: list[str]) -> Path | None:
    """The output notebook of a stage command line (None for other commands)."""
    notebooks = [arg for arg in cmd if arg.endswith(".ipynb")]
    return Path(notebooks[1]) if len(notebooks) > 1 else None


def cell_timings(notebook: Path) -> list[dict[str, object]]:
    """Per-cell wall time papermill recorded in an executed notebook (``metadata.papermill.duration``)."""
    import nbformat

    book = nbformat.read(str(notebook), as_version=4)
    rows = []
    for number, cell in enumerate(book.cells, start=1):
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if cell.cell_type != "code" or duration is None:
            continue
        source = "".join(cell.source).strip().splitlines()
        label = next((line.split(":", 1)[1].strip() for line in source if line.startswith("#| label:")), None)
        first = next((line for line in source if not line.startswith("#|")), "")
        rows.append({"cell": number, "what": label or first[:60], "seconds": round(float(duration), 3),
                     "output_bytes": sum(len(json.dumps(output)) for output in cell.get("outputs", []))})
    return rows


def slowest_cells(runs: list[StageRun], scratch: Path, top: int = SLOWEST_CELLS) -> pd.DataFrame:
    """The ``top`` slowest notebook cells of each version and scale, from papermill's metadata."""
    rows = []
    for run in runs:
        if run.repeat:  # a stage's notebook holds its last run: listed once
            continue
        derived = scratch / f"derived_{run.version}_{run.scale}x" / "notebooks"
        stem = {"clean": "01_clean", "synthesis": "03_synthesis"}.get(run.stage, run.stage.replace("site_profile:", "02_site_profile_"))
        path = derived / f"{stem}.ipynb"
        if run.stage == "generate" or not path.is_file():
            continue
        rows += [{"version": run.version, "scale": run.scale, "stage": run.stage, **cell} for cell in cell_timings(path)]
    frame = pd.DataFrame(rows, columns=["version", "scale", "stage", "cell", "what", "seconds", "output_bytes"])
    return (frame.sort_values(["version", "scale", "seconds"], ascending=[True, True, False])
            .groupby(["version", "scale"], sort=False).head(top).reset_index(drop=True))


def baseline_tree(ref: str, dest: Path) -> Path:
    """Check out ``ref`` of this repository into ``dest`` (``git archive``; the .venv is shared)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=PROJECT_ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    for linked in (".venv", "node_modules"):
        if (PROJECT_ROOT / linked).exists():
            (dest / linked).symlink_to(PROJECT_ROOT / linked)
    return dest


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


def run_plain_builds(scratch: Path, baseline: Version | None) -> pd.DataFrame:
    """The README's command, plain ``make``, as a clean build after setup, before and after.

    Before the change plain ``make`` ran one job at a time; after it uses every core. Records
    wall time and CPU time (user + system of make and everything it ran) for each version.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"DATA_RAW", "DATA_DERIVED", "MAKEFLAGS", "MAKELEVEL", "PYTHONPATH"}}
    env["ENGINE"] = "offline"
    rows = []
    versions = [*([baseline] if baseline else []), Version("after", PROJECT_ROOT)]
    for version in versions:
        project = scratch / f"plain_{version.name}"
        if version.name == "after":
            project.mkdir()
            _copy_project(project)
        else:
            shutil.copytree(version.root, project, symlinks=True)
            subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        seconds = _make([], dict(env, PYTHONPATH=str(project)), project)
        rows.append({"version": version.name, "build": "clean build, plain make", "seconds": round(seconds, 2),
                     "cpu_seconds": round(LAST_CPU_SECONDS, 2)})
        print(f"bench: {version.name}: clean build with plain make: {seconds:.1f} s wall, {LAST_CPU_SECONDS:.1f} s CPU",
              flush=True)
    return pd.DataFrame(rows)


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

    from analysis.core.palette import CATEGORICAL

    frame = stage_medians(frame)
    data = frame.assign(stage_group=frame["stage"].str.replace(r":.*", "", regex=True))
    if "version" not in data.columns:
        data = data.assign(version="after")
    data = data.groupby(["version", "scale", "women", "stage_group"], as_index=False)["seconds"].max()
    # Direct labels at the largest scale (the "after" lines), nudged apart where two lines end close together.
    top = data[(data["scale"] == data["scale"].max()) & (data["version"] == "after")].sort_values("seconds", ascending=False)
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
        detail="version:N",
    )
    # Lines carry the version legend (drawn as dashed and solid strokes); points carry the stage's shape.
    lines = base.mark_line().encode(
        strokeDash=alt.StrokeDash("version:N", sort=["before", "after"], scale=alt.Scale(domain=["before", "after"], range=[[5, 4], [1, 0]]),
                                  legend=alt.Legend(title="Version (dashed: before issue 12)", orient="bottom",
                                                    symbolStrokeWidth=2, symbolSize=600, symbolStrokeColor="#333333")))
    points = base.mark_point(filled=True, size=40, opacity=1).encode(shape=alt.Shape("stage_group:N", legend=None))
    labels = alt.Chart(label_data).mark_text(align="left", dx=8, fontSize=12).encode(
        x="women:Q", y=alt.Y("label_y:Q", scale=alt.Scale(type="log")), text="stage_group:N",
        color=alt.Color("stage_group:N", scale=alt.Scale(range=list(CATEGORICAL)), legend=None))
    target = pd.DataFrame({"seconds": [STAGE_TARGET_SECONDS], "women": [data["women"].min()],
                           "text": [f"target: {STAGE_TARGET_SECONDS:.0f} s a stage"]})
    limit = alt.Chart(target).mark_rule(color="#767676", strokeWidth=1).encode(y="seconds:Q")
    limit_label = alt.Chart(target).mark_text(align="left", baseline="bottom", dy=-3, color="#505050").encode(
        x="women:Q", y=alt.Y("seconds:Q", scale=alt.Scale(type="log")), text="text:N")
    return (lines + points + labels + limit + limit_label).properties(
        width=520, height=320, title="Pipeline stages by scale, before and after issue 12 (grey rule: target)")


def write_chart(frame: pd.DataFrame) -> None:
    """``bench.png`` and ``bench.svg`` from the per-stage results (vl-convert, no browser)."""
    import vl_convert as vlc

    spec = chart(frame).to_json()
    (RESULTS / "bench.png").write_bytes(vlc.vegalite_to_png(spec, scale=2))
    (RESULTS / "bench.svg").write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")


def stage_medians(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per version, scale and stage: the median of its runs' measures, the worst exit code
    and, in ``runs``, how many runs there were."""
    if "repeat" not in frame.columns:
        return frame
    keys = [column for column in ("version", "scale", "women", "stage") if column in frame.columns]
    measures = [column for column in ("seconds", "cpu_seconds", "peak_rss_mb", "notebook_bytes") if column in frame.columns]
    how = {**dict.fromkeys(measures, "median"), "returncode": "max", "repeat": "count"}
    return (frame.groupby(keys, as_index=False, sort=False)
            .agg({column: rule for column, rule in how.items() if column in frame.columns})
            .rename(columns={"repeat": "runs"}))


def comparison(frame: pd.DataFrame) -> pd.DataFrame:
    """Before and after side by side: one row per scale and stage (wall, CPU, peak memory, notebook
    size; medians where a stage ran more than once)."""
    frame = stage_medians(frame)
    measures = ["seconds", "cpu_seconds", "peak_rss_mb", "notebook_bytes"]
    wide = frame.pivot_table(index=["scale", "stage"], columns="version", values=measures, aggfunc="first")
    wide.columns = [f"{measure}_{version}" for measure, version in wide.columns]
    return wide.reset_index()


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table of ``frame`` (for the README and ``results/summary.md``)."""
    def text(value: object) -> str:
        return f"{value:,.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(text(v) for v in row) + " |" for row in frame.itertuples(index=False, name=None)]
    return "\n".join(lines) + "\n"


def target_misses(frame: pd.DataFrame, plain: pd.DataFrame) -> list[str]:
    """Issue 12's targets, checked on one benchmark's before/after results (each stage's median)."""
    misses = []
    frame = stage_medians(frame)
    after = frame[frame["version"] == "after"]
    for row in after.itertuples():
        limit = NOTEBOOK_TARGET_BYTES_1X if row.scale == 1 else NOTEBOOK_TARGET_BYTES_100X
        if row.notebook_bytes > limit:
            misses.append(f"{row.scale}x {row.stage}: executed notebook {row.notebook_bytes / 1024**2:.1f} MB")
        if row.returncode:
            misses.append(f"{row.scale}x {row.stage}: exit {row.returncode}")
    if "before" in set(frame["version"]):
        top = comparison(frame[frame["scale"] == frame["scale"].max()])
        for row in top.itertuples():
            if row.stage == "generate" or pd.isna(row.cpu_seconds_before):
                continue
            if row.cpu_seconds_after > row.cpu_seconds_before * SLOWER_TOLERANCE:
                misses.append(f"{row.stage}: {row.cpu_seconds_after:.1f} s CPU after, {row.cpu_seconds_before:.1f} s before")
            if row.peak_rss_mb_after > row.peak_rss_mb_before * SLOWER_TOLERANCE:
                misses.append(f"{row.stage}: {row.peak_rss_mb_after:.0f} MB peak after, {row.peak_rss_mb_before:.0f} MB before")
    for row in plain[plain["version"] == "after"].itertuples():
        if row.seconds > CLEAN_BUILD_TARGET_SECONDS:
            misses.append(f"clean build with plain make: {row.seconds:.1f} s (CPU {row.cpu_seconds:.1f} s)")
    return misses


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the results; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--seed", type=int, default=20240930)
    parser.add_argument("--baseline", default=BASELINE_REF,
                        help="git ref measured as 'before' in the same run ('none' to skip)")
    parser.add_argument("--repeats", type=int, default=REPEATS_AT_MAX_SCALE,
                        help="runs of each stage at the largest scale, versions alternating (medians compared)")
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
        baseline = None if args.baseline == "none" else Version("before", baseline_tree(args.baseline, scratch / "before"))
        floor = kernel_startup_seconds()
        versions = [*([baseline] if baseline else []), Version("after", PROJECT_ROOT)]
        runs = [run for scale in scales
                for run in run_scale(scale, args.seed, scratch, versions, args.repeats if scale == max(scales) else 1)]
        cells = slowest_cells(runs, scratch)
        plain = pd.DataFrame(columns=["version", "build", "seconds", "cpu_seconds"])
        builds = pd.DataFrame()
        if not args.skip_builds:
            plain = run_plain_builds(scratch, baseline)
            builds = run_builds(scratch)
    frame = pd.DataFrame([asdict(r) for r in runs])
    frame["cores"] = os.cpu_count()
    frame.to_csv(RESULTS / "bench.csv", index=False)
    cells.to_csv(RESULTS / "cells.csv", index=False)
    plain.to_csv(RESULTS / "plain_make.csv", index=False)
    medians = stage_medians(frame)
    after = medians[medians["version"] == "after"]
    stages = sorted(set(after["stage"]))
    top = after[after["scale"] == max(scales)]
    summary = {
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average": list(os.getloadavg())},
        "baseline": args.baseline,
        "kernel_startup_seconds": round(floor, 2),
        "slopes_log_time_vs_log_women": {s: round(fitted_slope(after, s), 3) for s in stages},
        "targets": {
            "stage_seconds_at_max_scale": STAGE_TARGET_SECONDS,
            "stage_peak_gb_at_max_scale": STAGE_TARGET_BYTES / 1024**3,
            "clean_build_plain_make_seconds": CLEAN_BUILD_TARGET_SECONDS,
            "executed_notebook_mb_1x": NOTEBOOK_TARGET_BYTES_1X / 1024**2,
            "executed_notebook_mb_above_1x": NOTEBOOK_TARGET_BYTES_100X / 1024**2,
        },
        "misses": [f"{r.stage}: {r.seconds:.1f} s, {r.peak_rss_mb:.0f} MB" for r in top.itertuples()
                   if r.stage != "generate" and (r.seconds > STAGE_TARGET_SECONDS
                                                 or r.peak_rss_mb * 1024**2 > STAGE_TARGET_BYTES or r.returncode)],
    }
    summary["misses"] += target_misses(frame, plain)
    if not builds.empty:
        builds.to_csv(RESULTS / "builds.csv", index=False)
        by = dict(zip(builds["build"], builds["seconds"]))
        j1, j2 = by["clean full build -j1"], by["clean full build -j2"]
        naive = by["naive baseline (make -B -j1: everything unconditionally)"]
        summary["builds"] = {k: round(v, 2) for k, v in by.items()}
        summary["plain_make"] = plain.to_dict(orient="records")
        summary["ratios"] = {
            "j1_over_j2": round(j1 / j2, 2),
            "naive_over_one_site_change": round(naive / by["one site's contact log touched (make -j1)"], 2),
            "naive_over_one_report_source_change": round(naive / by["one report source touched (make -j1)"], 2),
        }
        if by["no-op make"] > 1.0:
            summary["misses"].append(f"no-op make: {by['no-op make']:.2f} s")
    report = ["# Benchmark: before and after", "",
              f"Machine: {os.cpu_count()} cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
              "at the end. CPU seconds are user + system of the stage and every process it waited for; "
              f"at {max(scales)}x each stage ran {args.repeats} times, versions alternating, and the table shows medians.", "",
              "## Stages", "", markdown_table(comparison(frame)) if not frame.empty else "",
              "## Clean build with plain `make`", "", markdown_table(plain) if not plain.empty else "(skipped)\n",
              f"## The {SLOWEST_CELLS} slowest notebook cells (papermill's per-cell times)", "", markdown_table(cells),
              "## Misses", "", *(f"- {m}" for m in summary["misses"]), ""]
    (RESULTS / "summary.md").write_text("\n".join(report), encoding="utf-8")
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    write_chart(frame)
    print("\n".join(report))
    return 1 if summary["misses"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
