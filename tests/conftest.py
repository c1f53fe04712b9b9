"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.protect import register


@pytest.fixture
def isolated_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A disclosure register of the test's own (in ``tmp_path``), the default profile, and an
    empty in-process register before and after."""
    monkeypatch.setenv("DISCLOSURE_REGISTER", str(tmp_path / "register.jsonl"))
    monkeypatch.delenv("DISCLOSURE_PROFILE", raising=False)
    register.reset_register()
    yield
    register.reset_register()


QDA_SEED = 11
"""Seed of the synthetic study the QDA pipeline tests generate (both forms of the coded data)."""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly generated synthetic folder (both forms of the coded data, CSV declared)."""
    from analysis.synthetic.folder import generate

    out = tmp_path_factory.mktemp("generated") / "raw"
    generate(seed=QDA_SEED, scale=1, out=out)
    return out


@pytest.fixture(scope="module")
def csv_cleaned(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``generated`` cleaned through the CSV form."""
    from analysis.clean.run import run_cleaning

    out = tmp_path_factory.mktemp("csv_cleaned") / "derived"
    run_cleaning(generated, out)
    return out
