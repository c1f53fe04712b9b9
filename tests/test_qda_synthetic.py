"""Contract with the synthetic generator: its CSV export -> .qdpx -> back gives the same frames.

Runs ``python -m analysis.synthetic`` at scale 1, reads its codebook and coded-segment CSVs the
way the cleaning stage does (``analysis.sources.declared.read_source``: every cell a string, plus
``_row``), writes them as a ``.qdpx`` and checks that reading the ``.qdpx`` back gives the same
frames and transcripts.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from analysis.sources.declared import read_source
from analysis.sources.qda import QdaWarning, SEGMENT_COLUMNS, read_coded_data, write_qdpx

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synthetic_raw(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    subprocess.run([sys.executable, "-m", "analysis.synthetic", "--seed", "7", "--scale", "1",
                    "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def test_generator_csv_and_qdpx_give_the_same_raw_frames(synthetic_raw, tmp_path):
    codebook = read_source(synthetic_raw, {"file": "SYNTHETIC_codebook.csv"})
    women = read_source(synthetic_raw, {"file": "SYNTHETIC_coded_segments.csv"})
    professionals = read_source(synthetic_raw, {"file": "SYNTHETIC_professional_segments.csv"})
    # interviews and focus groups: audio diaries are coded in their own file, not in the project
    transcripts = {path.stem: path.read_text(encoding="utf-8")
                   for path in sorted((synthetic_raw / "transcripts").glob("*.txt"))
                   if not re.search(r"_D[0-9]+$", path.stem)}
    assert len(women) > 100 and len(professionals) > 10

    def typed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[SEGMENT_COLUMNS].astype({"Start": "int64", "End": "int64"})

    path = tmp_path / "SYNTHETIC_project.qdpx"
    write_qdpx(codebook.drop(columns="_row"), [typed(women), typed(professionals)], transcripts,
               path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QdaWarning)
        data = read_coded_data(path)
    strings = data.string_frames()
    for key, csv in (("segments", women), ("professional_segments", professionals)):
        expected = csv.drop(columns="_row").assign(
            _start=lambda f: f["Start"].astype(int), _end=lambda f: f["End"].astype(int))
        expected = expected.sort_values(["Document", "_start", "_end", "Code"], kind="stable")
        expected = expected.drop(columns=["_start", "_end"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(strings[key].drop(columns="_row"), expected)
    pd.testing.assert_frame_equal(strings["codebook"], codebook)
    assert data.transcripts == transcripts
    roles = data.documents.groupby("role")["document"].apply(set)
    assert roles["woman"] >= set(women["Document"])
    assert roles["professional"] >= set(professionals["Document"])
