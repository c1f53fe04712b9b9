"""Tests for analysis.core.palette: the Analysis Function colours and WCAG contrast helpers."""

from __future__ import annotations

import pytest

from analysis.core import palette


def test_categorical_palette_is_the_analysis_function_order() -> None:
    assert palette.CATEGORICAL == ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
    assert palette.TWO_SERIES == ("#12436D", "#F46A25")


def test_categorical_and_shapes_cycle_and_pair_up() -> None:
    assert palette.categorical(7)[6] == palette.CATEGORICAL[0]
    assert len(palette.shapes(3)) == 3
    with pytest.raises(ValueError, match="n must be >= 0"):
        palette.categorical(-1)


def test_contrast_ratio_known_values() -> None:
    assert palette.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert palette.contrast_ratio("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected #RRGGBB"):
        palette.contrast_ratio("#FFF", "#000000")


def test_marks_have_3_to_1_contrast_on_white_and_text_colour_is_readable() -> None:
    # WCAG 2.2 non-text contrast: chart marks need 3:1 against the white background.
    for colour in palette.CATEGORICAL:
        assert palette.contrast_ratio(colour, "#FFFFFF") >= 3.0, colour
    for fill in (*palette.SEQUENTIAL, *palette.CATEGORICAL):
        assert palette.contrast_ratio(palette.text_colour_on(fill), fill) >= 4.5, fill


def test_sequential_scale_gets_darker() -> None:
    ratios = [palette.contrast_ratio(c, "#FFFFFF") for c in palette.SEQUENTIAL]
    assert ratios == sorted(ratios)
    assert palette.SEQUENTIAL[-1] == palette.DARK_BLUE
