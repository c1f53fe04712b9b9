"""The renderer's ``synthetic`` flag: taken from ``_variables.yml`` unless the document sets it,
so ``when-meta="synthetic"`` content and the synthetic-data footer follow the same rule.

Small hand-made SYNTHETIC fixture documents, rendered to HTML with the offline engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.publish.render import render
from analysis.publish.render.engine import with_synthetic_flag
from analysis.publish.render.outputs import html_visible_text

SHOWN_WHEN_SYNTHETIC = "Shown only for synthetic data"


def test_flag_copied_from_variables_when_document_does_not_set_it() -> None:
    metadata = {"title": "T"}
    flagged = with_synthetic_flag(metadata, {"synthetic": True})
    assert flagged == {"title": "T", "synthetic": True}
    assert metadata == {"title": "T"}  # the input is not changed


def test_document_setting_wins_over_variables() -> None:
    assert with_synthetic_flag({"synthetic": False}, {"synthetic": True}) == {"synthetic": False}


@pytest.mark.parametrize("variables", [None, {}, {"synthetic": "yes"}, {"synthetic": 1}])
def test_missing_or_non_boolean_variable_leaves_metadata_alone(variables: dict | None) -> None:
    assert with_synthetic_flag({"title": "T"}, variables) == {"title": "T"}


def _document(folder: Path, synthetic_variable: bool, front_matter: str = "") -> Path:
    """A single-file project: one source and its _variables.yml."""
    folder.mkdir(parents=True)
    (folder / "_variables.yml").write_text(
        f"synthetic: {str(synthetic_variable).lower()}\n", encoding="utf-8")
    source = folder / "doc.qmd"
    source.write_text(
        f"---\npagetitle: Flag test\n{front_matter}---\n\nAlways shown.\n\n"
        f'::: {{.content-visible when-meta="synthetic"}}\n{SHOWN_WHEN_SYNTHETIC}: '
        "{{< meta synthetic-notice >}}.\n:::\n",
        encoding="utf-8")
    return source


@pytest.mark.parametrize(("variable", "front_matter", "shown"), [
    (True, "synthetic-notice: NOTICE-TEXT\n", True),
    (False, "synthetic-notice: NOTICE-TEXT\n", False),
    (True, "synthetic: false\nsynthetic-notice: NOTICE-TEXT\n", False),
])
def test_when_meta_synthetic_follows_variables(tmp_path: Path, variable: bool,
                                              front_matter: str, shown: bool) -> None:
    source = _document(tmp_path / "project", variable, front_matter)
    result = render(source, ["html"], tmp_path / "out", engine="offline")
    text = " ".join(html_visible_text(result[0].path).split())
    assert "Always shown." in text
    assert (f"{SHOWN_WHEN_SYNTHETIC}: NOTICE-TEXT." in text) is shown
