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
