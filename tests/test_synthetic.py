"""Tests of the SYNTHETIC study generator (analysis.synthetic)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.core import paths
from analysis.synthetic.folder import SEGMENTS_FILE, build_files, generate

SHIPPED = paths.SYNTHETIC_RAW


@pytest.fixture(scope="module")
def scale1() -> dict[str, bytes]:
    files, _ = build_files(seed=7, scale=1)
    return files


def test_same_seed_and_scale_give_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    generate(seed=11, scale=2, out=first)
    generate(seed=11, scale=2, out=second)
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_other_seed_gives_other_data(scale1: dict[str, bytes]) -> None:
    other, _ = build_files(seed=8, scale=1)
    assert other["SYNTHETIC_key_events.csv"] != scale1["SYNTHETIC_key_events.csv"]


def test_shipped_folder_equals_generator_output_for_its_recorded_seed() -> None:
    manifest = json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8"))
    files, _ = build_files(seed=manifest["seed"], scale=manifest["scale"])
    assert sorted(files) == sorted(manifest["files"])
    for name, data in files.items():
        assert (SHIPPED / name).read_bytes() == data, f"{name} differs: regenerate data_raw/synthetic"


def test_shipped_folder_is_small() -> None:
    total = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert total < 3 * 1024 * 1024


def test_generate_writes_unchanged_files_only_once(tmp_path: Path) -> None:
    generate(seed=3, scale=1, out=tmp_path)
    target = tmp_path / "SYNTHETIC_key_events.csv"
    before = target.stat().st_mtime_ns
    generate(seed=3, scale=1, out=tmp_path)
    assert target.stat().st_mtime_ns == before


def test_every_file_says_synthetic(scale1: dict[str, bytes]) -> None:
    for name, data in scale1.items():
        if name.startswith("transcripts/"):
            assert data.decode("utf-8").splitlines()[0].startswith("SYNTHETIC"), name
        elif name.startswith("visual/"):  # generated stand-in images: name and PNG text say so
            assert name.removeprefix("visual/").startswith("SYNTHETIC_") and b"SYNTHETIC" in data[:200], name
        elif name in ("README.md", "sources.yml"):
            assert b"SYNTHETIC" in data[:400], name
        elif name not in ("service_map.csv", "qda_map.csv"):  # mapping files, no data
            assert name.startswith("SYNTHETIC_"), name
    sheet = load_workbook(io.BytesIO(scale1["SYNTHETIC_contacts_glasgow.xlsx"]), read_only=True)
    title = next(sheet.worksheets[0].iter_rows(values_only=True))[0]
    assert "SYNTHETIC" in title


def test_coded_text_is_the_transcript_slice(scale1: dict[str, bytes]) -> None:
    for segments in (SEGMENTS_FILE, "SYNTHETIC_professional_segments.csv"):
        rows = list(csv.DictReader(io.StringIO(scale1[segments].decode("utf-8"))))
        assert rows
        for row in rows:
            text = scale1[f"transcripts/{row['Document']}.txt"].decode("utf-8")
            assert text[int(row["Start"]):int(row["End"])] == row["Coded text"]


def test_scale_multiplies_women_with_unique_ids() -> None:
    files, summary = build_files(seed=5, scale=3)
    records = pd.read_csv(io.BytesIO(files["SYNTHETIC_redcap_participants_raw.csv"]), dtype=str)
    assert len(records) == 120 and records["record_id"].is_unique
    assert (records["consent"] == "1").sum() == 108
    assert records.groupby("redcap_data_access_group").size().eq(30).all()
    assert summary["recruited"] == 108


def test_shape_follows_the_published_figures() -> None:
    _, summary = build_files(seed=20240930, scale=4)
    n = summary["recruited"]
    in_treatment = n - summary["treatment"]["None"]
    assert in_treatment / n > 0.8  # 32 of 36 in opioid treatment
    assert 0.5 <= summary["waves_completed"][5] / n <= 0.8  # retention ~60-70% at wave 5
    assert 0.35 <= summary["nas_treated"] / summary["births"] <= 0.65  # about half treated
    assert summary["median_stay_treated"] > 2 * summary["median_stay_untreated"]


def test_postnatal_gap_is_wider_in_dispersed_site() -> None:
    from analysis.synthetic import cohort, contacts

    rng = np.random.Generator(np.random.PCG64(1))
    women = cohort.simulate_cohort(rng, 3)
    frame = contacts.simulate_contacts(rng, women)
    birth = {w.study_id: w.birth_day for w in women if w.consented}
    frame["week"] = (frame["day"] - frame["study_id"].map(birth)) / 7
    drug = frame.loc[frame["service"] == "drug_service"]

    def ratio(site: str) -> float:
        own = drug.loc[drug["site"] == site]
        return ((own["week"].between(8, 26)).sum() / 18) / ((own["week"] < -1).sum() / 20)

    assert ratio("ayrshire") < ratio("east_london")


def test_sources_yml_declares_every_data_file(scale1: dict[str, bytes]) -> None:
    import yaml

    sources = yaml.safe_load(scale1["sources.yml"])
    declared = {sources["redcap"]["dictionary"]["file"], sources["redcap"]["records"]["file"],
                sources["key_events"]["file"], sources["codebook"]["file"],
                sources["segments"]["file"], sources["professional_segments"]["file"],
                sources["professionals"]["file"], sources["service_map"]["file"]}
    declared |= {log["file"] for log in sources["contact_logs"]}
    declared |= {sources[key]["file"] for key in ("diaries", "diary_segments", "drawings", "drawing_events",
                                                  "eacg_review_log", "model_of_care")}
    # The coded data ship twice; the sources.yml of the REFI-QDA form declares the project.
    from analysis.synthetic.sources import sources_yaml

    qdpx_form = yaml.safe_load(sources_yaml("qdpx"))["qdpx"]
    declared |= {qdpx_form["file"], qdpx_form["map"]}
    data_files = {n for n in scale1 if "/" not in n and n not in ("README.md", "sources.yml")}
    assert data_files == declared


def test_cli_regenerates_from_manifest(tmp_path: Path) -> None:
    from analysis.synthetic.__main__ import main

    assert main(["--from-manifest", str(SHIPPED / "manifest.json"), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "manifest.json").read_bytes() == (SHIPPED / "manifest.json").read_bytes()
    assert (tmp_path / "sources.yml").read_bytes() == (SHIPPED / "sources.yml").read_bytes()


@pytest.mark.parametrize("seed", ["shipped", 7])
def test_drawn_events_agree_with_her_key_events(seed, tmp_path: Path) -> None:
    """What a woman drew had happened by the day she drew it: her baby "came home" only when a
    placement with her began, was "separated" only when a placement apart from her began (read
    back through the cleaning stage: life_events against placements)."""
    from analysis.clean.run import build_tables

    raw = SHIPPED
    if seed != "shipped":
        raw = tmp_path / "raw"
        generate(seed=seed, scale=1, out=raw)
    tables, _ = build_tables(raw)
    events = tables["life_events"].merge(tables["drawings"][["drawing_id", "drawn_week"]], on="drawing_id")
    dated = events.dropna(subset=["week_rel_birth"])
    # a month alone is read as its 15th day: such an event happened by the month's first day
    month_only = dated["when"].str.fullmatch(r"[0-9]{2}/[0-9]{4}")
    earliest = dated["week_rel_birth"] - month_only * 14 / 7
    assert len(dated) > 20 and (earliest <= dated["drawn_week"] + 1e-9).all()
    placements = tables["placements"]
    moves = dated.loc[dated["kind"].isin(["baby_home", "baby_separated"])]
    assert len(moves) >= 5
    for event in moves.itertuples():
        own = placements.loc[(placements["study_id"] == event.study_id)
                             & ((placements["from_week"] - event.week_rel_birth).abs() < 1e-9)]
        assert len(own) == 1, (event.drawing_id, event.event_no, "no placement began that day")
        home = own["placement"].iloc[0] in ("with_mother", "mother_baby_placement")
        assert home == (event.kind == "baby_home"), (event.drawing_id, event.event_no, own["placement"].iloc[0])
