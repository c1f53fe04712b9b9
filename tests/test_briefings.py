"""Tests of analysis/publish/briefings.py: instantiating the one briefing source per site, and the
rendered briefings (two pages each, the synthetic notice, three to five actions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.core.paths import PROJECT_ROOT
from analysis.publish import briefings
from analysis.publish.briefings import (
    BriefingError, OVERALL, Site, action_count, briefing_metadata, briefing_targets,
    instantiate_briefing, read_sites, resolve_conditional_content,
)


def _site(code: str, **overrides: object) -> Site:
    values: dict[str, object] = dict(
        code=code, label=code.title(), nation="England", model_of_care="Model", colocated=True,
        lead_professional=True, specialist_midwife=True, mbu_access="good", rehab_access="good",
    )
    values.update(overrides)
    return Site(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- metadata and actions


def test_targets_are_every_configured_site_then_overall() -> None:
    sites = [_site("a"), _site("b")]
    assert briefing_targets(sites) == ["a", "b", OVERALL]


def test_shipped_sites_give_four_site_briefings_plus_overall() -> None:
    codes = [site.code for site in read_sites()]
    assert briefing_targets() == [*codes, OVERALL]
    assert len(codes) == 4


@pytest.mark.parametrize(
    ("features", "flags"),
    [
        # A site with everything good keeps what works: one extra action.
        (dict(), {"protect_access"}),
        # No specialist midwife: a specialist team, not co-location.
        (dict(specialist_midwife=False, colocated=False, mbu_access="few", rehab_access="some"),
         {"needs_specialist_team", "needs_mbu", "needs_rehab"}),
        # A specialist midwife who is not co-located.
        (dict(colocated=False, mbu_access="limited"), {"needs_colocation", "needs_mbu"}),
        (dict(rehab_access="limited"), {"needs_rehab"}),
    ],
)
def test_action_flags_follow_the_site_features(features: dict[str, object], flags: set[str]) -> None:
    meta = briefing_metadata("x", [_site("x", **features)])
    all_flags = {"needs_specialist_team", "needs_colocation", "needs_mbu", "needs_rehab", "protect_access"}
    assert {flag for flag in all_flags if meta[flag]} == flags
    assert action_count(meta) == 2 + len(flags)


def test_every_shipped_briefing_has_three_to_five_actions() -> None:
    for target in briefing_targets():
        assert 3 <= action_count(briefing_metadata(target)) <= 5, target


def test_unknown_target_is_a_clear_error() -> None:
    with pytest.raises(BriefingError, match="unknown briefing target 'atlantis'.*east_london"):
        briefing_metadata("atlantis")


def test_bad_access_level_names_file_row_and_column(tmp_path: Path) -> None:
    source = (PROJECT_ROOT / "analysis" / "config" / "sites.csv").read_text(encoding="utf-8")
    broken = tmp_path / "sites.csv"
    broken.write_text(source.replace(",some,limited", ",plenty,limited", 1), encoding="utf-8")
    with pytest.raises(BriefingError, match=r"sites\.csv: row 2, column 'mbu_access': 'plenty'"):
        read_sites(broken)


# ---------------------------------------------------------------- conditional content


def test_when_and_unless_meta_keep_and_drop_blocks() -> None:
    text = "\n".join([
        "before",
        '::: {.content-visible when-meta="briefing.overall"}',
        "overall only",
        ":::",
        '::: {.content-visible unless-meta="briefing.overall"}',
        "site only",
        ":::",
        '::: {.content-hidden when-meta="synthetic"}',
        "real data only",
        ":::",
        "after",
    ])
    site = resolve_conditional_content(text, {"briefing": {"overall": False}, "synthetic": True})
    assert site.split() == ["before", "site", "only", "after"]
    overall = resolve_conditional_content(text, {"briefing": {"overall": True}, "synthetic": False})
    assert overall.split() == ["before", "overall", "only", "real", "data", "only", "after"]


def test_nested_divs_inside_kept_blocks_keep_their_fences_and_dropped_blocks_drop_everything() -> None:
    text = "\n".join([
        '::: {.content-visible when-meta="a"}',
        "::: {.callout-warning}",
        "## Title",
        "warning text",
        ":::",
        ":::",
        '::: {.content-visible when-meta="b"}',
        "::: {.notes}",
        "hidden note",
        ":::",
        ":::",
        "end",
    ])
    result = resolve_conditional_content(text, {"a": True, "b": False})
    assert result.splitlines() == ["::: {.callout-warning}", "## Title", "warning text", ":::", "end"]


def test_code_blocks_are_not_parsed_as_divs() -> None:
    text = "\n".join(['::: {.content-visible when-meta="a"}', "```", ":::", "```", ":::", "end"])
    assert resolve_conditional_content(text, {"a": True}).splitlines() == ["```", ":::", "```", "end"]


def test_unclosed_div_and_unsupported_condition_are_errors() -> None:
    with pytest.raises(BriefingError, match="never closed"):
        resolve_conditional_content('::: {.content-visible when-meta="a"}\ntext\n', {"a": True})
    with pytest.raises(BriefingError, match=r"src:1: condition when-format is not supported"):
        resolve_conditional_content('::: {.content-visible when-format="pdf"}\nx\n:::\n', {}, source="src")


# ---------------------------------------------------------------- instantiation


def _body(source: str) -> str:
    return source.split("\n---\n", 1)[1]


@pytest.mark.parametrize("target", ["east_london", "ayrshire", OVERALL])
def test_instantiated_source_is_specific_to_its_target(target: str) -> None:
    text = instantiate_briefing(target, variables={"synthetic": True})
    body = _body(text)
    assert "${" not in text
    assert "content-visible" not in body and "content-hidden" not in body
    assert "Synthetic data: not findings of the study" in body
    other_sites = [code for code in briefing_targets() if code not in (target, OVERALL)]
    for code in other_sites:
        assert f"02_site_profile_{code}" not in body
    if target == OVERALL:
        assert "03_synthesis.ipynb#tbl-models-of-care" in body
        assert "02_site_profile_" not in body
    else:
        assert f"02_site_profile_{target}.ipynb#fig-site-overview" in body
        assert f"contacts.{target}.before_per_woman" in body
    numbered = re.findall(r"^\d+\. \*\*", body, flags=re.MULTILINE)
    assert len(numbered) == action_count(briefing_metadata(target))


def test_real_data_briefings_carry_no_synthetic_notice() -> None:
    body = _body(instantiate_briefing("glasgow", variables={"synthetic": False}))
    assert "Synthetic" not in body and "synthetic data set that" not in body


def test_missing_synthetic_flag_is_an_error() -> None:
    with pytest.raises(BriefingError, match="'synthetic'"):
        instantiate_briefing("glasgow", variables={})


def test_unknown_template_parameter_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "briefing.qmd"
    source.write_text("---\ntitle: x\n---\nText ${sitename}\n", encoding="utf-8")
    with pytest.raises(BriefingError, match=r"unknown template parameter '\$\{sitename\}'"):
        instantiate_briefing("glasgow", source=source, variables={"synthetic": True})


def test_relative_paths_are_rebased_for_the_build_folder(tmp_path: Path) -> None:
    source_dir = tmp_path / "reports"
    build_dir = source_dir / "_output" / ".briefings-build" / "x"
    text = ("---\nbibliography: references.bib\ntitle: t\n---\n"
            "{{< embed ../data/nb.ipynb#fig-a >}}\n{{< embed /data/nb.ipynb#fig-b >}}\n")
    rebased = briefings._rebase_relative_paths(text, source_dir, build_dir)
    assert "bibliography: ../../../references.bib" in rebased
    assert "{{< embed ../../../../data/nb.ipynb#fig-a >}}" in rebased
    assert "{{< embed /data/nb.ipynb#fig-b >}}" in rebased


def test_instantiated_sources_stay_inside_the_supported_quarto_subset(tmp_path: Path) -> None:
    check = pytest.importorskip("analysis.publish.render.check")
    for target in briefing_targets():
        path = PROJECT_ROOT / "reports" / f".check-{target}.qmd"
        try:
            path.write_text(instantiate_briefing(target, variables={"synthetic": True}), encoding="utf-8")
            problems = [p for p in check.check_source(path) if p.rule != "citation"]
        finally:
            path.unlink(missing_ok=True)
        assert problems == [], "\n".join(str(p) for p in problems)


# ---------------------------------------------------------------- the rendered briefings


@pytest.mark.xdist_group("reports")
@pytest.mark.parametrize("target", ["east_london", "huddersfield", "glasgow", "ayrshire", OVERALL])
def test_rendered_briefing_is_two_pages_with_its_actions(target: str) -> None:
    from pypdf import PdfReader
    from test_reports import build_outputs, docx_paragraphs, variables

    folder = build_outputs() / "briefings"
    pdf = PdfReader(str(folder / f"{target}.pdf"))
    assert len(pdf.pages) <= 2, f"{target}: {len(pdf.pages)} pages"
    paragraphs = docx_paragraphs(folder / f"{target}.docx")
    text = "\n".join(t for _, t in paragraphs)
    label = briefing_metadata(target)["title_place"]
    assert paragraphs[0][1].startswith(f"Stepping Stones Study briefing: {label}")
    headings = [t for style, t in paragraphs if style.startswith("Heading")]
    assert headings[1:5] == ["About this briefing", "The model of care", "What women’s journeys showed",
                             "What commissioners and services can do"]
    actions = [t for style, t in paragraphs if style in ("Compact", "Normal", "List Paragraph")
               and re.match(r"(Keep|Support|Create|Bring|Widen|Protect|Commission|Make|Co-produce) ", t)]
    assert len(actions) == action_count(briefing_metadata(target))
    if variables().get("synthetic"):
        assert "Synthetic data: not findings of the study" in text
    if target != OVERALL:
        before = variables()["contacts"][target]["before_per_woman"]
        assert f"they had on average {before} contacts" in text
