"""Derived tables' CSV cut by site (analysis.core.tables.SiteCsv) and the site fingerprints.

The cleaning stage makes each big table's CSV once and uses it twice: the table's file and each
site's fingerprint. Both must be byte for byte what ``to_csv`` of the whole table and of each
site's rows give.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from analysis.core import tables as t
from tests.fixtures.analysis.analysis_fixture import load_tables

SITES = ["ayrshire", "east_london", "glasgow", "huddersfield"]


def _awkward_table(rows: int, runs: int, seed: int = 7) -> pd.DataFrame:
    """A table with every dtype the derived tables use, missing values, text that CSV must
    quote, and ``runs`` runs of consecutive rows of one site."""
    rng = random.Random(seed)
    cut = sorted(rng.sample(range(1, rows), runs - 1))
    site_of_run = [SITES[i % len(SITES)] for i in range(runs)]
    sites = [site_of_run[sum(1 for c in cut if c <= i)] for i in range(rows)]
    texts = ['plain', 'comma, inside', 'a "quoted" word', 'two\nlines', '', 'café ✓']
    return pd.DataFrame({
        "site": pd.array(sites, dtype="string"),
        "text": pd.array([rng.choice(texts) if i % 7 else None for i in range(rows)], dtype="string"),
        "count": pd.array([i if i % 5 else None for i in range(rows)], dtype="Int64"),
        "flag": pd.array([bool(i % 2) if i % 3 else None for i in range(rows)], dtype="boolean"),
        "week": [float("nan") if i % 11 == 0 else rng.uniform(-40, 80) / 7 for i in range(rows)],
        "whole": [float(i) for i in range(rows)],  # floats that print as "3.0" row by row
        "date": pd.to_datetime([None if i % 13 == 0 else f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}"
                                for i in range(rows)]),
    })


@pytest.mark.parametrize("runs", [1, 4, 9, t.MAX_CSV_RUNS])
def test_cut_csv_is_byte_for_byte_the_tables_csv(runs: int) -> None:
    frame = _awkward_table(400, runs)
    cut = t.site_csv(frame, None)
    assert cut is not None and len(cut.runs) == runs
    assert cut.whole() == t.table_csv_bytes(frame)
    for site in [*SITES, "nowhere"]:
        rows = frame.loc[frame["site"] == site].reset_index(drop=True)
        assert cut.of_site(site) == t.table_csv_bytes(rows)


def test_too_many_runs_or_a_column_wide_format_is_not_cut() -> None:
    assert t.site_csv(_awkward_table(400, t.MAX_CSV_RUNS + 1), None) is None
    durations = _awkward_table(20, 2).assign(gap=pd.to_timedelta(np.arange(20), unit="h"))
    assert t.site_csv(durations, None) is None  # "0 days 01:00:00" or "1 days": pandas decides per column


def test_tables_without_a_site_column_are_cut_through_participants() -> None:
    tables = load_tables()
    frame = t.sort_table(tables["participant_substances"], "participant_substances")
    cut = t.site_csv(frame, tables["participants"])
    assert cut is not None
    assert cut.whole() == t.table_csv_bytes(frame)
    for site in tables["participants"]["site"].unique():
        assert cut.of_site(site) == t.table_csv_bytes(
            t.site_rows({**tables, "participant_substances": frame}, "participant_substances",
                        site).reset_index(drop=True))


def test_fingerprints_fed_while_writing_equal_the_reference(tmp_path) -> None:
    """write_tables feeding SiteFingerprints from the cut CSV gives the same digests as
    site_fingerprint over each site's rows, and the same files as writing without them."""
    tables = load_tables()
    sites = sorted(tables["participants"]["site"].unique())
    log_files = {site: [f"contacts_{site}.csv"] for site in sites}
    fed = t.SiteFingerprints(sites)
    written = t.write_tables(tables, tmp_path / "with", fed)
    assert t.write_tables(tables, tmp_path / "without") == written
    for name in written:
        assert (tmp_path / "with" / name).read_bytes() == (tmp_path / "without" / name).read_bytes()
    stored = {name: t.sort_table(t.conform(frame, name), name) for name, frame in tables.items()}
    assert fed.finish(tables, log_files) == {
        site: t.site_fingerprint(stored, site, log_files[site]) for site in sites}


def test_site_tables_are_added_in_order() -> None:
    tables = load_tables()
    fingerprints = t.SiteFingerprints(["glasgow"])
    fingerprints.add("contacts", tables["contacts"], tables["participants"])
    with pytest.raises(ValueError, match="SITE_TABLES order: interviews after contacts"):
        fingerprints.add("interviews", tables["interviews"], tables["participants"])
