"""Tests for analysis.publish.figures: mime bundles, files, determinism, tables."""

from __future__ import annotations

import base64
import json
import math

import altair as alt
import pandas as pd
import pytest

from analysis.protect import outputs
from analysis.publish import figures


@pytest.fixture()
def chart() -> alt.Chart:
    data = pd.DataFrame({"service": ["A", "B", "C"], "contacts": [3, 1, 2]})
    return alt.Chart(data).mark_bar().encode(x="contacts:Q", y="service:N").properties(title="Contacts")


def test_chart_spec_applies_theme_and_synthetic_note(chart: alt.Chart) -> None:
    spec = figures.chart_spec(chart, synthetic=True)
    assert spec["config"]["font"] == "Liberation Sans"
    assert spec["title"] == {"text": "Contacts", "subtitle": figures.SYNTHETIC_NOTE}
    assert "subtitle" not in figures.chart_spec(chart, synthetic=False).get("title", {})
    # the note is added once even if the chart is passed through twice
    twice = figures.chart_spec(figures.chart_spec(chart, synthetic=True), synthetic=True)
    assert twice["title"]["subtitle"] == figures.SYNTHETIC_NOTE


def test_png_is_deterministic(chart: alt.Chart) -> None:
    spec = figures.chart_spec(chart, synthetic=True)
    first, second = figures.render_png(spec), figures.render_png(spec)
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == second


def test_save_figure_writes_four_files(chart: alt.Chart, tmp_path) -> None:
    paths = figures.save_figure(chart, alt_text="Bar chart of contacts by service.", name="fig-test", out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fig-test.alt.txt", "fig-test.png", "fig-test.svg", "fig-test.vl.json",
    ]
    assert json.loads(paths["vl.json"].read_text())["mark"]["type"] == "bar"
    assert paths["svg"].read_text().lstrip().startswith("<svg")
    again = figures.save_figure(chart, alt_text="Bar chart of contacts by service.", name="fig-test", out_dir=tmp_path)
    assert again["png"].read_bytes() == paths["png"].read_bytes()


def test_figure_bundle_has_the_contract_mime_types(chart: alt.Chart) -> None:
    data, metadata = figures.figure_bundle(chart, alt_text="Bar chart of contacts by service.")
    assert set(data) == {"application/vnd.vegalite.v5+json", "image/png", "text/plain"}
    assert base64.b64decode(data["image/png"])[:4] == b"\x89PNG"
    assert metadata == {"fig-alt": "Bar chart of contacts by service."}


def test_show_rejects_missing_alt_text_and_bad_names(chart: alt.Chart) -> None:
    with pytest.raises(ValueError, match="needs alt text"):
        figures.show(chart, alt="", name="fig-x")
    with pytest.raises(ValueError, match="must be a label"):
        figures.show(chart, alt="Bar chart of contacts.", name="fig x/y")


def test_table_bundle_renders_html_markdown_and_text() -> None:
    table = pd.DataFrame({"Site": ["A|B", "C"], "n": ["<5", 12], "share": [0.5, float("nan")]})
    bundle = figures.table_bundle(table, caption="Counts")
    assert bundle["text/html"].startswith("<table><caption>Counts</caption>")
    assert '<th scope="col">Site</th>' in bundle["text/html"]
    assert "&lt;5" in bundle["text/html"]
    lines = bundle["text/markdown"].splitlines()
    assert lines[0] == "| Site | n | share |"
    assert lines[2] == "| A\\|B | <5 | 0.5 |"
    assert lines[3] == "| C | 12 |  |"


def test_release_counts_by_row_protects_each_row(monkeypatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")
    counts = pd.DataFrame(
        {"service": ["a", "a", "b", "b"], "block": [0, 8, 0, 8], "women": [6, 2, 7, 9]}
    )
    released = outputs.release_counts_by_row(counts, name="fig-test", count_column="women", row_columns=["service"])
    assert released["suppressed"].tolist() == [True, True, False, False]  # 2 primary, 6 complementary
    assert released.loc[2:, "women"].tolist() == [7, 9]
    empty = outputs.release_counts_by_row(counts.iloc[0:0], name="fig-test", count_column="women", row_columns=["service"])
    assert empty.empty and "suppressed" in empty.columns


def test_markdown_table_dashes_follow_column_content_so_pandoc_sizes_columns() -> None:
    from analysis.publish.figures import _markdown_table

    text = _markdown_table(["File", "Rows"], [["contacts_huddersfield.csv", "6"], ["x" * 90, "<5"]])
    separator = text.splitlines()[1]
    # "Rows" gets its (bold) header word plus padding (8), so the header never runs into its neighbour.
    assert separator == "|" + "-" * 40 + "|" + "-" * 8 + "|"


def test_markdown_table_keeps_every_header_word_when_columns_are_scaled() -> None:
    from analysis.publish.figures import MARKDOWN_LINE_DASHES, _markdown_table

    headers = ["Theme", "Women", "Professional segments", "Women (example)", "Professionals (example)"]
    cells = [["x" * 60, "36", "26", "y" * 200, "z" * 200]]
    widths = [len(part) for part in _markdown_table(headers, cells).splitlines()[1].strip("|").split("|")]
    assert sum(widths) <= MARKDOWN_LINE_DASHES + len(widths)
    for header, width in zip(headers, widths):
        assert width >= math.ceil(1.2 * max(len(word) for word in header.split())) + 3, header
    assert widths[3] > widths[1] and widths[4] > widths[1]  # long text still gets more room


def _pixels(png: bytes):
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA")), image.size, image.info.get("dpi")


def test_png_is_drawn_once_at_twice_css_size_and_compacted_without_loss(chart: alt.Chart) -> None:
    import vl_convert as vlc

    spec = figures.chart_spec(chart, synthetic=True)
    svg = figures.render_svg(spec)
    # vl-convert's own PNG at the same settings: the reference the compact PNG must equal pixel for pixel
    reference = vlc.vegalite_to_png(spec, vl_version=figures.VL_VERSION, scale=figures.PNG_SCALE * 72 / figures.PNG_PPI,
                                    ppi=figures.PNG_PPI, format_locale="en-GB", time_format_locale="en-GB",
                                    allowed_base_urls=[])
    assert vlc.svg_to_png(svg, scale=figures.PNG_SCALE * 72 / figures.PNG_PPI, ppi=figures.PNG_PPI) == reference
    png = figures.render_png(spec)
    assert png == figures.svg_to_png(svg)
    assert len(png) < len(reference) / 2
    compact, size, dpi = _pixels(png)
    original, reference_size, _ = _pixels(reference)
    assert size == reference_size and (compact == original).all()
    css_width = float(svg.split('width="', 1)[1].split('"', 1)[0])
    assert size[0] == round(css_width * figures.PNG_SCALE)
    assert dpi is not None and round(dpi[0]) == figures.PNG_PPI


def test_compact_png_keeps_every_colour_of_a_many_coloured_image() -> None:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)  # far more than 256 colours
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("RGBA").save(buffer, format="PNG", compress_level=1)
    out = figures.compact_png(buffer.getvalue())
    assert (_pixels(out)[0][..., :3] == pixels).all()
    assert figures.compact_png(buffer.getvalue()) == out


def test_show_without_static_rendering_for_participant_level_pictures(chart: alt.Chart, tmp_path, monkeypatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kwargs: shown.append((data, kwargs)))
    figures.show(chart, alt="Journey map of one woman (internal).", name="journey-x", out_dir=tmp_path, static=False)
    assert set(shown[0][0]) == {"application/vnd.vegalite.v5+json", "text/plain"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journey-x.alt.txt", "journey-x.vl.json"]
    with pytest.raises(ValueError, match="needs its static PNG"):
        figures.show(chart, alt="Bar chart of contacts by service.", name="fig-contacts", static=False)
    figures.show(chart, alt="Bar chart of contacts by service.", name="fig-contacts", out_dir=tmp_path)
    data = shown[-1][0]
    assert set(data) == {"application/vnd.vegalite.v5+json", "image/png", "text/plain"}
    assert base64.b64decode(data["image/png"]) == (tmp_path / "fig-contacts.png").read_bytes()


def test_markdown_table_columns_hold_their_longest_body_word() -> None:
    """A column of short headers but long words ("placements") is not narrower than its longest
    word, so the word does not run into the next cell; header words still come first."""
    from analysis.publish.figures import HEADER_PAD_DASHES, MARKDOWN_LINE_DASHES, _markdown_table

    headers = ["Theme", "Women", "Professional documents", "Women (example)"]
    cells = [["Mother-and-baby placements", "16", "25", "“We were on the list for a placement.” [SS-AA-005_W4-S004]"]]
    widths = [len(part) for part in _markdown_table(headers, cells).splitlines()[1].strip("|").split("|")]
    assert widths[0] >= len("Mother-and-baby") + HEADER_PAD_DASHES
    assert widths[3] >= len("[SS-AA-005_W4-S004]") + HEADER_PAD_DASHES
    assert sum(widths) <= MARKDOWN_LINE_DASHES + len(widths)
