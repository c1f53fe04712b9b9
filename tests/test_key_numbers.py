"""Tests for analysis.analyse.key_numbers on the hand-written fixture (SYNTHETIC test data)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.analyse import key_numbers


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return analysis_fixture.load_tables()


@pytest.fixture(autouse=True)
def _no_register(monkeypatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")


def _scaled(data: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    """The fixture repeated ``copies`` times with distinct IDs (so counts are large enough to show)."""
    out = {}
    for name, frame in data.items():
        parts = []
        for i in range(copies):
            part = frame.copy()
            for column in ("study_id", "contact_id", "segment_id", "document", "prof_id"):
                if column in part.columns:
                    part[column] = part[column].astype(str) + f"-{i}"
            parts.append(part)
        out[name] = pd.concat(parts, ignore_index=True)
    return out


def test_small_fixture_numbers_are_suppressed(data) -> None:
    numbers = key_numbers.compute_key_numbers(data, synthetic=True)
    assert numbers["synthetic"] is True
    # Study-participation counts are published as counted (policy exemption, issue 11) ...
    assert numbers["women"]["recruited"] == "3"
    # ... sensitive ones are not, and the sentence carrying them says so without a marker.
    for key in ("at_birth", "at_18m"):
        sentence = numbers["placements"][key]["sentence"]
        assert "not published" in sentence or "fewer than" in sentence
        assert not any(marker in sentence for marker in ("<5", "[c]", "[REDACTED]"))
    assert numbers["contacts"]["total"] == "21"
    assert numbers["coding"] == {
        "segments_women": "13", "segments_professionals": "3", "codes": "6", "themes": "3", "coders": "2",
        "documents_women": "9",
    }


def test_numbers_match_the_derived_data(data) -> None:
    big = _scaled(data, 10)
    numbers = key_numbers.compute_key_numbers(big, synthetic=False)
    recruited = int(big["participants"]["recruited"].sum())
    assert numbers["women"]["screened"] == str(len(big["participants"]))
    assert numbers["women"]["recruited"] == str(recruited) == "30"
    assert numbers["women"]["by_site"] == {"east_london": "20", "glasgow": "10"}
    done = big["interviews"].loc[big["interviews"]["status"] == "completed"]
    assert numbers["interviews"]["wave_1"] == str(done.loc[done["wave"] == 1, "study_id"].nunique()) == "30"
    assert numbers["interviews"]["wave_5"] == "10"
    assert numbers["retention"]["wave_5_pct"] == "33%"
    # East London: 5 contacts before and 4 after birth for 2 women, times 10
    assert numbers["contacts"]["east_london"] == {"before_per_woman": "2.5", "after_per_woman": "2.0"}
    assert numbers["placements"]["at_birth"]["with_mother"] == "10"
    assert numbers["placements"]["at_18m"]["with_mother_pct"] == "33%"
    assert numbers["professionals"]["total"] == "30"


def test_write_variables_is_atomic_yaml(data, tmp_path) -> None:
    numbers = key_numbers.compute_key_numbers(data, synthetic=True)
    path = key_numbers.write_variables(numbers, tmp_path / "_variables.yml")
    loaded = yaml.safe_load(path.read_text())
    assert loaded["synthetic"] is True
    assert loaded["contacts"]["total"] == "21"
    first = path.read_bytes()
    key_numbers.write_variables(key_numbers.compute_key_numbers(data, synthetic=True), path)
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["_variables.yml"]
    assert key_numbers.flatten({"a": {"b": "1"}, "synthetic": True}) == {"a.b": "1", "synthetic": True}


def test_write_variables_rejects_bad_input(tmp_path) -> None:
    with pytest.raises(ValueError, match="'synthetic' must be present"):
        key_numbers.write_variables({"n": "1"}, tmp_path / "v.yml")
    with pytest.raises(ValueError, match="value of 'a.b' is list"):
        key_numbers.write_variables({"synthetic": True, "a": {"b": [1]}}, tmp_path / "v.yml")
    assert not (tmp_path / "v.yml").exists()


def test_is_synthetic(tmp_path, data, monkeypatch) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"synthetic": False}))
    assert key_numbers.is_synthetic(tmp_path, data) is False
    (tmp_path / "manifest.json").write_text(json.dumps({"data_raw": "/secure/export"}))
    assert key_numbers.is_synthetic(tmp_path, data) is False
    (tmp_path / "manifest.json").unlink()
    assert key_numbers.is_synthetic(tmp_path, data) is True  # source files start with SYNTHETIC_
    real = {"contacts": data["contacts"].assign(source_file="site_log.csv")}
    monkeypatch.setenv("DATA_RAW", "/secure/export")
    assert key_numbers.is_synthetic(tmp_path, real) is False


def test_placement_numbers_match_the_released_site_table(data) -> None:
    from analysis.analyse import models_of_care
    from analysis.protect import outputs

    big = _scaled(data, 10)
    numbers = key_numbers.compute_key_numbers(big, synthetic=True)
    wide = models_of_care.placements_wide(models_of_care.placements_by_site(big["participants"]), "At birth")
    del wide
    released = models_of_care.release_placement_table(models_of_care.placements_by_site(big["participants"]),
                                                      "At birth", name="tbl-placements-birth")
    entry = numbers["placements"]["at_birth"]
    assert entry["table_note"] == released.note
    table = released.table
    assert table is not None
    if "East London" in set(table["Site"]):  # the chosen design kept the sites
        shown = dict(zip(table["Site"], table["With mother"].astype(str)))
        assert entry["with_mother_by_site"]["east_london"] == shown["East London"]
    else:  # sites combined: the prose quotes the all-sites count, not per-site values
        assert set(entry["with_mother_by_site"].values()) == {"not published"}
        assert entry["with_mother"] == str(table["With mother"].iloc[0])
    assert outputs is not None


def test_written_files_are_readable_by_others(data, tmp_path) -> None:
    from analysis.core.atomic import FILE_MODE

    path = key_numbers.write_variables(key_numbers.compute_key_numbers(data, synthetic=True), tmp_path / "_variables.yml")
    assert path.stat().st_mode & 0o777 == FILE_MODE
